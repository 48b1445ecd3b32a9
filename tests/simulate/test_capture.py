"""Live capture: validation, every HTTP answer, the command, and a server killed mid-stream."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import psycopg
import pytest
from flask.testing import FlaskClient
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt.cli import app as cli_app
from knelpunt.errors import ConcurrencyError, SourceFinishedError, UnknownSourceError
from knelpunt.simulate.capture import (
    capture_blueprint,
    close_session,
    create_capture_app,
    open_session,
    parse_events,
)
from knelpunt.testing import make_log

REPO = Path(__file__).resolve().parents[2]
WHEN = "2025-03-04T09:15:00+01:00"


def _event(key: str = "k1", **fields: Any) -> dict[str, Any]:
    event = {"case_id": "C1", "activity": "Intake", "timestamp": WHEN, "idempotency_key": key}
    event.update(fields)
    return {k: v for k, v in event.items() if v is not ...}


# -- validation, without HTTP ----------------------------------------------------------------


class TestParseEvents:
    def test_one_event(self) -> None:
        """A single event object becomes one event with an aware UTC-comparable time."""
        events, issues = parse_events(
            _event(lifecycle="complete", resource="Anna", attributes={"scheme": "Wmo", "n": 3})
        )
        assert issues == []
        (event,) = events
        assert (event.case_id, event.activity, event.lifecycle, event.resource) == (
            "C1",
            "Intake",
            "complete",
            "Anna",
        )
        assert event.timestamp.utcoffset() is not None
        assert event.time_us == 1_741_076_100_000_000
        assert dict(event.attributes) == {"scheme": "Wmo", "n": 3}
        assert event.idempotency_key == "k1"

    def test_batch_and_zulu_time_and_numeric_case(self) -> None:
        """A batch keeps its order; Z means UTC; a whole-number case id becomes text."""
        events, issues = parse_events(
            {"events": [_event("a", case_id=7, timestamp="2025-03-04T08:15:00Z"), _event("b")]}
        )
        assert issues == []
        assert [e.idempotency_key for e in events] == ["a", "b"]
        assert events[0].case_id == "7"
        assert events[0].time_us == events[1].time_us

    @pytest.mark.parametrize(
        ("event", "field", "words"),
        [
            (_event(case_id=...), "case_id", "required"),
            (_event(activity=...), "activity", "required"),
            (_event(timestamp=...), "timestamp", "required"),
            (_event(key=...), "idempotency_key", "resend"),
            (_event(idempotency_key=""), "idempotency_key", "empty"),
            (_event(case_id=True), "case_id", "text or a whole number"),
            (_event(case_id="  "), "case_id", "empty"),
            (_event(activity=["A"]), "activity", "must be text"),
            (_event(timestamp="2025-03-04T09:15:00"), "timestamp", "no offset"),
            (_event(timestamp="2025-03-04"), "timestamp", "no offset"),
            (_event(timestamp="04-03-2025 09:15"), "timestamp", "cannot be read"),
            (_event(timestamp=1741076100), "timestamp", "must be text"),
            (_event(resource=""), "resource", "leave the field out"),
            (_event(lifecycle=5), "lifecycle", "must be text"),
            (_event(attributes=[1]), "attributes", "must be an object"),
            (_event(attributes={"a": {"b": 1}}), "attributes.a", "flatten"),
            (_event(attributes={"concept:name": "X"}), "attributes.concept:name", "own column"),
            (_event(timestmap=WHEN), "timestmap", "unknown field"),
            (_event(activity="x" * 501), "activity", "at most 500"),
        ],
    )
    def test_invalid_field(self, event: dict[str, Any], field: str, words: str) -> None:
        """Each rule names the field, echoes the value and says what to do."""
        events, issues = parse_events({"events": [_event("ok"), event]})
        assert events == [parse_events(_event("ok"))[0][0]]  # the valid one is parsed ...
        assert [(i.index, i.field) for i in issues] == [(1, field)]  # ... the bad one named
        assert words in issues[0].message
        if len(json.dumps(issues[0].value)) > 90:
            pytest.fail(f"value not shortened: {issues[0].value!r}")

    def test_every_problem_of_an_event_is_listed(self) -> None:
        """One event with three problems gives three issues, in field order."""
        _events, issues = parse_events(
            {"case_id": "", "activity": "A", "timestamp": "gisteren", "idempotency_key": None}
        )
        assert [i.field for i in issues] == ["case_id", "timestamp", "idempotency_key"]

    @pytest.mark.parametrize(
        ("payload", "words"),
        [
            ([_event()], 'as {"events": [...]}'),
            ("hello", "send one event object"),
            ({"events": []}, "non-empty list"),
            ({"events": {"a": 1}}, "non-empty list"),
            ({"events": [_event()], "session": 3}, "move session"),
            ({"events": [3]}, "must be a JSON object"),
        ],
    )
    def test_bad_shape(self, payload: Any, words: str) -> None:
        """Shapes other than an event or {"events": [...]} are refused with the right form."""
        _events, issues = parse_events(payload)
        assert issues
        assert words in issues[0].message


# -- the HTTP answers ------------------------------------------------------------------------


@pytest.fixture(name="store")
def _store(tmp_path: Path) -> Iterator[kp.EventStore]:
    with kp.open_store(tmp_path / "capture.db") as store:
        yield store


@pytest.fixture(name="client")
def _client(store: kp.EventStore) -> FlaskClient:
    return create_capture_app(store, max_body=20_000, recheck=0.0).test_client()


def _open(client: FlaskClient, name: str = "Oefening") -> tuple[int, dict[str, str]]:
    answer = client.post("/api/capture/sessions", json={"name": name})
    assert answer.status_code == 201, answer.json
    data = answer.json
    assert data is not None
    return data["source_id"], {"Authorization": f"Bearer {data['token']}"}


def _post(client: FlaskClient, source_id: int, body: Any, auth: dict[str, str]) -> Any:
    return client.post(f"/api/capture/sessions/{source_id}/events", json=body, headers=auth)


class TestHTTP:
    def test_health(self, client: FlaskClient) -> None:
        """GET health answers 200 with the store position."""
        answer = client.get("/api/capture/health")
        assert (answer.status_code, answer.json) == (200, {"status": "ok", "last_position": 0})

    def test_open_keeps_only_the_token_hash(
        self, client: FlaskClient, store: kp.EventStore
    ) -> None:
        """201 gives the token once; the store holds its SHA-256 and never the token."""
        answer = client.post("/api/capture/sessions", json={"name": "Oefening", "created_by": "jo"})
        assert answer.status_code == 201
        data = answer.json
        assert data is not None
        assert len(data["token"]) >= 40
        source = store.source(data["source_id"])
        assert (source.kind, source.name, source.created_by) == ("capture", "Oefening", "jo")
        assert data["token"] not in json.dumps(dict(source.details))
        assert len(source.details["token_sha256"]) == 64
        assert data["events_url"] == f"/api/capture/sessions/{data['source_id']}/events"

    @pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x", "role": "y"}, ["x"]])
    def test_open_needs_a_name(self, client: FlaskClient, body: Any) -> None:
        """A session without a usable name is 422, with the form to send."""
        answer = client.post("/api/capture/sessions", json=body)
        assert answer.status_code == 422
        assert answer.json is not None
        assert '{"name": "..."}' in answer.json["errors"][0]["message"]

    def test_append_then_resend(self, client: FlaskClient, store: kp.EventStore) -> None:
        """201 for new events, 200 with duplicates for a resend; stored once."""
        source_id, auth = _open(client)
        first = _post(client, source_id, {"events": [_event("a"), _event("b")]}, auth)
        assert (first.status_code, first.json) == (
            201,
            {"added": 2, "duplicates": 0, "last_position": 2},
        )
        again = _post(client, source_id, _event("a"), auth)
        assert (again.status_code, again.json) == (
            200,
            {"added": 0, "duplicates": 1, "last_position": 2},
        )
        assert store.source(source_id).event_count == 2

    def test_invalid_batch_stores_nothing(self, client: FlaskClient, store: kp.EventStore) -> None:
        """422 lists every problem with index, field, value, message; nothing is stored."""
        source_id, auth = _open(client)
        bad = {"events": [_event("a"), _event("b", timestamp="2025-03-04 09:15")]}
        answer = _post(client, source_id, bad, auth)
        assert answer.status_code == 422
        assert answer.json is not None
        assert answer.json["errors"] == [
            {
                "index": 1,
                "field": "timestamp",
                "value": "2025-03-04 09:15",
                "message": answer.json["errors"][0]["message"],
            }
        ]
        assert "nothing of this request was stored" in answer.json["error"]
        assert store.source(source_id).event_count == 0

    def test_token_missing_or_wrong(self, client: FlaskClient) -> None:
        """No token is 401 with a Bearer challenge; another session's token is 403."""
        source_id, _auth = _open(client)
        _other, other_auth = _open(client, "Andere")
        missing = _post(client, source_id, _event(), {})
        assert missing.status_code == 401
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in missing.json["error"]  # type: ignore[index]
        basic = _post(client, source_id, _event(), {"Authorization": "Basic dXNlcjpwdw=="})
        assert basic.status_code == 401
        assert _post(client, source_id, _event(), other_auth).status_code == 403
        wrong = {"Authorization": "Bearer not-the-token"}
        assert _post(client, source_id, _event(), wrong).status_code == 403

    def test_unknown_session(self, client: FlaskClient, store: kp.EventStore) -> None:
        """An unknown id, a non-number and a source that is not a capture are 404."""
        _source_id, auth = _open(client)
        upload = kp.ingest_log(store, make_log(cases=1)).source.source_id
        for target in ("99", "abc", str(upload)):
            answer = client.post(f"/api/capture/sessions/{target}/events", json={}, headers=auth)
            assert answer.status_code == 404, target
            assert "capture session" in answer.json["error"]  # type: ignore[index]

    def test_closed_session(self, client: FlaskClient, store: kp.EventStore) -> None:
        """Closing answers the report; events and a second close after it are 409."""
        source_id, auth = _open(client)
        _post(client, source_id, {"events": [_event("a"), _event("b", case_id="C2")]}, auth)
        closed = client.post(f"/api/capture/sessions/{source_id}/close", headers=auth)
        assert closed.status_code == 200
        report = closed.json["report"]  # type: ignore[index]
        assert (report["events"], report["cases"], report["activities"]) == (2, 2, 1)
        assert report["first_event"] == "2025-03-04T08:15:00+00:00"
        assert report["closed_by"] == "http"
        assert _post(client, source_id, _event("c"), auth).status_code == 409
        again = client.post(f"/api/capture/sessions/{source_id}/close", headers=auth)
        assert again.status_code == 409
        assert store.source(source_id).event_count == 2

    def test_closed_elsewhere_is_noticed(self, client: FlaskClient, store: kp.EventStore) -> None:
        """A session closed from the command line refuses further events."""
        source_id, auth = _open(client)
        assert _post(client, source_id, _event("a"), auth).status_code == 201
        close_session(store, source_id, closed_by="cli")
        assert _post(client, source_id, _event("b"), auth).status_code == 409

    def test_too_large(self, client: FlaskClient, store: kp.EventStore) -> None:
        """A body over the limit is 413, in JSON."""
        source_id, auth = _open(client)
        big = {"events": [_event(f"k{i}") for i in range(400)]}
        answer = _post(client, source_id, big, auth)
        assert answer.status_code == 413
        assert "smaller batches" in answer.json["error"]  # type: ignore[index]
        assert store.source(source_id).event_count == 0

    @pytest.mark.parametrize(
        ("data", "content_type", "words"),
        [
            ("{not json", "application/json", "not valid JSON"),
            ('{"a": NaN}', "application/json", "not valid JSON"),
            (b"\xff\xfe", "application/json", "UTF-8"),
            ("case_id=C1", "application/x-www-form-urlencoded", "Content-Type: application/json"),
            ('{"case_id": "C1"}', "text/plain", "Content-Type: application/json"),
        ],
    )
    def test_not_json(
        self, client: FlaskClient, data: str | bytes, content_type: str, words: str
    ) -> None:
        """A body that is not JSON is 400 and says what to send."""
        source_id, auth = _open(client)
        answer = client.post(
            f"/api/capture/sessions/{source_id}/events",
            data=data,
            content_type=content_type,
            headers=auth,
        )
        assert answer.status_code == 400
        assert words in answer.json["error"]  # type: ignore[index]

    def test_other_addresses_and_methods_answer_json(self, client: FlaskClient) -> None:
        """Unknown paths (404) and wrong methods (405) are JSON, never HTML."""
        for answer, status in (
            (client.get("/nothing"), 404),
            (client.get("/api/capture/sessions"), 405),
            (client.delete("/api/capture/sessions/1/events"), 405),
        ):
            assert answer.status_code == status
            assert answer.is_json
            assert answer.json["error"]  # type: ignore[index]

    def test_store_busy_is_503_and_a_crash_is_500(
        self, client: FlaskClient, store: kp.EventStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A locked store answers 503 with Retry-After; a bug answers 500 in JSON."""
        source_id, auth = _open(client)

        def busy(*_args: Any) -> None:
            raise ConcurrencyError("Another process kept the SQLite store locked.")

        monkeypatch.setattr(store, "append", busy)
        answer = _post(client, source_id, _event(), auth)
        assert (answer.status_code, answer.headers["Retry-After"]) == (503, "1")
        assert "resend" in answer.json["error"]  # type: ignore[index]

        def broken(*_args: Any) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(store, "append", broken)
        answer = _post(client, source_id, _event(), auth)
        assert answer.status_code == 500
        assert answer.json == {
            "error": "The server failed (RuntimeError); nothing was acknowledged, so resend."
        }

    def test_blueprint_on_another_app(self, store: kp.EventStore) -> None:
        """The routes mount on a host app (the dashboard's) and leave its own pages alone."""
        host = flask.Flask("host")
        host.register_blueprint(capture_blueprint(store))

        @host.get("/")
        def home() -> str:
            return "<h1>dashboard</h1>"

        client = host.test_client()
        source_id, auth = _open(client)
        assert _post(client, source_id, _event(), auth).status_code == 201
        assert client.get("/").text == "<h1>dashboard</h1>"
        assert _post(client, source_id, "x", auth).status_code == 422


class TestScopeAndLogIn:
    """A token opens one session only; opening one can need an analyst's log-in."""

    def test_a_token_posts_to_its_own_session_only(
        self, client: FlaskClient, store: kp.EventStore
    ) -> None:
        """Session A's token is refused on session B, for events and for closing, and
        nothing reaches B; it still works on A."""
        a, auth_a = _open(client, "A")
        b, auth_b = _open(client, "B")
        refused = _post(client, b, {"events": [_event("x"), _event("y")]}, auth_a)
        assert refused.status_code == 403
        assert refused.json == {"error": f"This token is not the token of capture session {b}."}
        closing = client.post(f"/api/capture/sessions/{b}/close", headers=auth_a)
        assert closing.status_code == 403
        assert store.source(b).event_count == 0
        assert not store.source(b).report
        assert _post(client, a, _event("x"), auth_a).status_code == 201
        assert _post(client, b, _event("x"), auth_b).status_code == 201
        assert (store.source(a).event_count, store.source(b).event_count) == (1, 1)

    def test_opening_is_audited(self, client: FlaskClient, store: kp.EventStore) -> None:
        """Each opened session leaves an audit entry with who and from where."""
        answer = client.post(
            "/api/capture/sessions",
            json={"name": "Oefening", "created_by": "jo"},
            environ_base={"REMOTE_ADDR": "10.1.2.3"},
        )
        source_id = answer.json["source_id"]  # type: ignore[index]
        (entry,) = store.audit_log(actions=["capture_open"])
        assert (entry.actor, entry.target, entry.address) == (
            "jo",
            f"source {source_id} (Oefening)",
            "10.1.2.3",
        )

    def test_with_auth_only_an_analyst_opens_a_session(self, store: kp.EventStore) -> None:
        """With auth, opening needs Basic credentials of an analyst: none is 401 (without
        a Basic challenge), a viewer 403, an analyst 201 with the session in their name;
        the token then works without a log-in."""
        password = "correct horse battery"
        kp.access.add_user(store, "anna", password, role="analyst")
        kp.access.add_user(store, "bob", password, role="viewer")
        client = create_capture_app(store, auth=True).test_client()

        def basic(name: str, secret: str = password) -> dict[str, str]:
            return {
                "Authorization": "Basic " + base64.b64encode(f"{name}:{secret}".encode()).decode()
            }

        anonymous = client.post("/api/capture/sessions", json={"name": "S"})
        assert anonymous.status_code == 401
        assert "Basic" not in anonymous.headers.get("WWW-Authenticate", "")
        assert "curl -u NAME" in anonymous.json["error"]  # type: ignore[index]
        viewer = client.post("/api/capture/sessions", json={"name": "S"}, headers=basic("bob"))
        assert viewer.status_code == 403
        assert "may not open capture sessions" in viewer.json["error"]  # type: ignore[index]
        wrong = client.post(
            "/api/capture/sessions", json={"name": "S"}, headers=basic("anna", "wrong one!!")
        )
        assert wrong.status_code == 401
        assert [s.kind for s in store.sources()] == []
        opened = client.post("/api/capture/sessions", json={"name": "S"}, headers=basic("anna"))
        assert opened.status_code == 201
        data = opened.json
        assert data is not None
        assert store.source(data["source_id"]).created_by == "anna"
        token = {"Authorization": f"Bearer {data['token']}"}
        assert _post(client, data["source_id"], _event(), token).status_code == 201
        assert [e.action for e in store.audit_log()][-4:] == [
            "login",  # bob's password was right; his role was not
            "login_failed",
            "login",
            "capture_open",
        ]
        assert client.get("/api/capture/health").headers["X-Content-Type-Options"] == "nosniff"

    def test_too_many_failed_log_ins_are_429(self, store: kp.EventStore) -> None:
        """The sixth attempt after five failures is refused with 429 and Retry-After."""
        client = create_capture_app(store, auth=True).test_client()
        bad = {"Authorization": "Basic " + base64.b64encode(b"anna:not the password").decode()}
        codes = [
            client.post("/api/capture/sessions", json={"name": "S"}, headers=bad).status_code
            for _ in range(6)
        ]
        assert codes == [401] * 5 + [429]
        last = client.post("/api/capture/sessions", json={"name": "S"}, headers=bad)
        assert int(last.headers["Retry-After"]) > 0

    def test_serving_beyond_the_loopback_without_auth_is_refused(self, tmp_path: Path) -> None:
        """'capture serve --host 0.0.0.0 --no-auth' refuses to start and says why."""
        result = CliRunner().invoke(
            cli_app,
            ["capture", "serve", "--host", "0.0.0.0", "--no-auth", "--store",
             str(tmp_path / "k.db")],
        )  # fmt: skip
        assert result.exit_code == 1
        assert "Refusing to serve on 0.0.0.0 without log-in" in " ".join(result.output.split())


# -- the command ---------------------------------------------------------------------------


def test_command_open_and_close(tmp_path: Path) -> None:
    """'capture open' prints the id and token once; 'capture close' writes the report once."""
    runner = CliRunner()
    store = str(tmp_path / "k.db")
    opened = runner.invoke(cli_app, ["capture", "open", "Oefening 3 maart", "--store", store])
    assert opened.exit_code == 0, opened.output
    token = re.search(r"Token \(shown only now[^)]*\): (\S+)", opened.stdout)
    assert token is not None
    with kp.open_store(store) as target:
        assert token.group(1) not in json.dumps(dict(target.source(1).details))
        client = create_capture_app(target).test_client()
        auth = {"Authorization": f"Bearer {token.group(1)}"}
        assert _post(client, 1, _event(), auth).status_code == 201
    closed = runner.invoke(cli_app, ["capture", "close", "1", "--store", store])
    assert closed.exit_code == 0, closed.output
    assert "1 events, 1 cases, 1 activities" in closed.stdout
    again = runner.invoke(cli_app, ["capture", "close", "1", "--store", store])
    assert again.exit_code == 4
    assert "was closed at" in again.stderr
    unknown = runner.invoke(cli_app, ["capture", "close", "7", "--store", store])
    assert unknown.exit_code == 4
    as_json = runner.invoke(cli_app, ["capture", "open", "B", "--store", store, "--json"])
    assert set(json.loads(as_json.stdout)) == {"source_id", "token"}


def test_session_functions_refuse_what_they_should(tmp_path: Path) -> None:
    """close_session refuses an upload and a second close; open_session needs a name."""
    with kp.open_store(tmp_path / "k.db") as store:
        upload = kp.ingest_log(store, make_log(cases=1)).source.source_id
        with pytest.raises(UnknownSourceError, match="not a capture session"):
            close_session(store, upload)
        session = open_session(store, "S")
        close_session(store, session.source.source_id)
        with pytest.raises(SourceFinishedError):
            close_session(store, session.source.source_id)
        with pytest.raises(ValueError, match="name"):
            open_session(store, " ")


# -- a real server, killed mid-stream --------------------------------------------------------


class _Server:
    """``knelpunt capture serve`` as a child process."""

    def __init__(self, store: str, log: Path) -> None:
        self.store, self.log = store, log
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["capture", "serve", "--port", str(self.port), "--store", self.store]
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "knelpunt.cli", *command, "--threads", "8"],
                cwd=REPO,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "COLUMNS": "200"},
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.port == 0:
                found = re.findall(r"http://127\.0\.0\.1:(\d+)/", self.log.read_text())
                self.port = int(found[-1]) if found else 0
            if self.port and _request(self.port, "GET", "/api/capture/health")[0] == 200:
                return
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.05)
        pytest.fail(f"the capture server did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)


def _request(
    port: int, method: str, path: str, body: Any = None, token: str | None = None
) -> tuple[int, Any]:
    """One request on a new connection; (0, None) when the server is not there."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, None if body is None else json.dumps(body), headers)
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read())
    except (OSError, http.client.HTTPException):
        return 0, None
    finally:
        connection.close()


def _stored_keys(url: str, source_id: int) -> list[str]:
    statement = "SELECT idempotency_key FROM events WHERE source_id = %s"
    if url.startswith("postgresql://"):
        with psycopg.connect(url) as connection:
            return [row[0] for row in connection.execute(statement, (source_id,))]
    with sqlite3.connect(url) as connection:
        rows = connection.execute(statement.replace("%s", "?"), (source_id,)).fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_killed_server_loses_and_doubles_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Clients resend until answered while the server is SIGKILLed and restarted: every
    acknowledged event is stored, none twice, and the store holds every key sent."""
    url = (
        str(tmp_path / "capture.db")
        if backend == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    server = _Server(url, tmp_path / "server.log")
    server.start()
    try:
        status, opened = _request(server.port, "POST", "/api/capture/sessions", {"name": "SIGKILL"})
        assert status == 201
        source_id, token = opened["source_id"], opened["token"]
        path = f"/api/capture/sessions/{source_id}/events"
        clients, batches = 8, 40
        sent: set[str] = set()
        acknowledged: list[str] = []
        failures = [0]
        lock = threading.Lock()

        def client(number: int) -> None:
            for batch in range(batches):
                size = 1 + (number + batch) % 5  # single events and small batches
                keys = [f"{number}-{batch}-{i}" for i in range(size)]
                events = [
                    {"case_id": f"C{number}", "activity": f"A{i}", "timestamp": WHEN}
                    | {"idempotency_key": key}
                    for i, key in enumerate(keys)
                ]
                with lock:
                    sent.update(keys)
                while True:  # resend the same batch until it is answered
                    status, _body = _request(server.port, "POST", path, {"events": events}, token)
                    if status in (200, 201):
                        break
                    assert status in (0, 503), (status, _body)
                    with lock:
                        failures[0] += 1
                    time.sleep(0.02)
                with lock:
                    acknowledged.extend(keys)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        total = sum(1 + (n + b) % 5 for n in range(clients) for b in range(batches))
        while len(acknowledged) < total // 3:
            time.sleep(0.002)
        server.kill()
        with lock:
            before_kill = set(acknowledged)
        assert 0 < len(before_kill) < total
        # While the server is down every acknowledged event must already be durable.
        assert before_kill <= set(_stored_keys(url, source_id))
        server.start()  # on the same port and store
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
    finally:
        server.stop()
    stored = _stored_keys(url, source_id)
    assert failures[0] > 0  # clients did meet the dead server
    assert len(stored) == len(set(stored))  # none doubled
    assert set(acknowledged) <= set(stored)  # none lost
    assert len(stored) == len(sent) == total  # every distinct key sent, once
