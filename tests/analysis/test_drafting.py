"""Profile drafts: suggested classes from names and evidence, the YAML, and the command."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt.cli import app
from knelpunt.profile import ACTIVITY_CLASSES
from tests.conftest import shared_log

SHORT = ["days=120"]


@pytest.fixture(scope="module")
def demo() -> tuple[kp.EventTable, dict[str, str]]:
    with kp.open_store(":memory:") as store:
        kp.simulate_scenario(store, "demo", seed=5, overrides=SHORT)
        return kp.load_events(store), kp.read_resource_groups(store)


def test_the_draft_mostly_agrees_with_the_hand_made_profile(
    demo: tuple[kp.EventTable, dict[str, str]],
) -> None:
    events, groups = demo
    draft = kp.draft_profile(events, groups=groups)
    suggested = dict(zip(draft.activities["activity"], draft.activities["suggested"], strict=True))
    expert = kp.read_profile("sociaal-domein")
    agree = [name for name, kind in suggested.items() if expert.classify_activity(name) == kind]
    assert len(agree) >= 0.85 * len(suggested)
    assert suggested["Multidisciplinair overleg"] == "protocol"
    assert suggested["Registreren melding"] == "system"
    assert suggested["Budgetakkoord"] == "steering"
    assert suggested["Toewijzing retour"] == "client"  # carried by a system, still the provider's
    rules = draft.activities.set_index("activity")["rule"]
    assert rules["Melding ontvangen"] == "nobody"
    assert set(draft.activities["suggested"]) <= set(ACTIVITY_CLASSES)
    assert draft.systems == ("iWmo-berichtenverkeer",)
    assert set(draft.teams) == {"generalist", "jeugd", "manager", "schulden", "teamleider"}
    assert draft.hours is not None
    assert not draft.hours.hours[5]
    assert not draft.hours.hours[6]


def test_without_telling_names_the_evidence_decides(
    demo: tuple[kp.EventTable, dict[str, str]],
) -> None:
    events, _ = demo
    # Activities and resources renamed to codes: only the data can speak.
    activities = {name: f"A{i:02d}" for i, name in enumerate(events.activities)}
    resources = {name: f"R{i:02d}" for i, name in enumerate(events.resources)}
    coded = kp.EventTable(
        **{
            **{k: getattr(events, k) for k in events.__dataclass_fields__},
            "activities": pd.Series(events.activities).map(activities).to_numpy(dtype=object),
            "resources": pd.Series(events.resources).map(resources).to_numpy(dtype=object),
        }
    )
    draft = kp.draft_profile(coded)
    found = draft.activities.set_index("activity")
    meeting = found.loc[activities["Multidisciplinair overleg"]]
    assert (meeting["suggested"], meeting["rule"]) == ("protocol", "meeting")
    assert "Tuesday" in meeting["reason_en"]
    assert "dinsdag" in meeting["reason_nl"]
    message = found.loc[activities["Toewijzing verzenden"]]
    assert (message["suggested"], message["rule"]) == ("system", "system resource")
    assert resources["iWmo-berichtenverkeer"] in draft.systems
    assert found.loc[activities["Melding ontvangen"], "suggested"] == "client"
    assert found.loc[activities["Intake"], "rule"] == "default"


def test_the_base_profile_wins_and_the_yaml_reads_back(
    demo: tuple[kp.EventTable, dict[str, str]], tmp_path: Path
) -> None:
    events, groups = demo
    based = kp.draft_profile(events, base="sociaal-domein", groups=groups)
    assert (based.activities["rule"] == "base").all()
    draft = kp.draft_profile(events, groups=groups)
    path = tmp_path / "draft.yaml"
    path.write_text(draft.to_yaml(lang="nl"), encoding="utf-8")
    profile = kp.read_profile(path)
    for row in draft.activities.itertuples(index=False):
        assert profile.classify_activity(str(row.activity)) == row.suggested
    assert profile.groups("team")["Generalist 01"] == "generalist"
    assert profile.calendar == draft.base.calendar
    assert draft.to_profile().classify_activity("Multidisciplinair overleg") == "protocol"


def test_odd_names_survive_the_yaml(tmp_path: Path) -> None:
    names = ['Akkoord: "ja"', "no", "0123", "# niet", "Wachten op cliënt"]
    log = pd.DataFrame(
        {
            "case:concept:name": [str(i) for i in range(len(names))],
            "concept:name": names,
            "time:timestamp": pd.date_range(
                "2025-01-06 09:00", periods=len(names), freq="h", tz="UTC"
            ),
            "org:resource": ["Anouk"] * len(names),
        }
    )
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, log, name="odd")
        draft = kp.draft_profile(kp.load_events(store))
    path = tmp_path / "odd.yaml"
    path.write_text(draft.to_yaml(), encoding="utf-8")
    profile = kp.read_profile(path)
    assert {profile.classify_activity(name) for name in names} <= set(ACTIVITY_CLASSES)
    assert profile.classify_activity("Wachten op cliënt") == "client"
    assert profile.classify_activity('Akkoord: "ja"') == "steering"


def test_a_real_log_gets_a_class_for_every_activity() -> None:
    path = shared_log("receipt.xes.gz")
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, path)
        events = kp.load_events(store)
    draft = kp.draft_profile(events)
    assert len(draft.activities) == len(events.activities)
    assert draft.activities["suggested"].isin(ACTIVITY_CLASSES).all()
    assert (draft.activities["reason_en"].str.len() > 0).all()


def test_the_command_writes_a_draft_that_checks(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    runner = CliRunner()
    made = runner.invoke(app, ["simulate", "team-meeting", "--store", store, "--set", "days=40"])
    assert made.exit_code == 0, made.output
    out = tmp_path / "draft.yaml"
    done = runner.invoke(
        app, ["profile", "draft", "--store", store, "--out", str(out), "--lang", "en"]
    )
    assert done.exit_code == 0, done.output
    assert "Wrote" in done.output
    assert "the name says so" in done.output
    checked = runner.invoke(app, ["profile", "check", str(out), "--store", store])
    assert checked.exit_code == 0, checked.output
    assert "classified" in checked.output
    again = runner.invoke(app, ["profile", "draft", "--store", store, "--out", str(out)])
    assert again.exit_code == 2
    assert "--force" in again.output
    forced = runner.invoke(
        app, ["profile", "draft", "--store", store, "--out", str(out), "--force", "--json"]
    )
    assert forced.exit_code == 0, forced.output
    payload = json.loads(forced.output)
    assert payload["written"] == str(out)
    assert {row["activity"] for row in payload["activities"]} >= {"Multidisciplinair overleg"}
    printed = runner.invoke(app, ["profile", "draft", "--store", store])
    assert printed.output.startswith("# knelpunt profile: drafted from")
    missing = runner.invoke(app, ["profile", "draft", "--store", str(tmp_path / "none.db")])
    assert missing.exit_code == 4
    assert "record a log first" in missing.output
