"""The dashboard's log-in, roles, CSRF protection, cookies, headers and audit, through
Flask's test client.

The security layer is Flask's: it is installed here on a plain Flask server with
stand-ins for Dash's routes, because a second Dash app in this test process would
take the pages' callbacks from the browser tests' app (see tests/dashboards/conftest.py).
The browser tests drive the same layer on the real dashboard.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import flask
import pytest
from flask.testing import FlaskClient

import knelpunt as kp
from dashboards import security
from dashboards.security import Security, capture_authorizer, install, refusal
from knelpunt import access
from knelpunt.access import LoginLimits
from knelpunt.events import EventStore
from knelpunt.simulate.capture import capture_blueprint

PASSWORD = "correct horse battery"
UPDATE = "/_dash-update-component"


@pytest.fixture
def store() -> Iterator[EventStore]:
    with kp.open_store(":memory:") as opened:
        access.add_user(opened, "anna", PASSWORD, role="analyst")
        access.add_user(opened, "bob", PASSWORD, role="viewer")
        yield opened


def make_server(store: EventStore, *, auth: bool, secure_cookies: bool = False) -> flask.Flask:
    """A Flask server with the dashboard's security layer and stand-ins for its routes."""
    server = flask.Flask("knelpunt-test")
    guard = Security(
        store,
        auth=auth,
        secure_cookies=secure_cookies,
        limits=LoginLimits(per_account=3, per_address=10),
    )
    csrf = install(server, guard)

    @server.get("/")
    def page() -> str:
        return "<!DOCTYPE html><p>dashboard</p>"

    @server.post(UPDATE)
    def update() -> Any:
        return {"multi": True, "response": {}}

    @server.get("/probe")
    def probe() -> Any:
        return {"upload": refusal("upload") is not None, "view": refusal("view") is None}

    @server.get("/rapport.html")
    def report() -> Any:
        return flask.Response("<html>report</html>", mimetype="text/html")

    capture = capture_blueprint(store, authorize=capture_authorizer(guard))
    csrf.exempt(capture)
    server.register_blueprint(capture)
    return server


@pytest.fixture
def local(store: EventStore) -> FlaskClient:
    return make_server(store, auth=False).test_client()


@pytest.fixture
def client(store: EventStore) -> FlaskClient:
    return make_server(store, auth=True).test_client()


def cookie(response: Any, name: str) -> SimpleCookie:
    """The Set-Cookie header of ``name``, parsed."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            parsed: SimpleCookie = SimpleCookie()
            parsed.load(header)
            # SimpleCookie drops flags it does not know; keep the raw header too.
            parsed[name]["comment"] = header
            return parsed
    raise AssertionError(f"no cookie {name} in {response.headers.getlist('Set-Cookie')}")


def csrf_token(client: FlaskClient) -> str:
    found = client.get_cookie(security.CSRF_COOKIE)
    assert found is not None
    return found.value


def form_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def log_in(client: FlaskClient, name: str, password: str = PASSWORD, **extra: str) -> Any:
    token = form_token(client)
    return client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token, **extra}
    )


def update(client: FlaskClient, outputs: Any, *, token: str | None = None, **body: Any) -> Any:
    headers = {} if token is None else {"X-CSRFToken": token}
    return client.post(UPDATE, json={"outputs": outputs, **body}, headers=headers)


class TestHeaders:
    """Every response carries the security headers."""

    @pytest.mark.parametrize("path", ["/", "/login", "/api/capture/health", "/nowhere"])
    def test_headers_on_every_response(self, local: FlaskClient, path: str) -> None:
        answer = local.get(path)
        headers = answer.headers
        policy = headers["Content-Security-Policy"]
        scripts = re.search(r"script-src ([^;]+)", policy)
        assert scripts is not None
        assert "'unsafe-inline'" not in scripts.group(1)
        assert "'unsafe-eval'" not in policy
        assert "frame-ancestors 'none'" in policy
        assert "object-src 'none'" in policy
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # plain HTTP

    def test_hsts_over_https(self, local: FlaskClient) -> None:
        answer = local.get("/", base_url="https://localhost")
        assert answer.headers["Strict-Transport-Security"].startswith("max-age=31536000")


class TestLocalMode:
    """Single-user local mode: no log-in, but CSRF protection and only loopback names."""

    def test_pages_open_without_log_in(self, local: FlaskClient) -> None:
        assert local.get("/").status_code == 200
        assert local.get("/login").status_code == 302  # nothing to log in to

    def test_another_host_name_is_refused(self, local: FlaskClient) -> None:
        """A page that reached 127.0.0.1 through DNS rebinding names another host."""
        answer = local.get("/", headers={"Host": "attacker.example:8050"})
        assert answer.status_code == 400
        assert "local mode" in answer.text
        assert local.get("/", headers={"Host": "127.0.0.1:8050"}).status_code == 200

    def test_a_callback_without_the_csrf_token_is_refused(self, local: FlaskClient) -> None:
        local.get("/")
        refused = update(local, {"id": "kpi", "property": "children"})
        assert refused.status_code == 400
        assert "CSRF token" in refused.json["error"]
        wrong = update(local, {"id": "kpi", "property": "children"}, token="forged")
        assert wrong.status_code == 400
        accepted = update(local, {"id": "kpi", "property": "children"}, token=csrf_token(local))
        assert accepted.status_code == 200

    def test_the_csrf_cookie_is_readable_by_the_page_and_strict(self, local: FlaskClient) -> None:
        raw = cookie(local.get("/"), security.CSRF_COOKIE)[security.CSRF_COOKIE]["comment"]
        assert "SameSite=Strict" in raw
        assert "HttpOnly" not in raw  # Dash's renderer reads it to send the header


class TestLogIn:
    """Auth mode: the log-in page, its limits and the session cookie."""

    def test_every_page_and_callback_needs_a_log_in(self, client: FlaskClient) -> None:
        page = client.get("/knelpunten?x=1", headers={"Accept": "text/html"})
        assert page.status_code == 302
        assert page.headers["Location"] == "/login?next=/knelpunten%3Fx%3D1"
        callback = update(client, {"id": "kpi", "property": "children"})
        assert callback.status_code == 401
        assert client.get("/rapport.html").status_code == 401
        assert client.get("/api/capture/health").status_code == 200  # open: no data

    @pytest.mark.parametrize(
        ("asked", "heading", "label"),
        [
            ({}, "Inloggen", "Wachtwoord"),
            ({"lang": "en"}, "Log in", "Password"),
        ],
    )
    def test_the_page_in_dutch_and_english(
        self, client: FlaskClient, asked: dict[str, str], heading: str, label: str
    ) -> None:
        page = client.get("/login", query_string=asked)
        assert page.status_code == 200
        assert f"<h1>{heading}</h1>" in page.text
        assert label in page.text
        assert page.headers["Cache-Control"] == "no-store"
        # The dashboard's language, not the browser's, unless the visitor chooses.
        dutch = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
        assert "<h1>Inloggen</h1>" in dutch.text

    def test_a_log_in_without_the_form_token_is_refused(
        self, client: FlaskClient, store: EventStore
    ) -> None:
        answer = client.post("/login", data={"name": "anna", "password": PASSWORD})
        assert answer.status_code == 400
        assert "verlopen" in answer.text
        assert [e.action for e in store.audit_log(actions=["login"])] == []

    def test_right_and_wrong_passwords(self, client: FlaskClient, store: EventStore) -> None:
        wrong = log_in(client, "anna", "not the password")
        assert wrong.status_code == 401
        assert "Gebruikersnaam of wachtwoord onjuist" in wrong.text
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 302
        right = log_in(client, "anna", next="/knelpunten")
        assert right.status_code == 302
        assert right.headers["Location"] == "/knelpunten"
        assert client.get("/").status_code == 200
        entries = store.audit_log(actions=["login", "login_failed"])
        assert [(e.action, e.actor, e.address) for e in entries] == [
            ("login_failed", "anna", "127.0.0.1"),
            ("login", "anna", "127.0.0.1"),
        ]

    @pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil"])
    def test_no_redirect_to_another_site(self, client: FlaskClient, target: str) -> None:
        answer = log_in(client, "anna", next=target)
        assert answer.headers["Location"] == "/"

    def test_the_attempt_after_the_limit_is_refused(
        self, client: FlaskClient, store: EventStore
    ) -> None:
        """Three failures of one account (this server's limit): the fourth attempt is
        refused with 429, even with the right password."""
        codes = [log_in(client, "anna", f"guess number {i}").status_code for i in range(3)]
        assert codes == [401, 401, 401]
        refused = log_in(client, "anna")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert "Te veel mislukte pogingen" in refused.text
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 302
        assert store.audit_log()[-1].action == "login_refused"

    def test_the_session_cookie(self, store: EventStore) -> None:
        """HttpOnly and SameSite=Lax always; Secure over HTTPS or when configured."""
        for base, configured, secure in (
            ("http://localhost", False, False),
            ("https://localhost", False, True),
            ("http://localhost", True, True),
        ):
            client = make_server(store, auth=True, secure_cookies=configured).test_client()
            token = re.search(
                r'name="csrf_token" value="([^"]+)"', client.get("/login", base_url=base).text
            )
            assert token is not None
            answer = client.post(
                "/login",
                data={"name": "anna", "password": PASSWORD, "csrf_token": token.group(1)},
                base_url=base,
                headers={"Referer": f"{base}/login"},
            )
            assert answer.status_code == 302, (base, answer.text)
            raw = cookie(answer, "knelpunt_session")["knelpunt_session"]["comment"]
            assert "HttpOnly" in raw
            assert "SameSite=Lax" in raw
            assert ("Secure" in raw) is secure, (base, configured)

    def test_log_out_ends_the_session_everywhere(
        self, client: FlaskClient, store: EventStore
    ) -> None:
        log_in(client, "anna")
        kept = client.get_cookie("knelpunt_session")
        assert kept is not None
        # A second device.
        other = client.application.test_client()
        log_in(other, "anna")
        assert other.get("/").status_code == 200
        out = client.post("/logout", data={"csrf_token": csrf_token(client)})
        assert out.status_code == 302
        assert out.headers["Location"] == "/login"
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 302
        # The old cookie, replayed, is no longer accepted; nor is the other device.
        client.set_cookie("knelpunt_session", kept.value)
        assert client.get("/", headers={"Accept": "text/html"}).status_code == 302
        assert other.get("/", headers={"Accept": "text/html"}).status_code == 302
        assert "logout" in [e.action for e in store.audit_log()]

    def test_a_session_lasts_ten_hours_at_most(
        self, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """However busy, a session ends ten hours after its log-in."""
        log_in(client, "anna")
        assert client.get("/").status_code == 200
        later = datetime.now(UTC) + timedelta(hours=10, minutes=1)

        class Later(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> datetime:
                return later

        monkeypatch.setattr(security, "datetime", Later)
        assert client.get("/").status_code == 401

    def test_a_log_out_needs_the_csrf_token(self, client: FlaskClient) -> None:
        log_in(client, "anna")
        assert client.post("/logout").status_code == 400
        assert client.get("/").status_code == 200

    def test_a_new_password_or_removal_ends_the_session(
        self, client: FlaskClient, store: EventStore
    ) -> None:
        log_in(client, "anna")
        assert client.get("/").status_code == 200
        access.set_password(store, "anna", "another long phrase")
        assert client.get("/").status_code == 401
        log_in(client, "bob")
        access.remove_user(store, "bob")
        assert client.get("/").status_code == 401


class TestRoles:
    """What a role may not do is refused on the server, readably."""

    @pytest.mark.parametrize(
        ("output", "permission"),
        [
            ({"id": "upload-result", "property": "children"}, "upload"),
            ({"id": "upload-state", "property": "data"}, "upload"),
            ({"id": "sim-result", "property": "children"}, "simulate"),
            ({"id": "capture-session", "property": "data"}, "capture"),
        ],
    )
    def test_a_viewer_is_refused_what_analysts_may(
        self, client: FlaskClient, output: dict[str, str], permission: str
    ) -> None:
        log_in(client, "bob")
        refused = update(client, [output], token=csrf_token(client))
        assert refused.status_code == 403
        assert "viewer may not do this" in refused.json["error"]
        log_in(client, "anna")
        assert update(client, [output], token=csrf_token(client)).status_code == 200

    def test_a_viewer_may_look_and_export(self, client: FlaskClient, store: EventStore) -> None:
        log_in(client, "bob")
        shown = update(client, {"id": "overview-kpis", "property": "children"},
                       token=csrf_token(client))  # fmt: skip
        assert shown.status_code == 200
        export = update(
            client,
            {"id": {"type": "grid-download", "grid": "cases-variants"}, "property": "data"},
            token=csrf_token(client),
            inputs=[
                {
                    "id": {"type": "grid-rows", "grid": "cases-variants"},
                    "property": "data",
                    "value": {"grid": "cases-variants", "format": "xlsx", "rows": [[1]]},
                }
            ],
        )
        assert export.status_code == 200
        (entry,) = store.audit_log(actions=["export"])
        assert (entry.actor, entry.target, entry.details) == (
            "bob",
            "cases-variants",
            {"format": "xlsx"},
        )
        assert client.get("/rapport.html?lang=en&sources=1").status_code == 200
        report = store.audit_log(actions=["export"])[-1]
        assert (report.target, report.details) == ("rapport.html", {"lang": "en", "sources": "1"})

    def test_the_page_shows_a_refusal_instead_of_its_controls(
        self, client: FlaskClient, store: EventStore
    ) -> None:
        # refusal() reads the user of the request (/probe asks it for bob, then anna).
        log_in(client, "bob")
        assert client.get("/probe").json == {"upload": True, "view": True}
        log_in(client, "anna")
        assert client.get("/probe").json == {"upload": False, "view": True}

    def test_recording_and_simulating_are_audited_when_asked(
        self, client: FlaskClient, store: EventStore
    ) -> None:
        log_in(client, "anna")
        token = csrf_token(client)
        update(
            client,
            [{"id": "upload-result", "property": "children"}],
            token=token,
            changedPropIds=["upload-record.n_clicks"],
            inputs=[{"id": "upload-record", "property": "n_clicks", "value": 1}],
            state=[
                {"id": "upload-state", "property": "data",
                 "value": {"upload": "ab12", "name": "export.csv"}},
                {"id": "upload-mode", "property": "value", "value": "strict"},
            ],
        )  # fmt: skip
        update(
            client,
            [{"id": "sim-result", "property": "children"}],
            token=token,
            changedPropIds=["sim-run.n_clicks"],
            state=[{"id": "sim-scenario", "property": "value", "value": "baseline"}],
        )
        # A poll for the job's result is not a second request to record.
        client.post(
            UPDATE + "?cacheKey=x&job=y",
            json={"outputs": [{"id": "sim-result", "property": "children"}],
                  "changedPropIds": ["sim-run.n_clicks"]},
            headers={"X-CSRFToken": token},
        )  # fmt: skip
        # A forged request (no CSRF token) is refused and writes nothing.
        forged = client.post(
            UPDATE,
            json={"outputs": [{"id": "sim-result", "property": "children"}],
                  "changedPropIds": ["sim-run.n_clicks"]},
        )  # fmt: skip
        assert forged.status_code == 400
        entries = store.audit_log(actions=["record", "simulate"])
        assert [(e.action, e.actor, e.target, dict(e.details)) for e in entries] == [
            ("record", "anna", "export.csv", {"mode": "strict"}),
            ("simulate", "anna", "baseline", {}),
        ]


class TestCaptureOverTheDashboard:
    """Opening a capture session over the dashboard's API needs an analyst's session
    and the CSRF header; events need the session's token only."""

    def test_who_may_open_a_session(self, client: FlaskClient, store: EventStore) -> None:
        anonymous = client.post("/api/capture/sessions", json={"name": "S"})
        assert anonymous.status_code == 401
        log_in(client, "bob")
        viewer = client.post(
            "/api/capture/sessions", json={"name": "S"}, headers={"X-CSRFToken": csrf_token(client)}
        )
        assert viewer.status_code == 403
        log_in(client, "anna")
        no_header = client.post("/api/capture/sessions", json={"name": "S"})
        assert no_header.status_code == 401
        assert "X-CSRFToken" in no_header.json["error"]
        opened = client.post(
            "/api/capture/sessions", json={"name": "S"}, headers={"X-CSRFToken": csrf_token(client)}
        )
        assert opened.status_code == 201
        data = opened.json
        assert store.source(data["source_id"]).created_by == "anna"
        # A tablet without a log-in sends events with the token alone.
        tablet = client.application.test_client()
        sent = tablet.post(
            f"/api/capture/sessions/{data['source_id']}/events",
            json={"case_id": "C1", "activity": "Intake", "idempotency_key": "k1",
                  "timestamp": "2025-03-04T09:15:00+01:00"},
            headers={"Authorization": f"Bearer {data['token']}"},
        )  # fmt: skip
        assert sent.status_code == 201

    def test_a_script_opens_a_session_with_an_analysts_credentials(
        self, client: FlaskClient, store: EventStore
    ) -> None:
        """Basic credentials of an analyst open a session without a dashboard session;
        a viewer's are refused, wrong ones count as failed log-ins."""

        def basic(name: str, secret: str = PASSWORD) -> dict[str, str]:
            encoded = base64.b64encode(f"{name}:{secret}".encode()).decode()
            return {"Authorization": f"Basic {encoded}"}

        script = client.application.test_client()
        viewer = script.post("/api/capture/sessions", json={"name": "S"}, headers=basic("bob"))
        assert viewer.status_code == 403
        wrong = script.post(
            "/api/capture/sessions", json={"name": "S"}, headers=basic("anna", "not it at all")
        )
        assert wrong.status_code == 401
        opened = script.post("/api/capture/sessions", json={"name": "S"}, headers=basic("anna"))
        assert opened.status_code == 201
        assert store.source(opened.json["source_id"]).created_by == "anna"
        assert [e.action for e in store.audit_log()][-4:] == [
            "login",
            "login_failed",
            "login",
            "capture_open",
        ]


class TestStart:
    """How the dashboard starts: local mode on the loopback, auth mode elsewhere."""

    def test_no_serving_beyond_the_loopback_without_log_in(self, tmp_path: Any) -> None:
        from typer.testing import CliRunner

        from dashboards.__main__ import cli

        result = CliRunner().invoke(
            cli, ["--host", "0.0.0.0", "--no-auth", "--store", str(tmp_path / "k.db")]
        )
        assert result.exit_code == 2
        assert "refusing to serve on 0.0.0.0 without log-in" in " ".join(result.output.split())

    def test_the_production_entry_needs_a_shared_secret(self, tmp_path: Any) -> None:
        """dashboards.wsgi (gunicorn's, several workers) refuses to start without
        KNELPUNT_SECRET_KEY; it is always in auth mode."""
        import os
        import subprocess
        import sys

        env = {k: v for k, v in os.environ.items() if k != "KNELPUNT_SECRET_KEY"}
        env["KNELPUNT_STORE"] = str(tmp_path / "k.db")
        code = "import dashboards.wsgi"
        failed = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
        )
        assert failed.returncode != 0
        assert "Set KNELPUNT_SECRET_KEY" in failed.stderr
        env["KNELPUNT_SECRET_KEY"] = "k" * 64
        code = (
            "import dashboards.wsgi as w; s = w.server.config['KNELPUNT_SECURITY'];"
            "print(s.auth, s.secure_cookies)"
        )
        started = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert started.stdout.split() == ["True", "True"]
