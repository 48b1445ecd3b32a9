"""The Dash application: ``create_app(store=...)``.

The shell holds the navigation, the choice of sources and profile and the
language switch; what they choose lives in one ``dcc.Store`` (``ctx``: the
language, the source ids and the profile name, nothing more). Each page in
``dashboards/pages/`` draws its content from that context with one library
result (see :mod:`dashboards.workspace`). Log-in, roles, CSRF protection and
the security headers are :mod:`dashboards.security`'s.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Final, Literal

import dash
import diskcache
from dash import ClientsideFunction, Dash, Input, Output, dcc, html
from flask import abort, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

import knelpunt as kp
from dashboards.components import aria
from dashboards.i18n import LANGUAGES, language, t
from dashboards.jobs import ThreadJobManager
from dashboards.limits import MAX_REQUEST
from dashboards.report import PLOTLY_ROUTE, report_blueprint, report_href
from dashboards.security import Security, capture_authorizer, install
from dashboards.workspace import Workspace
from knelpunt.access import LoginLimits
from knelpunt.events.store import DEFAULT_STORE
from knelpunt.profile import SHIPPED_PROFILES
from knelpunt.simulate.capture import capture_blueprint

_HERE: Final = Path(__file__).resolve().parent
NAV: Final = (
    ("/", "nav.overview"),
    ("/proceskaart", "nav.map"),
    ("/knelpunten", "nav.blockers"),
    ("/beleidsdoelen", "nav.criteria"),
    ("/team", "nav.team"),
    ("/individueel", "nav.people"),
    ("/zaken", "nav.cases"),
    ("/vergelijken", "nav.compare"),
    ("/simulatie", "nav.simulation"),
    ("/vastleggen", "nav.capture"),
    ("/uploaden", "nav.upload"),
    ("/cluster", "nav.cluster"),
)


def create_app(
    store: str = DEFAULT_STORE,
    *,
    profile: str = "sociaal-domein",
    lang: str = "nl",
    cache: str | Path | Literal[False] | None = None,
    auth: bool = False,
    secret_key: str | None = None,
    secure_cookies: bool = False,
    proxies: int = 0,
    login_limits: LoginLimits | None = None,
    results: str | Path | None = None,
) -> Dash:
    """The dashboard on a store (a SQLite file or a ``postgresql://`` URL).

    Args:
        store: where the events are.
        profile: the profile chosen when the page opens (any shipped profile can be
            chosen in the page).
        lang: the language a new visitor sees first (``nl`` or ``en``).
        cache: where results are kept between restarts, shared by the worker
            processes (None: ``KNELPUNT_CACHE``, else beside a SQLite store or in
            the user's cache folder; False: in memory only); see
            :mod:`dashboards.workspace`.
        auth: every visitor logs in (users from the store); False is single-user local
            mode, for a server on the loopback only.
        secret_key: signs the session cookies; every worker serving the same dashboard
            needs the same key (None: a random one for this process).
        secure_cookies: cookies always carry Secure (else only over HTTPS).
        proxies: how many reverse proxies (a TLS terminator) stand before the server;
            their X-Forwarded-For/-Proto/-Host are then believed.
        login_limits: failed log-ins tolerated per account and per address.
        results: a folder of results computed on a cluster (``kp.export_relational``),
            which the cluster page shows (None: ``KNELPUNT_RESULTS``, if set).
    """
    workspace = Workspace(store, profile=profile, cache=cache)
    # Background jobs (simulation runs) keep their progress and results on disk, in a
    # folder per store that every worker process serving it shares.
    jobs = Path(tempfile.gettempdir()) / f"knelpunt-jobs-{workspace.id}"
    app = Dash(
        __name__,
        background_callback_manager=ThreadJobManager(diskcache.Cache(str(jobs))),
        use_pages=True,
        pages_folder=str(_HERE / "pages"),
        assets_folder=str(_HERE / "assets"),
        title="knelpunt",
        suppress_callback_exceptions=True,
        update_title="",
        # The figures draw with plotly.js's cartesian bundle (the report's), loaded with
        # the page: a third of the full bundle Dash would fetch at the first figure.
        external_scripts=[PLOTLY_ROUTE],
    )
    app.server.config["KNELPUNT_WORKSPACE"] = workspace
    app.server.config["KNELPUNT_RESULTS"] = results or os.environ.get("KNELPUNT_RESULTS")
    # A request larger than the largest upload (in base64) is refused unread: by its
    # stated length here (Dash would turn Flask's refusal while reading into a 500),
    # and by Flask while reading one that states none.
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST
    app.server.before_request(_refuse_too_large)
    app.server.config["KNELPUNT_DASH"] = app
    # Users and the audit log on a connection of their own: a log-in never waits
    # behind a capture append holding the store's connection.
    guard = Security(
        kp.open_store(store),
        auth=auth,
        secure_cookies=secure_cookies,
        limits=login_limits or LoginLimits(),
        lang=language(lang),
    )
    csrf = install(app.server, guard, secret_key=secret_key)
    if proxies:
        app.server.wsgi_app = ProxyFix(
            app.server.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )
    # The capture API (for the capture page and for other devices) on the same server;
    # it checks its requests itself (a session's token; a log-in to open one).
    capture = capture_blueprint(kp.open_store(store), authorize=capture_authorizer(guard))
    csrf.exempt(capture)
    app.server.register_blueprint(capture)
    # The HTML report of what the visitor chose, as a download; and its plotly.js.
    app.server.register_blueprint(report_blueprint())
    app.layout = _shell(language(lang), profile, workspace.id)
    logging.getLogger("knelpunt.dashboard").setLevel(logging.INFO)
    return app


def _refuse_too_large() -> None:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        abort(413)


def _shell(lang: str, profile: str, workspace_id: str) -> html.Div:
    return html.Div(
        [
            dcc.Location(id="url"),
            # Which workspace this page belongs to, for work that runs in the background.
            dcc.Store(id="workspace", data=workspace_id),
            # The newest source recorded from this page (an upload): lists refresh on it.
            dcc.Store(id="store-version"),
            dcc.Store(
                id="ctx",
                storage_type="session",
                data={"lang": lang, "sources": [], "profile": profile},
            ),
            html.Header(
                [
                    html.Div(
                        [
                            html.Span("knelpunt", className="brand"),
                            html.Span(t(lang, "app.tagline"), id="tagline", className="tagline"),
                        ],
                        className="brand-row",
                    ),
                    html.Nav(
                        [
                            dcc.Link(t(lang, key), href=path, id=f"nav-{key.split('.')[1]}")
                            for path, key in NAV
                        ],
                        className="nav",
                        **aria(label="pages"),
                    ),
                    html.Div(
                        [
                            html.Label(
                                t(lang, "control.sources"), htmlFor="sources", id="sources-label"
                            ),
                            dcc.Dropdown(id="sources", multi=True, className="sources"),
                            html.Label(
                                t(lang, "control.profile"), htmlFor="profile", id="profile-label"
                            ),
                            dcc.Dropdown(
                                id="profile",
                                options=list(SHIPPED_PROFILES),
                                value=profile,
                                clearable=False,
                                className="profile",
                            ),
                            dcc.RadioItems(
                                id="lang",
                                options=[{"label": x.upper(), "value": x} for x in LANGUAGES],
                                value=lang,
                                inline=True,
                                className="lang",
                                inputClassName="lang-input",
                            ),
                            html.A(
                                t(lang, "control.report"),
                                id="report-link",
                                href=report_href(lang, None, profile),
                                download="",
                                className="report-link",
                                title=t(lang, "control.report.title"),
                            ),
                            # Who is logged in, and the log-out; or that no one needs to.
                            html.Div(id="account", className="account-area"),
                        ],
                        className="controls",
                    ),
                ],
                className="header",
            ),
            html.Main(dash.page_container, className="page"),
        ],
        className="app",
    )


@dash.callback(
    Output("sources", "options"),
    Output("sources", "placeholder"),
    Input("url", "pathname"),
    Input("lang", "value"),
    Input("store-version", "data"),
)
def _list_sources(_path: str, lang: str, _version: Any) -> tuple[list[dict[str, Any]], str]:
    from dashboards.components import source_options

    return source_options(), t(lang, "control.sources.all")


# The context as the language, sources and profile controls set it (assets/shell.js:
# the same as language() and a sorted list of ids, computed in the browser).
dash.clientside_callback(
    ClientsideFunction(namespace="knelpunt", function_name="remember"),
    Output("ctx", "data"),
    Input("lang", "value"),
    Input("sources", "value"),
    Input("profile", "value"),
)


@dash.callback(
    [Output(f"nav-{key.split('.')[1]}", "children") for _, key in NAV],
    Output("tagline", "children"),
    Output("sources-label", "children"),
    Output("profile-label", "children"),
    Output("report-link", "children"),
    Output("report-link", "title"),
    Input("lang", "value"),
)
def _translate_shell(lang: str) -> tuple[Any, ...]:
    return (
        *[t(lang, key) for _, key in NAV],
        t(lang, "app.tagline"),
        t(lang, "control.sources"),
        t(lang, "control.profile"),
        t(lang, "control.report"),
        t(lang, "control.report.title"),
    )


@dash.callback(Output("report-link", "href"), Input("ctx", "data"))
def _report_link(ctx: dict[str, Any] | None) -> str:
    from dashboards.components import context

    lang, sources, profile = context(ctx)
    return report_href(lang, sources, profile)
