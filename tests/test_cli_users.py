"""``knelpunt users ...`` and ``knelpunt audit``: passwords never on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt import access
from knelpunt.cli import app

runner = CliRunner()
PASSWORD = "correct horse battery"


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "k.db")


def test_add_list_set_role_passwd_remove(store: str) -> None:
    """A user is added with the password from standard input, changed and removed, and
    every step is in the audit log with who did it."""
    added = runner.invoke(
        app,
        ["users", "add", "anna", "--role", "analyst", "--store", store, "--password-stdin",
         "--by", "root"],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Added anna (analyst)" in added.output
    assert PASSWORD not in added.output
    listed = runner.invoke(app, ["users", "list", "--store", store, "--json"])
    assert [(u["name"], u["role"]) for u in json.loads(listed.output)] == [("anna", "analyst")]
    changed = runner.invoke(app, ["users", "set-role", "anna", "admin", "--store", store])
    assert changed.exit_code == 0, changed.output
    renewed = runner.invoke(
        app,
        ["users", "passwd", "anna", "--store", store, "--password-stdin"],
        input="another long phrase\n",
    )
    assert renewed.exit_code == 0, renewed.output
    with kp.open_store(store) as opened:
        assert access.authenticate(opened, "anna", "another long phrase").role == "admin"
    removed = runner.invoke(app, ["users", "remove", "anna", "--store", store, "--yes"])
    assert removed.exit_code == 0, removed.output
    audit = runner.invoke(app, ["audit", "--store", store, "--json"])
    entries = json.loads(audit.output)
    assert [e["action"] for e in entries] == [
        "user_add",
        "user_role",
        "user_password",
        "login",
        "user_remove",
    ]
    assert entries[0]["actor"] == "root"
    assert entries[0]["details"] == {"role": "analyst"}
    assert all(PASSWORD not in json.dumps(e) for e in entries)


def test_the_password_is_asked_twice_when_typed(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --password-stdin the password is asked at a hidden prompt, twice; two
    different answers change nothing."""
    answers = iter([PASSWORD, PASSWORD, PASSWORD, "something else entirely"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert runner.invoke(app, ["users", "add", "bob", "--store", store]).exit_code == 0
    refused = runner.invoke(app, ["users", "passwd", "bob", "--store", store])
    assert refused.exit_code == 2
    assert "differ" in refused.output
    with kp.open_store(store) as opened:
        assert [e.action for e in opened.audit_log()] == ["user_add"]


@pytest.mark.parametrize(
    ("args", "given", "message"),
    [
        (["users", "add", "anna", "--role", "boss"], PASSWORD, "Unknown role 'boss'"),
        (["users", "add", "anna"], "short", "at least 12"),
        (["users", "set-role", "nobody", "admin"], "", "No user 'nobody'"),
        (["users", "passwd", "nobody"], PASSWORD, "No user 'nobody'"),
    ],
)
def test_mistakes_say_what_to_do(store: str, args: list[str], given: str, message: str) -> None:
    """A bad role, short password or unknown user exits 3 with the fix in the message."""
    stdin = ["--password-stdin"] if args[1] in ("add", "passwd") else []
    result = runner.invoke(app, [*args, "--store", store, *stdin], input=given + "\n")
    assert result.exit_code == 3, result.output
    assert message in " ".join(result.output.split())


def test_audit_filters(store: str) -> None:
    """'knelpunt audit' filters by action and actor and shows the newest N."""
    with kp.open_store(store) as opened:
        access.add_user(opened, "anna", PASSWORD, role="viewer", by="root")
        for _ in range(2):
            with pytest.raises(kp.KnelpuntError):
                access.authenticate(opened, "anna", "wrong password!", address="10.0.0.7")
    failed = runner.invoke(app, ["audit", "--store", store, "--action", "login_failed", "--json"])
    assert [(e["actor"], e["address"]) for e in json.loads(failed.output)] == [
        ("anna", "10.0.0.7"),
        ("anna", "10.0.0.7"),
    ]
    newest = runner.invoke(app, ["audit", "--store", store, "--limit", "1", "--json"])
    assert [e["action"] for e in json.loads(newest.output)] == ["login_failed"]
    shown = runner.invoke(app, ["audit", "--store", store, "--actor", "root"])
    assert "user_add" in shown.output
    assert "login_failed" not in shown.output


def test_recordings_and_exports_on_the_command_line_are_audited(store: str, tmp_path: Path) -> None:
    """Who recorded or exported what from the command line is in the audit log too (a
    second recording of the same file adds nothing, and no entry)."""
    from knelpunt.testing import make_log

    log = tmp_path / "zaken.csv"
    make_log(cases=4, seed=1).to_csv(log, index=False)
    for _ in range(2):
        done = runner.invoke(app, ["ingest", str(log), "--store", store, "--no-pseudonymise"])
        assert done.exit_code == 0, done.output
    written = runner.invoke(app, ["export", str(tmp_path / "uit.csv"), "--store", store])
    assert written.exit_code == 0, written.output
    with kp.open_store(store) as opened:
        entries = [(e.action, e.target) for e in opened.audit_log(actions=["record", "export"])]
        actors = {e.actor for e in opened.audit_log(actions=["record", "export"])}
    assert entries == [("record", "1"), ("export", "uit.csv")]
    assert None not in actors


def test_simulations_capture_sessions_and_reports_on_the_command_line_are_audited(
    store: str, tmp_path: Path
) -> None:
    """Who recorded a simulation run, opened a capture session or wrote a report from the
    command line is in the audit log, with what they recorded, opened or reported (a
    run recorded before adds no entry; a session's token is never written there)."""
    short = ["--set", "days=14", "--seed", "3"]
    for _ in range(2):
        ran = runner.invoke(app, ["simulate", "baseline", *short, "--store", store, "--json"])
        assert ran.exit_code == 0, ran.output
    opened_session = runner.invoke(
        app, ["capture", "open", "Oefening 3 maart", "--store", store, "--by", "trainer", "--json"]
    )
    assert opened_session.exit_code == 0, opened_session.output
    token = json.loads(opened_session.output)["token"]
    written = runner.invoke(
        app, ["report", "--store", store, "--source", "1", "--out", str(tmp_path / "r.html")]
    )
    assert written.exit_code == 0, written.output
    with kp.open_store(store) as opened:
        entries = opened.audit_log(actions=["simulate", "capture_open", "export"])
        run = opened.source(1)
    assert [(e.action, e.target) for e in entries] == [
        ("simulate", f"source 1 ({run.name})"),
        ("capture_open", "source 2 (Oefening 3 maart)"),
        ("export", "r.html"),
    ]
    simulated, session, report = entries
    assert simulated.details == {
        "scenario": "baseline",
        "seed": 3,
        "overrides": ["days=14"],
        "events": run.event_count,
        "via": "cli",
    }
    assert simulated.actor not in (None, "trainer")  # the login name
    assert session.actor == "trainer"  # the --by given
    assert token not in json.dumps([e.details for e in entries])
    assert report.details["what"] == "report"
    assert report.details["sources"] == [1]
    assert report.details["events"] == run.event_count
    assert report.actor == simulated.actor
