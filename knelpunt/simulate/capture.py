"""Live capture: record a training simulation over HTTP while it happens.

A capture session is a source of kind ``capture``. Opening one gives a
token (``secrets.token_urlsafe``); the store keeps only its SHA-256, in the
source's details, so the token is shown once and cannot be read back.
Clients then post events with ``Authorization: Bearer <token>``::

    POST /api/capture/sessions                {"name": ...}         201 {"source_id", "token"}
    POST /api/capture/sessions/<id>/events    an event, or {"events": [...]}
                                              201 (or 200 when every event was a resend)
                                              {"added", "duplicates", "last_position"}
    POST /api/capture/sessions/<id>/close     200 {"source_id", "report"}
    GET  /api/capture/health                  200 {"status": "ok", "last_position"}

A token belongs to one session: it is checked against that session's own
hash, so the token of session A is refused (403) on session B. Opening a
session needs a log-in where the server asks for one (``authorize``): the
dashboard's session in auth mode, or an analyst's name and password as HTTP
Basic credentials on ``knelpunt capture serve`` beyond the loopback; each
opening is written in the store's audit log.

The contract a client can rely on:

* **Durable before it answers.** A 200/201 is sent only after the store's
  transaction has committed (SQLite: WAL with ``synchronous=FULL``), so an
  acknowledged event survives a crash of the server. Without an answer the
  client resends.
* **Never doubled.** Every event carries an ``idempotency_key`` (required);
  the store keeps one event per key and session, so a resend, also of a batch
  that was stored but whose answer was lost, counts as a duplicate.
* **All or nothing.** A batch with one invalid event stores nothing and is
  answered 422 with every problem: ``{"errors": [{"index", "field", "value",
  "message"}]}``, each message saying how to fix it.
* **JSON errors on every path:** 400 (not JSON), 401 (no token, or no log-in
  to open a session), 403 (wrong token, or a role that may not open one), 404
  (no such session), 409 (session closed), 413 (body too large), 422 (invalid
  events), 429 (too many failed log-ins), 503 (store busy or unreachable;
  retry), 500.

:func:`parse_events` (JSON to events) is pure and is the whole validation;
:func:`capture_blueprint` mounts the routes on any Flask app (the dashboard's
server), :func:`create_capture_app` makes a stand-alone one and
:func:`serve_capture` serves it with waitress. Flask is imported only by
those three, so ``import knelpunt`` stays light.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from knelpunt.access import authenticate_basic, is_loopback, record_audit, require
from knelpunt.errors import (
    AccessError,
    ConcurrencyError,
    EventStoreError,
    LoginError,
    LoginThrottledError,
    SourceFinishedError,
    UnknownSourceError,
)
from knelpunt.events.model import NewSource, Source
from knelpunt.events.store import EventStore, open_store
from knelpunt.simulate._capture_events import MAX_TEXT, EventIssue, _shown, parse_events

if TYPE_CHECKING:
    import flask
    from waitress.server import BaseWSGIServer, MultiSocketServer

__all__ = [
    "Authorize",
    "CapturedSession",
    "EventIssue",
    "basic_authorizer",
    "capture_blueprint",
    "close_session",
    "create_capture_app",
    "open_session",
    "parse_events",
    "serve_capture",
]

# A request body larger than this is refused with 413 (about 5,000 small events).
MAX_BODY_BYTES: Final = 1 << 20
# Problems listed in one 422 answer (the total is always given).
MAX_ISSUES: Final = 100

_log = logging.getLogger(__name__)


# -- sessions in the store ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CapturedSession:
    """A newly opened capture session.

    Attributes:
        source: the capture source the events go to.
        token: the bearer token; shown once, only its SHA-256 is stored.
    """

    source: Source
    token: str = field(repr=False)  # kept out of logs and tracebacks


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(store: EventStore, name: str, *, created_by: str | None = None) -> CapturedSession:
    """Create a capture source and its token.

    Example:
        >>> from knelpunt.events.store import open_store
        >>> with open_store(":memory:") as store:
        ...     session = open_session(store, "Oefening 1")
        ...     session.source.kind, "token_sha256" in session.source.details
        ('capture', True)
    """
    if not name.strip():
        raise ValueError("Give the capture session a name, e.g. 'Oefening wijkteam 3 maart'.")
    token = secrets.token_urlsafe(32)
    source = store.create_source(
        NewSource(
            name=name.strip(),
            kind="capture",
            created_by=created_by,
            details={
                "token_sha256": _digest(token),
                "opened_at": _now(),
                # A training's role-play, shown back in its debrief: recorded as sent
                # (see the consultant's guide, "Personal data").
                "privacy": {"pseudonymised": False, "reason": "a training simulation's capture"},
            },
        )
    )
    return CapturedSession(source, token)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _capture_source(store: EventStore, source_id: int) -> Source:
    source = store.source(source_id)
    if source.kind != "capture" or "token_sha256" not in source.details:
        raise UnknownSourceError(
            f"Source {source_id} is a {source.kind} source, not a capture session; open one "
            "with 'knelpunt capture open NAME'."
        )
    return source


def close_session(store: EventStore, source_id: int, *, closed_by: str | None = None) -> Source:
    """Write a capture session's closing report: its events, cases, activities and period.

    Raises:
        UnknownSourceError: no such capture session.
        SourceFinishedError: the session was closed before.
    """
    source = _capture_source(store, source_id)
    if source.report:
        raise SourceFinishedError(
            f"Capture session {source_id} ({source.name}) was closed at "
            f"{source.report.get('closed_at', '?')}; open a new session for new events."
        )
    events = 0
    cases: set[str] = set()
    activities: set[str] = set()
    first: int | None = None
    last: int | None = None
    for batch in store.iter_events(sources=[source_id], attributes=False):
        events += len(batch)
        cases.update(batch["case_id"].unique().tolist())
        activities.update(batch["activity"].unique().tolist())
        low, high = int(batch["time_us"].min()), int(batch["time_us"].max())
        first = low if first is None else min(first, low)
        last = high if last is None else max(last, high)

    def moment(micros: int | None) -> str | None:
        if micros is None:
            return None
        return datetime.fromtimestamp(micros / 1e6, tz=UTC).isoformat()

    return store.finish_source(
        source_id,
        {
            "closed_at": _now(),
            "closed_by": closed_by,
            "events": events,
            "cases": len(cases),
            "activities": len(activities),
            "first_event": moment(first),
            "last_event": moment(last),
        },
    )


@dataclass(slots=True)
class _Known:
    token_sha256: str
    closed: bool
    checked: float


class _Sessions:
    """What the server knows of each session: its token hash, and whether it is closed.

    A session closed elsewhere (``knelpunt capture close``) is noticed within
    ``recheck`` seconds; the token hash never changes.
    """

    def __init__(self, store: EventStore, *, recheck: float = 1.0) -> None:
        self._store = store
        self._recheck = recheck
        self._known: dict[int, _Known] = {}
        self._lock = threading.Lock()

    def get(self, source_id: int) -> _Known:
        with self._lock:
            known = self._known.get(source_id)
        if known is not None and (known.closed or time.monotonic() - known.checked < self._recheck):
            return known
        source = _capture_source(self._store, source_id)
        known = _Known(str(source.details["token_sha256"]), bool(source.report), time.monotonic())
        with self._lock:
            self._known[source_id] = known
        return known

    def forget(self, source_id: int) -> None:
        with self._lock:
            self._known.pop(source_id, None)


# -- HTTP ---------------------------------------------------------------------------------


class _RefusedError(Exception):
    """An answer other than success, raised inside a view and turned into JSON."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def _answer(status: int, message: str, **extra: Any) -> tuple[dict[str, Any], int, dict[str, str]]:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="knelpunt capture"'
    if status == 503:
        headers["Retry-After"] = "1"
    return {"error": message, **extra}, status, headers


# Who may open a session: given the request, the user's name (None: anyone, unnamed);
# raises an AccessError to refuse.
Authorize = Callable[["flask.Request"], str | None]


def basic_authorizer(store: EventStore) -> Authorize:
    """Opening a session needs an analyst's (or admin's) name and password as HTTP Basic
    credentials: for scripts and devices talking to ``knelpunt capture serve``."""

    def check(request: flask.Request) -> str | None:
        user = authenticate_basic(
            store, request.headers.get("Authorization", ""), address=request.remote_addr
        )
        require(user, "capture")
        return user.name

    return check


def _refusal(error: AccessError) -> tuple[dict[str, Any], int, dict[str, str]]:
    if isinstance(error, LoginThrottledError):
        body, status, headers = _answer(429, str(error))
        headers["Retry-After"] = str(error.retry_after)
        return body, status, headers
    if isinstance(error, LoginError):
        # No challenge: a browser would ask for Basic credentials and then send them
        # with every request, also those another site makes it send.
        return {"error": str(error)}, 401, {"Cache-Control": "no-store"}
    return _answer(403, str(error))


def _json_body(request: flask.Request) -> Any:
    mime = request.mimetype
    if mime != "application/json" and not mime.endswith("+json"):
        raise _RefusedError(
            400,
            f"The body must be JSON sent with 'Content-Type: application/json' (got "
            f"{mime or 'no content type'}).",
        )
    raw = request.get_data(cache=False)  # raises 413 beyond the limit

    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        text = raw.decode("utf-8")  # RFC 8259: JSON between systems is UTF-8
    except UnicodeDecodeError:
        raise _RefusedError(400, "The body is not UTF-8 text; send JSON in UTF-8.") from None
    try:
        return json.loads(text, parse_constant=refuse_constant)
    except ValueError as error:
        raise _RefusedError(400, f"The body is not valid JSON: {error}.") from None


def _bearer(request: flask.Request, known: _Known, source_id: int) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _RefusedError(
            401,
            f"Send the session's token as 'Authorization: Bearer <token>'; it was printed "
            f"when session {source_id} was opened.",
        )
    if not hmac.compare_digest(_digest(token.strip()), known.token_sha256):
        raise _RefusedError(403, f"This token is not the token of capture session {source_id}.")


def capture_blueprint(
    store: EventStore,
    *,
    max_body: int = MAX_BODY_BYTES,
    recheck: float = 1.0,
    authorize: Authorize | None = None,
) -> flask.Blueprint:
    """The capture routes, to mount on any Flask app (e.g. the dashboard's server).

    Args:
        store: where the sessions' events go; must allow use from several threads
            (both of knelpunt's stores do).
        max_body: largest request body in bytes (413 beyond it).
        recheck: seconds a session's closed state is trusted before it is read again.
        authorize: who may open a session (see :func:`basic_authorizer`); None lets
            anyone who reaches the server open one (the loopback only).
    """
    import flask
    from werkzeug.exceptions import HTTPException

    blueprint = flask.Blueprint("knelpunt_capture", __name__, url_prefix="/api/capture")
    sessions = _Sessions(store, recheck=recheck)

    @blueprint.before_request
    def limit_body() -> None:
        flask.request.max_content_length = max_body

    @blueprint.errorhandler(_RefusedError)
    def refused(error: _RefusedError) -> Any:
        return _answer(error.status, str(error), **error.extra)

    @blueprint.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        message = error.description or error.name
        if error.code == 413:
            message = (
                f"The body is larger than {max_body:,} bytes; send the events in smaller batches."
            )
        return _answer(error.code or 500, message)

    @blueprint.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        _log.exception("capture request failed")
        return _answer(
            500, f"The server failed ({type(error).__name__}); nothing was acknowledged, so resend."
        )

    def session_of(text: str) -> tuple[int, _Known]:
        try:
            source_id = int(text)
        except ValueError:
            raise _RefusedError(
                404, f"No capture session {text!r}: session ids are numbers."
            ) from None
        try:
            return source_id, sessions.get(source_id)
        except UnknownSourceError:
            raise _RefusedError(
                404,
                f"No capture session {source_id}; open one with POST /api/capture/sessions "
                "or 'knelpunt capture open NAME'.",
            ) from None
        except EventStoreError as error:
            raise _RefusedError(503, f"The store cannot be read now: {error}") from None

    @blueprint.get("/health")
    def health() -> Any:
        try:
            position = store.last_position()
        except EventStoreError as error:
            return _answer(503, f"The store cannot be read: {error}")
        return {"status": "ok", "last_position": position}

    @blueprint.post("/sessions")
    def open_() -> Any:
        body = _json_body(flask.request)
        fix = (
            'send {"name": "..."}, optionally with "created_by" (texts of 1 to '
            f'{MAX_TEXT} characters), e.g. {{"name": "Oefening wijkteam 3 maart"}}.'
        )
        if not isinstance(body, dict):
            issue = EventIssue(None, None, _shown(body), fix)
            return _answer(422, "The session cannot be opened.", errors=[issue.as_json()])
        issues = [
            EventIssue(None, key, _shown(value), fix)
            for key, value in body.items()
            if key not in ("name", "created_by")
            or not (isinstance(value, str) and value.strip() and len(value) <= MAX_TEXT)
        ]
        if "name" not in body:
            issues.insert(0, EventIssue(None, "name", None, fix))
        if issues:
            return _answer(
                422,
                "The session cannot be opened.",
                errors=[issue.as_json() for issue in issues[:MAX_ISSUES]],
            )
        name, who = body["name"], body.get("created_by")
        if authorize is not None:
            try:
                who = authorize(flask.request) or who
            except AccessError as error:
                return _refusal(error)
            except EventStoreError as error:
                return _answer(503, f"The log-in cannot be checked now: {error}")
        try:
            session = open_session(store, name, created_by=who)
        except EventStoreError as error:
            return _answer(503, f"The store refused the session: {error}")
        source = session.source
        try:
            record_audit(store, "capture_open", actor=who, address=flask.request.remote_addr,
                         target=f"source {source.source_id} ({source.name})")  # fmt: skip
        except EventStoreError:
            # The session is open: answering 503 would make the client open another.
            _log.exception("capture session %s opened, but not audited", source.source_id)
        return (
            {
                "source_id": session.source.source_id,
                "name": session.source.name,
                "token": session.token,
                "events_url": flask.url_for(
                    ".events", source_id=session.source.source_id, _external=False
                ),
            },
            201,
            {"Cache-Control": "no-store"},
        )

    @blueprint.post("/sessions/<source_id>/events")
    def events(source_id: str) -> Any:
        number, known = session_of(source_id)
        _bearer(flask.request, known, number)
        if known.closed:
            return _answer(409, f"Capture session {number} is closed; open a new session.")
        parsed, issues = parse_events(_json_body(flask.request))
        if issues:
            return _answer(
                422,
                f"{len(issues)} problem(s) in the events; nothing of this request was stored. "
                "Fix them and send the whole request again.",
                errors=[issue.as_json() for issue in issues[:MAX_ISSUES]],
                total_errors=len(issues),
            )
        try:
            result = store.append(number, parsed)
        except UnknownSourceError:  # purged meanwhile
            sessions.forget(number)
            return _answer(404, f"Capture session {number} was removed from the store.")
        except ConcurrencyError as error:
            return _answer(503, f"{error} Nothing was stored; resend.")
        except EventStoreError as error:
            _log.warning("append to capture session %s failed: %s", number, error)
            return _answer(503, f"The store failed: {error} Nothing was acknowledged; resend.")
        body = {
            "added": result.added,
            "duplicates": result.duplicates,
            "last_position": result.last_position,
        }
        return body, 201 if result.added else 200

    @blueprint.post("/sessions/<source_id>/close")
    def close(source_id: str) -> Any:
        number, known = session_of(source_id)
        _bearer(flask.request, known, number)
        try:
            source = close_session(store, number, closed_by="http")
        except SourceFinishedError as error:
            return _answer(409, str(error))
        except UnknownSourceError:
            sessions.forget(number)
            return _answer(404, f"Capture session {number} was removed from the store.")
        except EventStoreError as error:
            _log.warning("closing capture session %s failed: %s", number, error)
            return _answer(503, f"The store failed: {error} Resend to close.")
        sessions.forget(number)
        return {"source_id": number, "report": dict(source.report)}

    return blueprint


def create_capture_app(
    store: EventStore,
    *,
    max_body: int = MAX_BODY_BYTES,
    recheck: float = 1.0,
    auth: bool = False,
) -> flask.Flask:
    """A Flask app serving only the capture routes, with JSON for every error (also 404/405).

    With ``auth``, opening a session needs an analyst's Basic credentials
    (:func:`basic_authorizer`); sending events always needs the session's token.

    Example:
        >>> from knelpunt.events.store import open_store
        >>> app = create_capture_app(open_store(":memory:"))
        >>> app.test_client().get("/api/capture/health").json["status"]
        'ok'
    """
    import flask
    from werkzeug.exceptions import HTTPException

    app = flask.Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = max_body
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(
        capture_blueprint(
            store,
            max_body=max_body,
            recheck=recheck,
            authorize=basic_authorizer(store) if auth else None,
        )
    )

    @app.after_request
    def security_headers(response: flask.Response) -> flask.Response:
        # JSON only: nothing here may be framed, sniffed or run as a page.
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"
        )
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        message = error.description or error.name
        if error.code == 404:
            message = "No such address; the capture routes are under /api/capture/."
        return _answer(error.code or 500, message)

    return app


def serve_capture(
    store_url: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    threads: int = 8,
    max_body: int = MAX_BODY_BYTES,
    ready: Callable[[str, str], None] | None = None,
    auth: bool | None = None,
) -> None:
    """Serve the capture routes with waitress until interrupted.

    Args:
        store_url: the store (see :func:`~knelpunt.events.store.open_store`).
        host: the address to listen on; the loopback by default.
        auth: opening a session needs an analyst's log-in (HTTP Basic); by default
            whenever ``host`` is not the loopback, and it cannot be switched off there.
        port: the port (0: any free one).
        threads: requests handled at once; the store serialises their writes.
        max_body: largest request body in bytes.
        ready: called with the base URL and the store (its URL without password) once
            the server listens.
    """
    from waitress.server import create_server

    if auth is None:
        auth = not is_loopback(host)
    if not auth and not is_loopback(host):
        raise AccessError(
            f"Refusing to serve on {host} without log-in: anyone on the network could open "
            "capture sessions. Leave out --no-auth (analysts then open sessions with their "
            "name and password), or serve on 127.0.0.1."
        )
    # waitress warns of every queued request; under load that floods the log.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    # A request waits at most 10 s for another writer, then is answered 503 (retry).
    store = open_store(store_url, busy_timeout=10.0)
    try:
        app = create_capture_app(store, max_body=max_body, auth=auth)
        server: BaseWSGIServer | MultiSocketServer = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            max_request_body_size=max_body + 1,
            ident="knelpunt-capture",
        )
        address = getattr(server, "effective_host", host), getattr(server, "effective_port", port)
        if ready is not None:
            ready(f"http://{address[0]}:{address[1]}/api/capture/", store.url)
        with _stop_on_sigterm():
            server.run()  # returns on Ctrl-C or SIGTERM, after the running requests
    finally:
        store.close()


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM (systemd, docker stop) stops the server as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
