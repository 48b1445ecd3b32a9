"""Blockers: attribution, ranking, evidence and the command, on planted-blocker simulations."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt.analysis.blockers import CATEGORIES, batch_patterns
from knelpunt.cli import app

# Four months are enough for each planted blocker to show, and quick.
SHORT = ["days=120"]
ORGANISATION = ("protocol", "system", "steering")


def blockers_of(scenario: str, seed: int = 4) -> kp.Blockers:
    with kp.open_store(":memory:") as store:
        kp.simulate_scenario(store, scenario, seed=seed, overrides=SHORT)
        events = kp.load_events(store)
    return kp.find_blockers(events, profile="sociaal-domein")


@pytest.fixture(scope="module")
def meeting() -> kp.Blockers:
    return blockers_of("team-meeting")


def test_the_weekly_meeting_is_the_costliest_blocker_of_the_organisation(
    meeting: kp.Blockers,
) -> None:
    ours = [b for b in meeting.blockers if b.category in ORGANISATION]
    first = ours[0]
    assert (first.category, first.activity) == ("protocol", "Multidisciplinair overleg")
    assert "dinsdag" in first.evidence["nl"]
    assert "Tuesday" in first.evidence["en"]
    assert "werkdagen" in first.evidence["nl"]
    assert first.causes["batching"] > 0.8 * first.waiting_s


def test_costs_add_up_to_the_split_and_gains_are_cycle_time(meeting: kp.Blockers) -> None:
    frame = meeting.to_frame()
    assert list(frame["rank"]) == list(range(1, len(frame) + 1))
    assert frame["waiting_h"].is_monotonic_decreasing
    total = meeting.split.instances["waiting_s"].sum() / 3600
    # Blockers below 0.1% of all waiting are left out, so the ranked ones cover nearly all.
    assert 0.97 * total <= frame["waiting_h"].sum() <= total * (1 + 1e-9)
    for found in meeting.blockers:
        assert found.cases == len(found.case_ids)
        assert 0 <= found.cycle_time_without_s <= found.cycle_time_s
        assert found.waiting_work_s <= found.waiting_s + 1e-6
        assert sum(found.causes.values()) == pytest.approx(found.waiting_s)
    by_category = meeting.by_category()
    assert list(by_category["category"]) == list(CATEGORIES)
    assert by_category["waiting_h"].sum() == pytest.approx(frame["waiting_h"].sum())


def test_the_trend_is_monthly_per_blocker(meeting: kp.Blockers) -> None:
    first = meeting.trend[meeting.trend["rank"] == 1]
    assert len(first) >= 4  # four months and a tail
    assert first["waiting_h"].sum() == pytest.approx(meeting.blockers[0].waiting_s / 3600)
    assert set(first["month"]) <= {f"2025-{m:02d}" for m in range(1, 13)}


@pytest.mark.parametrize(
    ("scenario", "category", "activity"),
    [
        ("second-assessment", "protocol", "Tweede beoordeling"),
        ("registration", "system", "Registreren melding"),
        ("budget-approval", "steering", "Budgetakkoord"),
    ],
)
def test_a_planted_step_is_found_with_its_category(
    scenario: str, category: str, activity: str
) -> None:
    found = blockers_of(scenario)
    hits = [b for b in found.blockers if b.activity == activity]
    assert hits, f"{activity} not among the blockers of {scenario}"
    assert hits[0].category == category


def test_a_handover_between_disciplines_is_protocol_with_the_true_cost() -> None:
    with kp.open_store(":memory:") as store:
        run = kp.simulate_scenario(store, "specialist-handover", seed=4, overrides=SHORT)
        events = kp.load_events(store)
        groups = kp.read_resource_groups(store)
    found = kp.find_blockers(events, profile="sociaal-domein", groups=groups)
    handover = [b for b in found.blockers if b.reason == "handover"]
    assert [(b.category, b.activity) for b in handover] == [("protocol", "Plan opstellen")]
    truth = run.truth
    planted = truth[
        (truth["blocker"] == "protocol.specialist_handover")
        & (truth["activity"] == "Plan opstellen")
    ]
    assert handover[0].waiting_s == pytest.approx(planted["seconds"].sum(), rel=0.05)
    assert handover[0].work_s == 0  # the plan is work all the same; only its wait moved
    assert "andere discipline" in handover[0].evidence["nl"]
    # Without the disciplines, the log cannot show a handover.
    plain = kp.find_blockers(events, profile="sociaal-domein")
    assert not [b for b in plain.blockers if b.reason == "handover"]


def test_without_a_profile_nothing_is_guessed_from_names() -> None:
    with kp.open_store(":memory:") as store:
        kp.simulate_scenario(store, "team-meeting", seed=4, overrides=SHORT)
        events = kp.load_events(store)
    found = kp.find_blockers(events)  # the generic profile classifies no activity
    meeting = [b for b in found.blockers if b.activity == "Multidisciplinair overleg"]
    # Evidence alone: batches on one weekday are a meeting, a protocol.
    assert meeting[0].category == "protocol"
    assert meeting[0].reason == "meeting"
    assert any(b.category == "unclassified" for b in found.blockers)
    assert any("unclassified" in note for note in found.notes)


def test_the_command_ranks_and_explains(tmp_path: Path) -> None:
    store = tmp_path / "k.db"
    runner = CliRunner()
    done = runner.invoke(
        app, ["simulate", "team-meeting", "--store", str(store), "--set", "days=120"]
    )
    assert done.exit_code == 0, done.output
    shown = runner.invoke(
        app, ["blockers", "--store", str(store), "--profile", "sociaal-domein", "--lang", "en"]
    )
    assert shown.exit_code == 0, shown.output
    assert "Multidisciplinair overleg" in shown.output
    assert "weekly meeting" in shown.output
    as_json = runner.invoke(
        app, ["blockers", "--store", str(store), "--profile", "sociaal-domein", "--json"]
    )
    data = json.loads(as_json.output)
    assert data["blockers"][0]["rank"] == 1
    causes = pd.DataFrame(data["waiting_by_cause"])
    assert set(causes["cause"]) >= {"batching", "contention", "extraneous"}
    wrong = runner.invoke(app, ["blockers", "--store", str(store), "--lang", "fr"])
    assert wrong.exit_code == 2


def test_dates_without_a_time_are_no_scheduled_run() -> None:
    calendar = kp.WorkCalendar.office_hours()

    def batches(hour: int) -> pd.DataFrame:
        days = pd.date_range("2025-03-03", periods=5, freq="D", tz="Europe/Amsterdam")
        return pd.DataFrame(
            {"activity": "Send", "start": (days + pd.Timedelta(hours=hour)).tz_convert("UTC")}
        )

    assert batch_patterns(batches(2), calendar)["Send"][0] == "hour"  # a 02:00 run
    assert "Send" not in batch_patterns(batches(0), calendar)  # dates: midnight to the second


def test_a_caseload_ceiling_is_steering_and_agrees_with_the_truth() -> None:
    # A cap of 20 open cases binds within four months.
    with kp.open_store(":memory:") as store:
        run = kp.simulate_scenario(
            store, "caseload-cap", seed=4, overrides=[*SHORT, "steering.caseload_cap=20"]
        )
        events = kp.load_events(store)
        groups = kp.read_resource_groups(store)
    found = kp.find_blockers(events, profile="sociaal-domein", groups=groups)
    ours = [b for b in found.blockers if b.category in ORGANISATION]
    assert {(b.category, b.reason) for b in ours[:2]} == {("steering", "caseload")}
    assert {b.activity for b in ours[:2]} == {"Intake", "Keukentafelgesprek"}
    assert "caseloadplafond" in ours[0].evidence["nl"]
    assert "caseload ceiling" in ours[0].evidence["en"]
    # Per instance, the seconds put down to the ceiling against the simulator's truth.
    steps = found.steps
    claimed = (
        steps.assign(case_id=steps["case_id"].astype(str))
        .groupby(["case_id", "activity"], observed=True)["caseload_s"]
        .sum()
    )
    truth = run.truth[run.truth["blocker"] == "steering.caseload_cap"]
    true = (
        truth.assign(case_id=truth["case_id"].astype(str))
        .groupby(["case_id", "activity"])["seconds"]
        .sum()
    )
    both = pd.concat([claimed.rename("ours"), true.rename("true")], axis=1).fillna(0.0)
    overlap = both[["ours", "true"]].min(axis=1).sum()
    assert overlap / both["ours"].sum() > 0.9
    assert overlap / both["true"].sum() > 0.75
    # Never more than the extraneous part it is carved from.
    extraneous = found.split.instances["extraneous_s"].to_numpy()
    assert ((steps["caseload_s"] >= 0) & (steps["caseload_s"] <= extraneous + 1e-6)).all()


@pytest.mark.parametrize(
    ("seed", "load"),
    [(4, []), (3, ["arrivals.per_week=72"])],  # as usual; and overloaded, queues growing
)
def test_without_a_ceiling_no_wait_is_put_down_to_caseload(seed: int, load: list[str]) -> None:
    # A team without a cap: the waits for the first work that are not queueing do not
    # grow with the load, even when the team is overloaded and its load only rises.
    with kp.open_store(":memory:") as store:
        kp.simulate_scenario(store, "baseline", seed=seed, overrides=[*SHORT, *load])
        events = kp.load_events(store)
        groups = kp.read_resource_groups(store)
    found = kp.find_blockers(events, profile="sociaal-domein", groups=groups)
    assert not [b for b in found.blockers if b.reason == "caseload"]
    assert found.steps["caseload_s"].sum() == 0
