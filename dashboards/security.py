"""Who may use the dashboard, and what protects it: log-in, roles, CSRF protection,
security headers and the audit of what users do.

Two modes, read on every request from the app's :class:`Security`:

* **Single-user local mode** (``make run``): no log-in; the server listens on the
  loopback only and answers only requests addressed to it as ``127.0.0.1``,
  ``localhost`` or ``[::1]`` (another host name in a request means a web page
  reached it through DNS rebinding). Every action counts as the user ``local``
  with every right; the page header says so.
* **Auth mode**: every page and callback needs a log-in (Flask-Login, users and
  roles from the store, :mod:`knelpunt.access`). ``/login`` is the only page
  open to anyone. Sessions are signed cookies (HttpOnly, SameSite=Lax, Secure
  over HTTPS or when configured) that last a working day; a log-out, a new
  password or removing the user ends them on every device (the user's
  ``sessions_after`` moves on).

In both modes:

* **CSRF**: Flask-WTF's ``CSRFProtect`` checks every POST. Forms carry the token
  in a hidden field; Dash's renderer reads the ``_csrf_token`` cookie (not
  HttpOnly: a script of this origin must read it; SameSite=Strict) and sends it
  as the ``X-CSRFToken`` header with every callback request. The capture API is
  exempt: its events carry the session's bearer token, and opening a session
  checks the log-in and the CSRF header itself.
* **Roles on the server**: a callback request whose outputs belong to the upload,
  simulation or capture page (ids ``upload-``, ``sim-``, ``capture-``) is refused
  (403) unless the user's role allows it; those pages show a viewer a readable
  refusal instead of their controls (:func:`refusal`).
* **Headers** on every response: a Content-Security-Policy without
  ``'unsafe-inline'`` or ``'unsafe-eval'`` for scripts (Dash's one inline script
  is allowed by its hash), ``frame-ancestors 'none'`` and X-Frame-Options DENY,
  X-Content-Type-Options nosniff, Referrer-Policy same-origin, and HSTS over HTTPS.
* **Audit**: log-ins (and failures), log-outs, a recording started from the
  upload page, a simulation run, a capture session opened, every table export
  and report download are written in the store's audit log with the user and
  the address, when the request arrives.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any, Final
from urllib.parse import urlsplit

import dash
import flask
import flask_login
from dash import Input, Output, State, dcc, html
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf

from dashboards.i18n import Lang, language, t
from knelpunt.access import (
    LoginLimits,
    Permission,
    authenticate,
    authenticate_basic,
    end_sessions,
    may,
    record_audit,
    session_key,
)
from knelpunt.errors import EventStoreError, LoginError, LoginThrottledError, RoleError
from knelpunt.events.model import UserRecord
from knelpunt.events.store import EventStore

__all__ = [
    "LOCAL",
    "Actor",
    "Security",
    "actor_name",
    "capture_authorizer",
    "current_actor",
    "install",
    "refusal",
]

log = logging.getLogger("knelpunt.dashboard")

LOCAL: Final = "local"
CSRF_COOKIE: Final = "_csrf_token"
SESSION_HOURS: Final = 10
_LONGEST: Final = timedelta(hours=SESSION_HOURS)
# Callback outputs (id prefixes) that only some roles may ask for.
PROTECTED: Final[Mapping[str, Permission]] = {
    "upload-": "upload",
    "sim-": "simulate",
    "capture-": "capture",
}
# Paths anyone may reach in auth mode: the log-in page, the code and styles every page
# loads (no data in them), and the capture routes that check a token or a log-in
# themselves.
_OPEN_PREFIXES: Final = ("/assets/", "/_dash-component-suites/", "/api/capture/")
_OPEN_PATHS: Final = frozenset({"/login", "/_favicon.ico"})
_LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "[::1]"})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who sends the request: a logged-in user, or the local user of local mode."""

    name: str
    role: str
    local: bool = False


@dataclass(slots=True)
class Security:
    """The security settings of one dashboard server (``server.config``'s
    ``KNELPUNT_SECURITY``), read on every request.

    Attributes:
        store: where users are checked and the audit log is written.
        auth: log-in required (auth mode); False is single-user local mode.
        secure_cookies: cookies always carry Secure; else only over HTTPS.
        limits: how many failed log-ins are tolerated.
        lang: the language of the log-in page unless the visitor chooses.
    """

    store: EventStore
    auth: bool = False
    secure_cookies: bool = False
    limits: LoginLimits = field(default_factory=LoginLimits)
    lang: Lang = "nl"
    _script_hashes: list[str] | None = None


def security() -> Security:
    found = flask.current_app.config["KNELPUNT_SECURITY"]
    assert isinstance(found, Security)
    return found


class _User(flask_login.UserMixin):  # type: ignore[misc]
    """A logged-in user as Flask-Login holds it for one request."""

    def __init__(self, record: UserRecord) -> None:
        self.record = record
        self.id = session_key(record)


def current_actor() -> Actor | None:
    """Who sends this request: the local user in local mode, else the logged-in user
    (None when nobody is logged in)."""
    if not security().auth:
        return Actor(LOCAL, "admin", local=True)
    user = flask_login.current_user
    if getattr(user, "is_authenticated", False):
        return Actor(user.record.name, user.record.role)
    return None


def actor_name() -> str:
    """The name of who sends this request (``local`` in local mode)."""
    actor = current_actor()
    return actor.name if actor is not None else "dashboard"


def refusal(permission: Permission) -> html.Div | None:
    """What a page shows instead of its controls when the user's role does not allow
    ``permission`` (None when it does). The words come in the visitor's language."""
    actor = current_actor()
    if actor is not None and may(actor.role, permission):
        return None
    return html.Div(
        [
            dcc.Store(id="role-refusal-permission", data=permission),
            html.Div(id="role-refusal", className="refusal", role="alert"),
        ]
    )


@dash.callback(
    Output("role-refusal", "children"),
    Input("ctx", "data"),
    State("role-refusal-permission", "data"),
)
def _refusal_words(ctx: Any, permission: str) -> Any:
    lang = language((ctx or {}).get("lang"))
    actor = current_actor()
    role = t(lang, f"role.{actor.role}") if actor else "-"
    return [
        html.H1(t(lang, "access.refused.heading")),
        html.P(t(lang, f"access.refused.{permission}", role=role)),
    ]


@dash.callback(
    Output("account", "children"),
    Input("url", "pathname"),
    Input("lang", "value"),
)
def _account(_path: str, lang: str) -> Any:
    actor = current_actor()
    if actor is None:
        return None
    if actor.local:
        return html.Span(
            t(lang, "account.local"),
            className="local-mode",
            title=t(lang, "account.local.title"),
            id="account-local",
        )
    return html.Form(
        [
            html.Span(
                t(lang, "account.user", name=actor.name, role=t(lang, f"role.{actor.role}")),
                id="account-user",
            ),
            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
            html.Button(t(lang, "account.logout"), type="submit", className="tool", id="logout"),
        ],
        action="/logout",
        method="post",
        className="account",
    )


# The navigation links of the pages a role may not use (their ids in the shell).
_NAV_NEEDS: Final[Mapping[str, Permission]] = {
    "nav-upload": "upload",
    "nav-simulation": "simulate",
    "nav-capture": "capture",
}


@dash.callback(
    [Output(link, "style") for link in _NAV_NEEDS],
    Input("url", "pathname"),
)
def _navigation(_path: str) -> list[dict[str, str]]:
    """Hide the links to pages the user's role may not use (the pages refuse them too)."""
    actor = current_actor()
    return [
        {} if actor is not None and may(actor.role, needed) else {"display": "none"}
        for needed in _NAV_NEEDS.values()
    ]


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, Secure over HTTPS (or always, when configured)."""

    def get_cookie_secure(self, app: flask.Flask) -> bool:
        return bool(super().get_cookie_secure(app)) or _secure_request()


def _secure_request() -> bool:
    return bool(flask.has_request_context() and flask.request.is_secure)


def install(server: flask.Flask, found: Security, *, secret_key: str | None = None) -> CSRFProtect:
    """Put log-in, CSRF protection, role checks, headers and the audit on a server.

    Args:
        server: the dashboard's Flask server (before its first request).
        found: the settings; kept in ``server.config["KNELPUNT_SECURITY"]``.
        secret_key: signs the session and CSRF cookies; every worker of one
            dashboard needs the same one. None: a new random key (one process only;
            sessions end when it restarts).

    Returns:
        The CSRF protection, to exempt blueprints that check requests themselves.
    """
    server.config["KNELPUNT_SECURITY"] = found
    server.secret_key = secret_key or secrets.token_hex(32)
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=found.secure_cookies,
        SESSION_COOKIE_NAME="knelpunt_session",
        PERMANENT_SESSION_LIFETIME=_LONGEST,
        WTF_CSRF_HEADERS=["X-CSRFToken"],
        # The token lives as long as the session: a page left open for hours still works.
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=True,
    )
    server.session_interface = _SessionInterface()
    logins = flask_login.LoginManager(server)
    logins.session_protection = "basic"

    @logins.user_loader
    def _load(key: str) -> _User | None:
        name = key.partition(":")[0]
        try:
            record = security().store.user(name)
        except EventStoreError:
            log.exception("dashboard: the user %s could not be read", name)
            return None
        # A new password changes the key; a log-out elsewhere moves sessions_after on.
        since = flask.session.get("since")
        if record is None or session_key(record) != key or since is None:
            return None
        began = datetime.fromisoformat(since)
        # At most a working day after the log-in, however busy the session.
        if began < record.sessions_after or datetime.now(UTC) - began > _LONGEST:
            return None
        return _User(record)

    # The log-in gate before the CSRF check: a visitor who is not logged in hears that.
    server.before_request(_gate)
    csrf = CSRFProtect(server)
    server.before_request(_audit_request)
    server.after_request(_after)
    server.register_error_handler(CSRFError, _csrf_refused)
    server.add_url_rule("/login", "knelpunt_login", _login, methods=["GET", "POST"])
    server.add_url_rule("/logout", "knelpunt_logout", _logout, methods=["POST"])
    return csrf


# -- every request ----------------------------------------------------------------------


def _wants_page() -> bool:
    return flask.request.method == "GET" and "text/html" in flask.request.headers.get("Accept", "")


def _gate() -> Any:
    found = security()
    request = flask.request
    if not found.auth:
        host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
        if host.lower() not in _LOOPBACK_HOSTS:
            return _plain(
                400,
                "This dashboard runs in single-user local mode and answers only as "
                "127.0.0.1 or localhost.",
            )
    elif (
        request.path not in _OPEN_PATHS
        and not request.path.startswith(_OPEN_PREFIXES)
        and current_actor() is None
    ):
        if _wants_page():
            target = request.full_path.rstrip("?")
            return flask.redirect(f"/login?next={_quote(target)}")
        return _json(401, "Log in first: open the dashboard's /login page.")
    if request.method == "POST" and request.path.endswith("/_dash-update-component"):
        return _callback_gate()
    return None


def _callback_gate() -> Any:
    body = flask.request.get_json(silent=True)
    if not isinstance(body, dict):
        return None
    actor = current_actor()
    outputs = list(_ids(body.get("outputs")))
    for prefix, permission in PROTECTED.items():
        if any(name.startswith(prefix) for name in outputs) and not (
            actor is not None and may(actor.role, permission)
        ):
            role = actor.role if actor else "nobody"
            return _json(403, f"A {role} may not do this; ask an admin for the analyst role.")
    return None


def _audit_request() -> None:
    """Audit what a callback request asks for (after the CSRF check: a forged request
    writes nothing)."""
    request = flask.request
    if request.method != "POST" or not request.path.endswith("/_dash-update-component"):
        return
    if "cacheKey" in request.args:  # a poll for a job's result, not a new request
        return
    body = request.get_json(silent=True)
    if isinstance(body, dict):
        _audit_callback(body, list(_ids(body.get("outputs"))))


def _ids(outputs: Any) -> Iterator[str]:
    """The ids of a callback request's outputs (a pattern id by its type)."""
    for output in outputs if isinstance(outputs, list) else [outputs]:
        if isinstance(output, list):  # pattern outputs (ALL) come as lists
            yield from _ids(output)
        elif isinstance(output, dict):
            found = output.get("id")
            yield str(found.get("type", "")) if isinstance(found, dict) else str(found)


def _values(body: Mapping[str, Any]) -> dict[str, Any]:
    """The values of a callback request's inputs and states, by ``id.property``."""
    found: dict[str, Any] = {}
    for item in [*(body.get("inputs") or []), *(body.get("state") or [])]:
        for one in item if isinstance(item, list) else [item]:
            if isinstance(one, dict):
                key = one.get("id")
                name = key.get("type") if isinstance(key, dict) else key
                found[f"{name}.{one.get('property')}"] = one.get("value")
    return found


def _audit_callback(body: Mapping[str, Any], outputs: list[str]) -> None:
    changed = set(body.get("changedPropIds") or [])
    values = _values(body)
    entry: tuple[str, str | None, dict[str, Any]] | None = None
    if "upload-result" in outputs and "upload-record.n_clicks" in changed:
        state = values.get("upload-state.data") or {}
        name = state.get("name") if isinstance(state, dict) else None
        entry = ("record", name, {"mode": values.get("upload-mode.value")})
    elif "sim-result" in outputs and "sim-run.n_clicks" in changed:
        entry = ("simulate", values.get("sim-scenario.value"), {})
    elif "capture-session" in outputs and "capture-open.n_clicks" in changed:
        entry = ("capture_open", values.get("capture-name.value"), {})
    else:
        for kind, source in (("grid-download", "grid-rows"), ("served-download", "served-query")):
            if kind in outputs:
                shown = values.get(f"{source}.data")
                shown = shown if isinstance(shown, dict) else {}
                entry = ("export", shown.get("grid"), {"format": shown.get("format")})
    if entry is not None:
        _audit(entry[0], target=entry[1], details=entry[2])


def _audit(action: str, *, target: Any = None, details: Mapping[str, Any] | None = None) -> None:
    actor = current_actor()
    try:
        record_audit(
            security().store,
            action,
            actor=actor.name if actor else None,
            target=None if target is None else str(target)[:300],
            address=flask.request.remote_addr,
            details=_short(details or {}),
        )
    except EventStoreError:
        log.exception("dashboard: the audit entry for %s could not be written", action)


def _short(details: Mapping[str, Any]) -> dict[str, Any]:
    """What a request said, as the audit keeps it: plain values, texts cut short (the
    values come from the browser, which may send anything)."""
    return {
        str(key)[:40]: value if isinstance(value, bool | int | float) else str(value)[:200]
        for key, value in list(details.items())[:10]
        if value is not None
    }


def _after(response: flask.Response) -> flask.Response:
    found = security()
    request = flask.request
    if request.path == "/rapport.html" and response.status_code == 200:
        _audit("export", target="rapport.html", details=dict(request.args))
    if not request.path.startswith(_OPEN_PREFIXES):
        # The token Dash's renderer sends back as X-CSRFToken (see the module notes).
        response.set_cookie(
            CSRF_COOKIE,
            generate_csrf(),
            samesite="Strict",
            secure=found.secure_cookies or _secure_request(),
            httponly=False,
            max_age=SESSION_HOURS * 3600,
        )
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _policy(found))
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if found.auth and request.path in ("/login", "/logout"):
        headers["Cache-Control"] = "no-store"
    return response


def _policy(found: Security) -> str:
    if found._script_hashes is None:
        app = flask.current_app.config.get("KNELPUNT_DASH")
        # Dash's inline scripts (the renderer's start) by their hash: no 'unsafe-inline'.
        found._script_hashes = list(app.csp_hashes()) if app is not None else []
    scripts = " ".join(["'self'", *found._script_hashes])
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        # Plotly, AG Grid and Dash's components set styles from their scripts.
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; "
        "font-src 'self' data:; "
        "connect-src 'self'; "
        "object-src 'none'; "
        "base-uri 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )


def _plain(status: int, message: str) -> flask.Response:
    return flask.Response(message + "\n", status=status, mimetype="text/plain")


def _json(status: int, message: str) -> flask.Response:
    response = flask.jsonify({"error": message})
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _csrf_refused(error: CSRFError) -> flask.Response:
    log.warning("dashboard: CSRF check failed for %s: %s", flask.request.path, error.description)
    if flask.request.path == "/login":
        return _login_page(_lang(), error=t(_lang(), "login.expired"), status=400)
    return _json(400, "The request lacks its CSRF token (the page may be old): reload the page.")


# -- log-in and log-out -----------------------------------------------------------------


def _lang() -> Lang:
    """The language asked for (the page's NL/EN link), else the dashboard's own."""
    asked = flask.request.values.get("lang")
    return language(asked if asked in ("nl", "en") else security().lang)


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _safe_next(value: str | None) -> str:
    """Where to go after logging in: a path on this server, never another site."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value:
        return "/"
    return value


def _login() -> Any:
    found = security()
    lang = _lang()
    if not found.auth:
        return flask.redirect("/")
    if flask.request.method == "GET":
        return _login_page(lang, next_=flask.request.args.get("next"))
    form = flask.request.form
    name, password = form.get("name", ""), form.get("password", "")
    next_ = form.get("next")
    try:
        record = authenticate(
            found.store,
            name,
            password,
            address=flask.request.remote_addr,
            limits=found.limits,
        )
    except LoginThrottledError as error:
        minutes = max(1, -(-error.retry_after // 60))
        page = _login_page(lang, error=t(lang, "login.throttled", minutes=minutes),
                           next_=next_, name=name, status=429)  # fmt: skip
        page.headers["Retry-After"] = str(error.retry_after)
        return page
    except LoginError:
        return _login_page(lang, error=t(lang, "login.failed"), next_=next_, name=name, status=401)
    except EventStoreError:
        log.exception("dashboard: log-in could not be checked")
        return _login_page(lang, error=t(lang, "login.unavailable"), next_=next_, status=503)
    # A new session for the new user: nothing of the one before carries over.
    flask.session.clear()
    flask.session["since"] = datetime.now(UTC).isoformat()
    flask.session.permanent = True
    flask_login.login_user(_User(record))
    return flask.redirect(_safe_next(next_))


def _logout() -> Any:
    actor = current_actor()
    if actor is not None and not actor.local:
        try:
            end_sessions(security().store, actor.name, address=flask.request.remote_addr)
        except EventStoreError:
            log.exception("dashboard: log-out of %s could not be written", actor.name)
    flask_login.logout_user()
    flask.session.clear()
    return flask.redirect("/login")


_PAGE: Final = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="/_favicon.ico">
<link rel="stylesheet" href="/assets/knelpunt.css">
</head>
<body class="login-body">
<main class="login">
<p class="brand">knelpunt</p>
<h1>{heading}</h1>
<p class="intro">{intro}</p>
{error}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<input type="hidden" name="lang" value="{lang}">
<label for="login-name">{name_label}</label>
<input id="login-name" name="name" type="text" autocomplete="username" required
 autocapitalize="none" spellcheck="false" value="{name}" {focus_name}>
<label for="login-password">{password_label}</label>
<input id="login-password" name="password" type="password" autocomplete="current-password"
 required {focus_password}>
<button type="submit" class="primary" id="login-submit">{submit}</button>
</form>
<p class="note">{note}</p>
<p class="lang-switch"><a href="/login?lang={other}{next_query}">{other_label}</a></p>
</main>
</body>
</html>
"""


def _login_page(
    lang: Lang,
    *,
    error: str | None = None,
    next_: str | None = None,
    name: str = "",
    status: int = 200,
) -> flask.Response:
    other: Lang = "en" if lang == "nl" else "nl"
    target = _safe_next(next_)
    page = _PAGE.format(
        lang=lang,
        title=escape(t(lang, "login.title")),
        heading=escape(t(lang, "login.heading")),
        intro=escape(t(lang, "login.intro")),
        error=f'<p class="login-error" role="alert" id="login-error">{escape(error)}</p>'
        if error
        else "",
        csrf=escape(generate_csrf()),
        next=escape(target),
        name_label=escape(t(lang, "login.name")),
        password_label=escape(t(lang, "login.password")),
        name=escape(name[:64]),
        focus_name="" if name else "autofocus",
        focus_password="autofocus" if name else "",
        submit=escape(t(lang, "login.submit")),
        note=escape(t(lang, "login.note")),
        other=other,
        other_label=escape(t(other, "login.switch")),
        next_query="" if target == "/" else f"&amp;next={escape(_quote(target))}",
    )
    return flask.Response(page, status=status, mimetype="text/html")


def capture_authorizer(found: Security) -> Any:
    """Who may open a capture session over the dashboard's API. In auth mode: an analyst,
    either logged in to the dashboard with the CSRF header on the request (as the page's
    own requests carry it), or a script sending an analyst's name and password as HTTP
    Basic credentials (counted against the same log-in limits). In local mode: anyone on
    this machine (the JSON body already needs a same-origin request)."""
    from flask_wtf.csrf import validate_csrf
    from wtforms import ValidationError

    def check(request: flask.Request) -> str | None:
        if not found.auth:
            return None  # the name the request gives, if any
        header = request.headers.get("Authorization", "")
        actor: Actor | None
        if header.lower().startswith("basic "):
            user = authenticate_basic(
                found.store, header, address=request.remote_addr, limits=found.limits
            )
            actor = Actor(user.name, user.role)
        else:
            actor = current_actor()
            if actor is None:
                raise LoginError(
                    "Log in to the dashboard first, or send an analyst's name and password as "
                    "HTTP Basic credentials (curl -u NAME)."
                )
            try:
                validate_csrf(request.headers.get("X-CSRFToken", ""))
            except ValidationError:
                raise LoginError(
                    "Send the dashboard's CSRF token as the X-CSRFToken header (the "
                    f"{CSRF_COOKIE} cookie's value)."
                ) from None
        if not may(actor.role, "capture"):
            raise RoleError(
                f"A {actor.role} may not open capture sessions; ask an admin for the analyst role."
            )
        return actor.name

    return check
