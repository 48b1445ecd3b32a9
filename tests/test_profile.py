"""Profiles: the shipped ones, inheritance of hours, team and personal hours in working
time (hand-computed), errors that name the line, and the commands that use them."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt.cli import app
from knelpunt.errors import ProfileError
from knelpunt.events.model import Event, NewSource
from knelpunt.mining.instances import pair_instances
from knelpunt.profile import SHIPPED_PROFILES, Profile, check_profile, read_profile
from knelpunt.testing import make_demo_csv
from knelpunt.worktime import read_calendar

AMS = ZoneInfo("Europe/Amsterdam")
runner = CliRunner()

EXAMPLE = """\
name: Sociaal team Noord
calendar:
  hours: {mon: "08:30-17:00", tue: "08:30-17:00", wed: "08:30-17:00",
          thu: "08:30-17:00", fri: "08:30-12:30"}
  holidays: NL
  closed: [2024-06-14]
teams:
  Wmo-loket:
    members: [Anouk, Bram]
    calendar:
      hours: {mon: "09:00-12:00", wed: "09:00-12:00"}
  Sociaal team:
    members: [Chris, Dewi, "0123", no]
roles:
  consulent: {members: [Anouk, Bram]}
  generalist: {members: [Chris, Dewi]}
resources:
  Dewi: {calendar: {hours: {mon: "09:00-17:00", tue: "09:00-17:00"}}}
  Bram: {calendar: {hours: {wed: "09:00-10:00"}}}
activities:
  protocol: [Akkoord teamleider, "Overdracht *"]
  system: ["Registreren *"]
  work: [Gesprek, "* plan"]
  steering: ["Akkoord *"]
protocol: protocol.bpmn
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    (tmp_path / "protocol.bpmn").write_bytes(
        (Path(__file__).parent / "data" / "running_example_protocol.bpmn").read_bytes()
    )
    path = tmp_path / "profile.yaml"
    path.write_text(EXAMPLE, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", SHIPPED_PROFILES)
def test_shipped_profiles_load(name: str) -> None:
    profile = read_profile(name)
    opens = (510, 1020) if name == "sociaal-domein" else (540, 1020)
    assert profile.calendar.hours == ((opens,),) * 5 + ((), ())
    assert profile.calendar.holidays == "NL"
    assert profile.calendar.timezone == "Europe/Amsterdam"
    assert profile.path is not None
    assert profile.path.name == f"{name}.yaml"


def test_the_dutch_profile_classifies_the_demo_log(tmp_path: Path) -> None:
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, make_demo_csv(tmp_path / "demo.csv"), name="demo", privacy="off")
        events = kp.load_events(store)
    found = check_profile(
        read_profile("sociaal-domein"), activities=events.activities, resources=[]
    )
    assert found.unclassified == ()
    assert dict(found.classes)["Keukentafelgesprek"] == "work"


def test_teams_roles_and_names_are_read_as_written(example: Path) -> None:
    profile = read_profile(example)
    assert profile.name == "Sociaal team Noord"
    assert profile.groups("team") == {
        "Anouk": "Wmo-loket",
        "Bram": "Wmo-loket",
        "0123": "Sociaal team",  # not the number 83
        "Chris": "Sociaal team",
        "Dewi": "Sociaal team",
        "no": "Sociaal team",  # not False
    }
    assert profile.groups("role")["Dewi"] == "generalist"
    assert profile.protocol == example.parent / "protocol.bpmn"
    assert profile.calendar.closed == frozenset({date(2024, 6, 14)})


def test_hours_inherit_what_they_do_not_name(example: Path) -> None:
    profile = read_profile(example)
    loket = next(t for t in profile.teams if t.name == "Wmo-loket").calendar
    assert loket is not None
    assert loket.hours[0] == ((540, 720),)
    assert loket.hours[1] == ()
    assert loket.holidays == "NL"
    assert loket.closed == profile.calendar.closed
    own = dict(profile.schedules)
    # Dewi is in a team without own hours: her hours lie over the organisation's.
    assert own["Dewi"].hours[0] == ((540, 1020),)
    assert own["Dewi"].hours[2] == ()
    # Hours name a whole week: Bram's replace his team's (no Monday), while the
    # closed days still come from the team, and the team's from the organisation.
    assert own["Bram"].hours[2] == ((540, 600),)
    assert own["Bram"].hours[0] == ()
    assert own["Bram"].closed == frozenset({date(2024, 6, 14)})
    hours = profile.resource_calendars(["Anouk", "Bram", "Chris", "Dewi", "Eva"])
    assert hours == {"Anouk": loket, "Bram": own["Bram"], "Dewi": own["Dewi"]}
    # People the profile does not list get their team's hours through the log's groups.
    hours = profile.resource_calendars(["Eva"], groups={"Eva": "Wmo-loket"})
    assert hours == {"Eva": loket}
    # The profile's own membership wins over the log's.
    assert profile.resource_calendars(["Chris"], groups={"Chris": "Wmo-loket"}) == {}


def test_classes_exact_first_then_one_pattern(example: Path) -> None:
    profile = read_profile(example)
    assert profile.classify_activity("akkoord TEAMLEIDER") == "protocol"  # exact beats pattern
    assert profile.classify_activity("Akkoord budget") == "steering"
    assert profile.classify_activity("Registreren melding") == "system"
    assert profile.classify_activity("Gesprek") == "work"
    assert profile.classify_activity("Overdracht plan") is None  # two classes match
    assert profile.classify_activity("Koffie") is None


def _table(rows: list[tuple[str, datetime, str, str]]) -> kp.EventTable:
    with kp.open_store(":memory:") as store:
        source = store.create_source(NewSource(name="hand", kind="capture")).source_id
        store.append(
            source,
            [Event("z", a, t, lifecycle=cycle, resource=r) for a, t, cycle, r in rows],
        )
        return kp.load_events(store)


def test_personal_hours_in_processing_time_by_hand(example: Path) -> None:
    """Dewi (Mon and Tue 09-17) starts a talk on Tuesday 11 June 2024 at 16:00 and
    completes it the next Monday at 10:00. In her hours that is 1 h + 1 h; in the
    organisation's it is Tue 16-17, Wed and Thu 08:30-17:00, Friday 14 June closed,
    Mon 08:30-10:00: 1 + 8.5 + 8.5 + 1.5 = 19.5 h. The wait before it (from the
    melding on Friday 7 June 12:00) counts in the organisation's hours: Fri 12:00-12:30,
    Mon 08:30-17:00, Tue 08:30-16:00: 0.5 + 8.5 + 7.5 = 16.5 h."""
    profile = read_profile(example)
    rows = [
        ("Melding", datetime(2024, 6, 7, 12, 0, tzinfo=AMS), "complete", "Anouk"),
        ("Gesprek", datetime(2024, 6, 11, 16, 0, tzinfo=AMS), "start", "Dewi"),
        ("Gesprek", datetime(2024, 6, 17, 10, 0, tzinfo=AMS), "complete", "Dewi"),
    ]
    table = _table(rows)
    own = profile.resource_calendars(table.resources.tolist())
    found = pair_instances(table, calendar=profile.calendar, resource_calendars=own)
    talk = found.instances.set_index("activity").loc["Gesprek"]
    assert talk["processing_work_s"] == 2 * 3600
    assert talk["waiting_work_s"] == 16.5 * 3600
    assert any("own hours (Anouk, Dewi)" in note for note in found.notes)
    general = pair_instances(table, calendar=profile.calendar)
    assert general.instances.set_index("activity").loc["Gesprek", "processing_work_s"] == (
        19.5 * 3600
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "name: x\nteams:\n  A:\n    calendar:\n      hours: {mon: 9-17}\n",
            ", line 4, column 5: teams → A → calendar: Cannot read the working hours '9-17'",
        ),
        (
            "teams:\n  A: {members: [an]}\n  B:\n    members: [bo, an]\n",
            ", line 4, column 5: teams → B → members: 'an' is also in the team 'A'",
        ),
        ("name: x\ncalender: {}\n", ", line 2, column 1: calender: unknown section"),
        (
            "teams:\n  A: {leden: [an]}\n",
            ", line 2, column 7: teams → A → leden: unknown key; use members, calendar",
        ),
        ("name: [unclosed\n", ", line 2, column 1: not valid YAML"),
        (
            "activities:\n  work: [Gesprek]\n  system: [gesprek]\n",
            ", line 3, column 3: activities → system: 'gesprek' is also listed under 'work'",
        ),
        ("protocol: missing.bpmn\n", ", line 1, column 1: protocol: the protocol model"),
        ("roles:\n  consulent: [an]\n", ", line 2, column 3: roles → consulent: expected a"),
        ("- just\n- a list\n", ": a profile is a mapping"),
        (
            "teams:\n  A: {members: [an]}\n  A: {members: [bo]}\n",
            ", line 3, column 3: 'A' is given twice here",
        ),
        (
            "calendar:\n  hours: {}\n",
            ", line 1, column 1: calendar: these hours are never open",
        ),
        (
            "privacy:\n  columns:\n    BSN: hash\n",
            ", line 3, column 5: privacy → columns → BSN: 'hash' is not a choice; write drop",
        ),
        (
            "privacy:\n  pseudonymise: maybe\n",
            ", line 2, column 3: privacy → pseudonymise: 'maybe' is not yes or no",
        ),
        (
            "privacy:\n  drop: [BSN]\n",
            ", line 2, column 3: privacy → drop: unknown key; use pseudonymise, columns",
        ),
    ],
)
def test_errors_name_the_line_and_say_what_to_do(tmp_path: Path, text: str, said: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        read_profile(path)
    assert str(caught.value).startswith(f"{path}{said}"), str(caught.value)


def test_a_missing_profile_lists_the_shipped_ones(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"no such profile.*generiek, sociaal-domein"):
        read_profile(tmp_path / "nothing.yaml")


def test_empty_sections_and_the_default_calendar(tmp_path: Path) -> None:
    """null, ~ or nothing leaves a section empty; without a calendar the organisation
    works Monday to Friday 09:00-17:00, with Dutch holidays."""
    path = tmp_path / "p.yaml"
    path.write_text(
        "teams: null\nroles:\nresources: ~\nactivities:\n  work: ~\n"
        "  system: ['Besluit [Wmo]', 'Klaar?']\n",
        encoding="utf-8",
    )
    profile = read_profile(path)
    assert profile.teams == ()
    assert profile.roles == ()
    assert profile.calendar.hours == ((((540, 1020),),) * 5) + ((), ())
    assert profile.calendar.holidays == "NL"
    # Names are compared exactly first, so brackets and ? in a name still match it.
    assert profile.classify_activity("Besluit [Wmo]") == "system"
    assert profile.classify_activity("Klaar?") == "system"
    path.write_text("calendar:\n  holidays: no\n", encoding="utf-8")
    assert read_profile(path).calendar.holidays is None
    assert read_calendar(path).holidays is None  # one reading of the same file


def test_from_mapping_without_a_file() -> None:
    profile = Profile.from_mapping({"calendar": {"hours": {"sat": "10:00-14:00"}}})
    assert profile.calendar.hours[5] == ((600, 840),)
    assert profile.path is None


def _store_with_groups(tmp_path: Path) -> str:
    """A log where Eva (not in the profile) carries org:group Wmo-loket."""
    start = datetime(2024, 6, 10, 9, 0, tzinfo=AMS)  # Monday
    log = pd.DataFrame(
        {
            "case:concept:name": ["1", "1", "1"],
            "concept:name": ["Melding", "Gesprek", "Gesprek"],
            "time:timestamp": [start, start + timedelta(days=1), start + timedelta(days=2)],
            "lifecycle:transition": ["complete", "start", "complete"],
            "org:resource": ["Anouk", "Eva", "Eva"],
            "org:group": ["Wmo-loket", "Wmo-loket", "Wmo-loket"],
        }
    )
    store = str(tmp_path / "k.db")
    with kp.open_store(store) as opened:
        kp.ingest_log(opened, log, name="groups", privacy="off")
    return store


def test_activities_command_uses_team_hours_from_the_log(example: Path, tmp_path: Path) -> None:
    """Eva's talk runs Tuesday 09:00 to Wednesday 09:00: in the Wmo-loket's hours
    (Mon and Wed 09-12) that is no working time at all; in office hours
    (--working-time, 09:00-17:00), 8 h."""
    store = _store_with_groups(tmp_path)
    result = runner.invoke(
        app, ["activities", "--store", store, "--profile", str(example), "--json"]
    )
    assert result.exit_code == 0, result.output
    found = {row["activity"]: row for row in json.loads(result.stdout)["activities"]}
    assert found["Gesprek"]["processing_work_median_s"] == 0
    plain = runner.invoke(app, ["activities", "--store", store, "--working-time", "--json"])
    rows = {row["activity"]: row for row in json.loads(plain.stdout)["activities"]}
    assert rows["Gesprek"]["processing_work_median_s"] == 8 * 3600
    both = runner.invoke(
        app, ["map", "--store", store, "--profile", str(example), "--calendar", str(example)]
    )
    assert both.exit_code == 2  # a usage mistake
    assert "not both" in both.stderr


def test_profile_check_command(example: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["profile", "check", str(example)])
    assert result.exit_code == 0, result.output
    assert "The profile is valid." in result.stdout
    assert "Wmo-loket" in result.stdout
    store = _store_with_groups(tmp_path)
    fitted = runner.invoke(app, ["profile", "check", str(example), "--store", store, "--json"])
    fit = json.loads(fitted.stdout)["fit"]
    assert fit["unclassified"] == ["Melding"]
    assert fit["without_team"] == ["Eva"]
    assert "Chris" in fit["unseen_people"]
    assert "Akkoord teamleider" in fit["unseen_activities"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("teams:\n  A: {members: [an], leden: [bo]}\n", encoding="utf-8")
    failed = runner.invoke(app, ["profile", "check", str(bad)])
    assert failed.exit_code == 3
    assert "line 2" in failed.stderr


def test_handovers_by_team_and_conformance_by_profile(example: Path, tmp_path: Path) -> None:
    store = _store_with_groups(tmp_path)
    people = runner.invoke(app, ["handovers", "--store", store, "--json"])
    assert [(e["from"], e["to"]) for e in json.loads(people.stdout)["handovers"]] == [
        ("Anouk", "Eva")
    ]
    teams = runner.invoke(app, ["handovers", "--store", store, "--by", "team", "--json"])
    assert json.loads(teams.stdout)["handovers"] == []  # all in Wmo-loket, from org:group
    roles = runner.invoke(app, ["handovers", "--store", store, "--by", "role"])
    assert roles.exit_code == 3
    assert "No roles known" in roles.stderr
    by_profile = runner.invoke(
        app, ["handovers", "--store", store, "--by", "role", "--profile", str(example), "--json"]
    )
    edges = json.loads(by_profile.stdout)["handovers"]
    assert [(e["from"], e["to"]) for e in edges] == [("consulent", "(other)")]
    with kp.open_store(store) as opened:  # the profile's protocol: Melding, then Gesprek
        kp.export_model(kp.discover_model(kp.load_events(opened)), example.parent / "protocol.bpmn")
    checked = runner.invoke(
        app, ["conformance", "--store", store, "--profile", str(example), "--json"]
    )
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["model"].endswith("protocol.bpmn")
    assert json.loads(checked.stdout)["fitness"] == 1.0
    neither = runner.invoke(app, ["conformance", "--store", store])
    assert neither.exit_code == 2
    assert "which protocol?" in neither.stderr
    missing = runner.invoke(
        app, ["profile", "check", str(example), "--store", str(tmp_path / "none.db")]
    )
    assert missing.exit_code == 4
    assert "No store at" in missing.stderr
    assert not (tmp_path / "none.db").exists()


def test_the_privacy_section(tmp_path: Path) -> None:
    """Choices per column, read as written; without the section, the defaults (on)."""
    path = tmp_path / "p.yaml"
    path.write_text(
        "privacy:\n  pseudonymise: ja\n  columns: {BSN: pseudonymise, Wijk: keep, '0123': drop}\n",
        encoding="utf-8",
    )
    privacy = read_profile(path).privacy
    assert privacy.pseudonymise
    assert dict(privacy.columns) == {"BSN": "pseudonymise", "Wijk": "keep", "0123": "drop"}
    path.write_text("privacy:\n  pseudonymise: no\n", encoding="utf-8")
    assert not read_profile(path).privacy.pseudonymise
    default = read_profile("generiek").privacy
    assert default.pseudonymise
    assert dict(default.columns) == {}
