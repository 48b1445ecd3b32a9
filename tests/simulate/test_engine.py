"""The simulator: deterministic per seed, planted blockers visible in the ground truth,
waiting split into parts that sum to the whole, runs recorded in the store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt.cli import app
from knelpunt.errors import SourceExistsError
from knelpunt.events.model import NewSource
from knelpunt.simulate.scenario import SHIPPED_SCENARIOS

runner = CliRunner()
SHORT = ["days=120", "tail_days=120"]
VARIANTS = [s for s in SHIPPED_SCENARIOS if s not in ("baseline", "demo")]
INSTANT = ("Melding ontvangen", "Wachtlijst", "Bezwaar ingediend")  # no start event
PLANTED = {
    "team-meeting": ("protocol.team_meeting", "batching"),
    "specialist-handover": ("protocol.specialist_handover", None),
    "second-assessment": ("protocol.second_assessment", None),
    "rework": ("protocol.rework", None),
    "registration": ("system.registration", None),
    "nightly-batch": ("system.nightly_batch", "batching"),
    "outage": ("system.outage", "extraneous"),
    "double-registration": ("system.double_registration", None),
    "caseload-cap": ("steering.caseload_cap", "extraneous"),
    "budget-approval": ("steering.budget_approval", None),
    "waiting-list": ("steering.waiting_list", "extraneous"),
    "priority-rules": ("steering.priority_rules", "prioritisation"),
}


def _instances(truth: pd.DataFrame) -> pd.DataFrame:
    return truth.groupby(["case_id", "activity", "instance"]).agg(
        seconds=("seconds", "sum"), enabled=("enabled_us", "first"), start=("start_us", "first")
    )


def test_the_same_seed_gives_the_same_events() -> None:
    first = kp.simulate_scenario(None, "demo", seed=5, overrides=SHORT)
    again = kp.simulate_scenario(None, "demo", seed=5, overrides=SHORT)
    other = kp.simulate_scenario(None, "demo", seed=6, overrides=SHORT)
    assert len(first.events) > 1000
    pd.testing.assert_frame_equal(first.events, again.events)
    pd.testing.assert_frame_equal(first.truth, again.truth)
    assert not first.events.equals(other.events)


@pytest.mark.parametrize("name", VARIANTS)
def test_each_planted_blocker_is_in_the_ground_truth(name: str) -> None:
    """The variant's own blocker explains waiting that the baseline does not have."""
    blocker, cause = PLANTED[name]
    run = kp.simulate_scenario(None, name, seed=1, overrides=SHORT)
    truth = run.truth
    own = truth[truth["blocker"] == blocker]
    assert own["seconds"].sum() > 86400 * 5, (name, own["seconds"].sum())
    assert own["case_id"].nunique() >= 5
    if cause is not None:
        assert set(own["cause"]) == {cause}
    baseline = kp.simulate_scenario(None, "baseline", seed=1, overrides=SHORT).truth
    assert set(baseline["blocker"].dropna()) <= {
        "client.appointment",
        "client.network",
        "client.provider",
        "client.objection",
    }


def test_the_truth_matches_the_events() -> None:
    """Each waiting interval runs from the case's last completion to the start of the
    instance it precedes, its parts sum to it, none is negative, none is unexplained."""
    run = kp.simulate_scenario(None, "demo", seed=3, overrides=SHORT)
    truth, events = run.truth, run.events
    assert (truth["seconds"] > 0).all()
    assert "unexplained" not in set(truth["blocker"].dropna())
    waits = _instances(truth)
    whole = (waits["start"] - waits["enabled"]) / 1e6
    assert (whole - waits["seconds"]).abs().max() < 1e-3
    # The n-th wait of an activity in a case ends at its n-th start (or, for an
    # activity recorded only as completed, its n-th completion).
    begins = events[(events["lifecycle"] == "start") | events["activity"].isin(INSTANT)]
    begins = begins.assign(instance=begins.groupby(["case_id", "activity"]).cumcount() + 1)
    begun = begins.set_index(["case_id", "activity", "instance"])["time_us"]
    assert waits["start"].equals(begun.reindex(waits.index)), "each wait ends at its instance"
    completes = events[events["lifecycle"] == "complete"].sort_values("time_us")
    sample = waits.reset_index().sample(300, random_state=1)
    for row in sample.itertuples():
        before = completes[
            (completes["case_id"] == row.case_id) & (completes["time_us"] <= row.start)
        ]
        if row.activity in INSTANT:
            before = before[before["time_us"] < row.start]  # not the instant event itself
        assert before["time_us"].max() == row.enabled, row


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    per_week=st.integers(5, 120),
    switches=st.lists(st.sampled_from(sorted(PLANTED)), max_size=5, unique=True),
    seed=st.integers(0, 10_000),
)
def test_waiting_parts_sum_to_the_whole(per_week: int, switches: list[str], seed: int) -> None:
    """Any mix of blockers: no negative part, parts sum to each wait, events in time order."""
    overrides = ["days=40", "tail_days=60", f"arrivals.per_week={per_week}"]
    overrides += [f"{PLANTED[name][0]}=on" for name in switches]
    run = kp.simulate_scenario(None, "baseline", seed=seed, overrides=overrides)
    assert (run.truth["seconds"] >= 0).all()
    if len(run.truth):
        waits = _instances(run.truth)
        assert ((waits["start"] - waits["enabled"]) / 1e6 - waits["seconds"]).abs().max() < 1e-3
    assert run.events["time_us"].is_monotonic_increasing
    assert "unexplained" not in set(run.truth["blocker"].dropna())


def test_a_run_is_recorded_in_one_transaction_and_only_once(tmp_path: Path) -> None:
    """The run's source, events and report are written together, in one recording."""
    with kp.open_store(tmp_path / "s.db") as store:
        recordings: list[str] = []
        original = store.recording

        def spy(source: NewSource) -> object:
            recordings.append(source.name)
            return original(source)

        store.recording = spy  # type: ignore[method-assign]
        store.append = None  # type: ignore[assignment,method-assign]  # never appended to
        run = kp.simulate_scenario(store, "team-meeting", seed=2, overrides=SHORT)
        assert len(recordings) == 1
        assert run.source is not None
        assert run.source.kind == "simulation"
        source = store.source(run.source.source_id)
        assert source.event_count == run.added == len(run.events)
        assert source.details["seed"] == 2
        assert source.details["overrides"] == SHORT
        assert source.details["blockers"] == ["protocol.team_meeting", "client.waits"]
        assert source.report["complete"] is True
        assert source.report["cases"] == run.cases
        again = kp.simulate_scenario(store, "team-meeting", seed=2, overrides=SHORT)
        assert again.added == 0
        assert again.source is not None
        assert again.source.source_id == source.source_id
        assert len(store.sources()) == 1
        stored = kp.read_events(store, sources=[source.source_id])
        assert not any("truth" in c or "blocker" in c for c in stored.columns)
        assert stored["case:scheme"].notna().sum() == run.cases
        pd.testing.assert_frame_equal(kp.read_truth(store, source.source_id), run.truth)


def test_an_unfinished_run_must_be_purged_first(tmp_path: Path) -> None:
    """A run left without its report (by an older knelpunt that wrote runs as they went,
    killed half-way): the rerun says which source to purge, and how."""
    with kp.open_store(tmp_path / "s.db") as store:
        kp.simulate_scenario(store, "baseline", seed=4, overrides=["days=5"])
        [source] = store.sources()
        assert source.content_hash is not None
        store.purge(source.source_id, reason="test")
        crashed = store.create_source(
            NewSource("crashed", "simulation", content_hash=source.content_hash)
        )
        with pytest.raises(SourceExistsError, match=f"knelpunt purge {crashed.source_id} "):
            kp.simulate_scenario(store, "baseline", seed=4, overrides=["days=5"])


def test_truth_is_only_for_simulation_sources(tmp_path: Path) -> None:
    with kp.open_store(tmp_path / "s.db") as store:
        source = store.create_source(NewSource("capture", "capture"))
        with pytest.raises(kp.KnelpuntError, match="ground truth exists only for simulation"):
            kp.read_truth(store, source.source_id)


def test_what_if_separates_a_real_change_from_noise() -> None:
    short = ["days=60", "tail_days=90"]
    tight = kp.compare_scenarios(
        "baseline", ["steering.caseload_cap=4"], seeds=[1, 2, 3], overrides=short
    ).to_frame()
    decision = tight.set_index("kpi").loc["decision_days_median"]
    assert decision["clear"]
    assert decision["ci_low"] > 0
    # A setting of a blocker that is off changes nothing; with the same seeds (common
    # random numbers) the difference is exactly zero.
    idle = kp.compare_scenarios(
        "baseline", ["blockers.protocol.rework.probability=0.6"], seeds=[1, 2], overrides=short
    ).to_frame()
    assert (idle["difference"].fillna(0) == 0).all()
    assert not idle["clear"].any()


def test_a_what_if_with_a_bad_change_records_nothing(tmp_path: Path) -> None:
    with kp.open_store(tmp_path / "s.db") as store:
        with pytest.raises(kp.KnelpuntError, match=r"the override 'arrivals\.per_week=veel'"):
            kp.compare_scenarios(
                "baseline",
                ["arrivals.per_week=veel"],
                seeds=[1, 2],
                overrides=["days=14"],
                store=store,
            )
        assert kp.list_sources(store) == []


def test_the_dutch_profile_classifies_every_simulated_activity() -> None:
    profile = kp.read_profile("sociaal-domein")
    run = kp.simulate_scenario(
        None,
        "baseline",
        seed=1,
        overrides=[*SHORT, *(f"{b}=on" for b, _ in PLANTED.values())],
    )
    names = set(run.events["activity"]) | {"Wachtlijst", "Multidisciplinair overleg"}
    unclassified = {a for a in names if profile.classify_activity(a) is None}
    assert not unclassified
    assert profile.classify_activity("Multidisciplinair overleg") == "protocol"
    assert profile.classify_activity("Budgetakkoord") == "steering"
    assert profile.classify_activity("Toewijzing verzenden") == "system"


def test_cli_simulate_single_run_and_what_if(tmp_path: Path) -> None:
    store = str(tmp_path / "s.db")
    result = runner.invoke(
        app,
        [
            "simulate",
            "nightly-batch",
            "--set",
            "days=60",
            "--store",
            store,
            "--truth",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "system.nightly_batch" in result.output
    assert "batching" in result.output
    truth = pd.read_parquet(tmp_path / "source-1-truth.parquet")
    assert "system.nightly_batch" in set(truth["blocker"])
    result = runner.invoke(
        app,
        [
            "simulate",
            "baseline",
            "--runs",
            "2",
            "--both",
            "days=60",
            "--set",
            "steering.caseload_cap=3",
            "--store",
            store,
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "difference (95% CI)" in result.output
    assert "melding → beschikking, median days" in result.output
    assert "worse" in result.output  # a cap of 3 cases makes the decision slower
    with kp.open_store(store) as opened:
        assert len(opened.sources()) == 5


def test_cli_simulate_bad_override_exits_3(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["simulate", "baseline", "--set", "steering.caseload_cap=many", "--store", ":memory:"]
    )
    assert result.exit_code == 3
    assert "cap" in result.output
    assert "valid integer" in result.output


@pytest.mark.slow
def test_cli_demo_is_deterministic_and_recorded_once(tmp_path: Path) -> None:
    store = str(tmp_path / "demo.db")
    first = runner.invoke(app, ["demo", "--store", store])
    assert first.exit_code == 0, first.output
    assert "Recorded source 1" in first.output
    again = runner.invoke(app, ["demo", "--store", store])
    assert again.exit_code == 0
    assert "already recorded as source 1; 0 events added" in again.output
    with kp.open_store(store) as opened:
        [source] = opened.sources()
        assert 2000 <= source.report["cases"] <= 5000
        assert source.kind == "simulation"


def test_kpis_see_what_the_blockers_add() -> None:
    """Protocol hours come from the profile's protocol class; handovers count changes
    between the team's professionals only (not providers or the message system)."""
    base = kp.simulate_scenario(None, "baseline", seed=1, overrides=SHORT).kpis()
    second = kp.simulate_scenario(None, "second-assessment", seed=1, overrides=SHORT).kpis()
    handover = kp.simulate_scenario(None, "specialist-handover", seed=1, overrides=SHORT).kpis()
    assert base["handovers_per_case"] == 0
    # The behavioural scientist is not one of the team's professionals: no handover.
    assert second["handovers_per_case"] == 0
    assert handover["handovers_per_case"] > 0.05
    # A second assessment (1-2 h) and a handover talk (30-60 min) are protocol work.
    assert 0 < base["protocol_hours_per_case"] < second["protocol_hours_per_case"]
    assert base["protocol_hours_per_case"] < handover["protocol_hours_per_case"]
    assert 0.9 < base["within_term_share"] <= 1
    assert base["decision_days_median"] < base["closure_days_median"]


def test_a_handover_within_a_full_pool_does_not_wait_on_itself() -> None:
    # Without specialists the handover takes a place in the case's own pool; a case that
    # kept its old place while waiting for the new one would leave a full pool waiting
    # on itself, and the team would close almost nothing.
    team = [f"team.professionals.{d}=0" for d in ("specialist", "jeugd", "schulden")]
    run = kp.simulate_scenario(
        None,
        "specialist-handover",
        seed=1,
        overrides=["days=120", *team, "team.professionals.generalist=2", "steering.caseload_cap=2"],
    )
    closed = run.events[run.events["activity"] == "Afsluiting"]["case_id"].nunique()
    assert closed > 20
