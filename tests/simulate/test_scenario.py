"""Scenario files: every shipped one reads; errors name the key, the line and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

import knelpunt as kp
from knelpunt.errors import ScenarioError
from knelpunt.simulate.scenario import SHIPPED_SCENARIOS, apply_overrides

VARIANTS = [s for s in SHIPPED_SCENARIOS if s not in ("baseline", "demo")]


@pytest.mark.parametrize("name", SHIPPED_SCENARIOS)
def test_every_shipped_scenario_reads(name: str) -> None:
    scenario, settings = kp.read_scenario(name)
    assert scenario.name
    assert settings["name"] == scenario.name
    assert "client.waits" in scenario.blockers.enabled()


def test_baseline_has_no_blocker_and_each_variant_plants_one() -> None:
    """Variants switch on exactly one blocker of their own (outage and double
    registration also need registration to have something to block)."""
    baseline, _ = kp.read_scenario("baseline")
    assert baseline.blockers.enabled() == ["client.waits"]
    planted = set()
    for name in VARIANTS:
        scenario, _ = kp.read_scenario(name)
        extra = [b for b in scenario.blockers.enabled() if b != "client.waits"]
        if name in ("outage", "double-registration"):
            extra.remove("system.registration")
        assert len(extra) == 1, (name, extra)
        planted.add(extra[0])
    assert len(planted) == len(VARIANTS) == 12


def test_every_blocker_has_a_switch_that_an_override_turns() -> None:
    baseline, _ = kp.read_scenario("baseline")
    switches = baseline.blockers.switches()
    assert len(switches) == 13
    assert [name for name, on in switches.items() if on] == ["client.waits"]
    turned, _ = kp.read_scenario(
        "baseline",
        overrides=[f"{name}.enabled={'false' if on else 'true'}" for name, on in switches.items()],
    )
    assert turned.blockers.switches() == {name: not on for name, on in switches.items()}


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("team.professionals.generalist=veel", "team → professionals → generalist"),
        ("steering.caseload_cap.cap=-3", "blockers → steering → caseload_cap → cap"),
    ],
)
def test_a_bad_override_is_blamed_not_the_file(override: str, key: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        kp.read_scenario("baseline", overrides=["days=30", override])
    message = str(caught.value)
    assert message.startswith(f"the override {override!r}: {key}: ")
    assert "baseline.yaml" not in message


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_key_names_line_and_allowed_keys(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "extends: baseline\nblockers:\n  steering:\n    caseload_cap: {enabled: true, kap: 3}\n",
    )
    with pytest.raises(ScenarioError) as caught:
        kp.read_scenario(path)
    message = str(caught.value)
    assert str(path) in message
    assert "line 4" in message
    assert "blockers → steering → caseload_cap → kap: unknown key" in message
    assert "Allowed here: enabled, cap" in message


def test_bad_values_say_what_is_allowed(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "extends: baseline\n"
        "arrivals: {per_week: lots}\n"
        "cases: {schemes: {Wmo: 1, Bijstand: 1}}\n"
        "steps: {intake: {median: 2h, p90: 1h}, plan: {median: 90, p90: 2h}}\n",
    )
    with pytest.raises(ScenarioError) as caught:
        kp.read_scenario(path)
    message = str(caught.value)
    assert "arrivals → per_week: Input should be a valid number" in message
    assert "'lots'" in message
    assert "'Wmo', 'Jeugdwet' or 'Participatiewet'" in message
    assert "p90 is below the median" in message
    assert "write a duration with its unit, e.g. '90h'" in message


def test_missing_section_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nstart: 2025-01-06\ndays: 10\n")
    with pytest.raises(ScenarioError, match="cases: missing; add it"):
        kp.read_scenario(path)


def test_extends_a_file_next_to_it_and_refuses_a_circle(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="circle"):
        kp.read_scenario(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("extends: baseline\ndays: 30\n", encoding="utf-8")
    (tmp_path / "d.yaml").write_text("extends: c.yaml\nseed: 9\n", encoding="utf-8")
    scenario, _ = kp.read_scenario(tmp_path / "d.yaml")
    assert (scenario.days, scenario.seed, scenario.arrivals.per_week) == (30, 9, 55)


def test_quoted_values_stay_text(tmp_path: Path) -> None:
    path = _write(tmp_path, 'extends: baseline\nname: "2025"\n')
    scenario, _ = kp.read_scenario(path)
    assert scenario.name == "2025"


def test_unknown_scenario_lists_the_shipped_ones() -> None:
    with pytest.raises(ScenarioError, match=r"not a file and not a shipped scenario .*baseline"):
        kp.read_scenario("basline")


def test_overrides_switch_and_tune_blockers() -> None:
    scenario, settings = kp.read_scenario(
        "team-meeting",
        overrides=[
            "steering.caseload_cap=25",
            "protocol.team_meeting=off",
            "system.nightly_batch=on",
            "arrivals.per_week=90",
            "blockers.protocol.rework.probability=0.5",
        ],
    )
    blockers = scenario.blockers
    assert (blockers.steering.caseload_cap.enabled, blockers.steering.caseload_cap.cap) == (
        True,
        25,
    )
    assert not blockers.protocol.team_meeting.enabled
    assert blockers.system.nightly_batch.enabled
    assert not blockers.protocol.rework.enabled
    assert blockers.protocol.rework.probability == 0.5
    assert scenario.arrivals.per_week == 90
    assert settings["blockers"]["steering"]["caseload_cap"] == {"enabled": True, "cap": 25}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("steering.caseload_cap", "has no '='"),
        ("steering.kaseload=3", "names no blocker. Blockers: client.waits"),
        ("protocol.second_assessment=3", "takes on or off"),
        ("arrivals.per_week=-1", "arrivals → per_week: Input should be greater than 0"),
        ("colour=blue", "colour: unknown key"),
    ],
)
def test_bad_overrides_are_refused(override: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        kp.read_scenario("baseline", overrides=[override])


def test_overrides_leave_the_input_alone() -> None:
    data = {"blockers": {"steering": {}}}
    apply_overrides(data, ["steering.caseload_cap=3"])
    assert data == {"blockers": {"steering": {}}}
