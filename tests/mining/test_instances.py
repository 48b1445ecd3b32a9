"""Activity instances: pairing, enabled/start/complete, estimated starts, precision,
working time; invariants by Hypothesis; pairing equal to pm4py's on real logs."""

from __future__ import annotations

import warnings
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import knelpunt as kp
from knelpunt.events.model import Event, NewSource
from knelpunt.mining.instances import pair_instances, summarise_activities
from knelpunt.worktime import WorkCalendar
from tests.conftest import shared_log

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2024, 6, 10, 9, 0, tzinfo=AMS)  # a Monday

# (case, activity, minutes after T0, lifecycle, resource)
Row = tuple[str, str, float, str | None, str | None]


def _table(rows: list[Row], *, at: datetime = T0, kind: str = "capture") -> kp.EventTable:
    with kp.open_store(":memory:") as store:
        source = store.create_source(NewSource(name="hand", kind=kind)).source_id  # type: ignore[arg-type]
        store.append(
            source,
            [
                Event(c, a, at + timedelta(minutes=m), lifecycle=cycle, resource=r)
                for c, a, m, cycle, r in rows
            ],
        )
        return kp.load_events(store)


def _by_activity(found: kp.ActivityInstances) -> pd.DataFrame:
    return found.instances.set_index("activity")


def test_worked_example_with_schedule_start_complete() -> None:
    table = _table(
        [
            ("z1", "Melding", 0, "complete", "an"),
            ("z1", "Gesprek", 30, "schedule", None),
            ("z1", "Gesprek", 90, "start", "bo"),
            ("z1", "Gesprek", 150, "complete", "bo"),
            ("z1", "Besluit", 200, "start", "an"),
            ("z1", "Besluit", 210, "suspend", "an"),
            ("z1", "Besluit", 230, "resume", "an"),
            ("z1", "Besluit", 260, "complete", "an"),
        ]
    )
    found = pair_instances(table, estimate_starts=False)
    rows = _by_activity(found)
    assert list(rows.index) == ["Melding", "Gesprek", "Besluit"]
    assert rows["waiting_s"].tolist() == [0.0, 90 * 60.0, 50 * 60.0]
    assert rows["processing_s"].tolist() == [0.0, 60 * 60.0, 60 * 60.0]
    assert rows.loc["Gesprek", "scheduled"] == pd.Timestamp(T0 + timedelta(minutes=30))
    assert rows.loc["Gesprek", "enabled"] == pd.Timestamp(T0)  # Melding completed at 0
    assert rows["start_recorded"].tolist() == [False, True, True]
    assert set(rows["status"]) == {"completed"}
    # Sequential: waiting and processing add up to the case's duration.
    assert rows["waiting_s"].sum() + rows["processing_s"].sum() == 260 * 60
    assert found.notes == (
        "Completions without a start count as instantaneous (starts not estimated).",
    )


def test_unpaired_events_are_kept() -> None:
    table = _table(
        [
            ("z1", "Gesprek", 0, "complete", "an"),  # a completion without start
            ("z1", "Plan", 10, "start", "an"),
            ("z1", "Plan", 20, "start", "an"),  # two starts, one completion: FIFO
            ("z1", "Plan", 40, "complete", "an"),
            ("z1", "Toets", 50, "schedule", None),  # never started
            ("z1", "Besluit", 60, "start", "bo"),
            ("z1", "Besluit", 70, "ate_abort", "bo"),
            ("z1", "Check", 80, "autoskip", None),
        ]
    )
    found = pair_instances(table, estimate_starts=False)
    frame = found.instances
    assert frame["activity"].astype(str).tolist() == ["Gesprek", "Plan", "Plan", "Besluit", "Check"]
    assert frame["status"].astype(str).tolist() == [
        "completed",
        "completed",
        "open",
        "aborted",
        "skipped",
    ]
    plan = frame[frame["activity"] == "Plan"]
    assert plan["start"].tolist() == [pd.Timestamp(T0 + timedelta(minutes=m)) for m in (10, 20)]
    assert plan["processing_s"].iloc[0] == 30 * 60
    assert np.isnan(plan["processing_s"].iloc[1])
    assert pd.isna(plan["complete"].iloc[1])
    assert (found.open, found.unstarted) == (1, 1)
    # The second Plan start waits from Gesprek's completion (the latest before it).
    assert plan["waiting_s"].tolist() == [10 * 60.0, 20 * 60.0]


def test_estimated_start_is_when_resource_and_case_both_allowed() -> None:
    table = _table(
        [
            ("a", "Melding", 0, None, "an"),
            ("b", "Melding", 10, None, "bo"),
            ("a", "Gesprek", 60, None, "bo"),  # bo was free from 10, case a from 0: start 10
            ("b", "Gesprek", 50, None, "cy"),  # cy never worked before: start when enabled
            ("a", "Besluit", 100, None, None),  # no resource: instantaneous
        ]
    )
    found = pair_instances(table)
    rows = found.instances.set_index(["case_id", "activity"])
    assert rows.loc[("a", "Gesprek"), "start"] == pd.Timestamp(T0 + timedelta(minutes=10))
    assert rows.loc[("a", "Gesprek"), "waiting_s"] == 10 * 60
    assert rows.loc[("a", "Gesprek"), "processing_s"] == 50 * 60
    assert rows.loc[("b", "Gesprek"), "processing_s"] == 40 * 60
    assert rows.loc[("a", "Besluit"), "processing_s"] == 0
    assert rows.loc[("a", "Besluit"), "waiting_s"] == 40 * 60
    assert found.estimated == 5
    assert "5 of 5 activity instances have an estimated start" in found.notes[0]


def test_working_time_over_a_holiday_weekend() -> None:
    # Wednesday 8 May 2024 16:00 -> Ascension Day (Thursday 9th) -> the weekend
    # -> Monday 13th 10:00.
    wednesday = datetime(2024, 5, 8, 16, 0, tzinfo=AMS)
    minutes = (datetime(2024, 5, 13, 10, 0, tzinfo=AMS) - wednesday).total_seconds() / 60
    table = _table(
        [
            ("z", "Melding", 0, "complete", "an"),
            ("z", "Gesprek", minutes, "start", "an"),
            ("z", "Gesprek", minutes + 90, "complete", "an"),
        ],
        at=wednesday,
    )
    rows = _by_activity(pair_instances(table, calendar=WorkCalendar.office_hours()))
    # Wednesday 16-17, Friday 9-17 and Monday 9-10: 10 h.
    assert rows.loc["Gesprek", "waiting_work_s"] == 10 * 3600
    assert rows.loc["Gesprek", "processing_work_s"] == 90 * 60
    assert rows.loc["Gesprek", "waiting_s"] == minutes * 60


def test_a_resource_with_its_own_hours() -> None:
    table = _table([("z", "Gesprek", 0, "start", "an"), ("z", "Gesprek", 8 * 60, "complete", "an")])
    part_time = WorkCalendar.from_mapping({"hours": {"mon": "09:00-13:00"}})
    found = pair_instances(
        table, calendar=WorkCalendar.office_hours(), resource_calendars={"an": part_time}
    )
    assert found.instances["processing_work_s"].tolist() == [4 * 3600.0]


# Five more date-only events in another case: a source is read as date-only
# when at least 5 (and 1%) of its events sit at midnight.
_DATED: list[Row] = [("other", "Melding", 24 * 60 * k, None, None) for k in range(5)]


def test_date_only_timestamps_give_whole_days_across_daylight_saving() -> None:
    # Midnight dates around the spring change (Sunday 31 March 2024).
    midnight = datetime(2024, 3, 29, 0, 0, tzinfo=AMS)
    rows: list[Row] = [
        ("z", "Melding", 0, None, None),
        (
            "z",
            "Gesprek",
            (datetime(2024, 4, 2, tzinfo=AMS) - midnight).total_seconds() / 60,
            None,
            None,
        ),
    ]
    found = pair_instances(_table(rows + _DATED, at=midnight), calendar=WorkCalendar.office_hours())
    gesprek = found.instances.set_index(["case_id", "activity"]).loc[("z", "Gesprek")]
    assert gesprek["precision"] == "day"
    assert gesprek["waiting_s"] == 4 * 86_400  # four dates apart, not 4 days less an hour
    # Working time of the whole days 29 March-1 April: Good Friday, the weekend
    # and Easter Monday are all closed.
    assert gesprek["waiting_work_s"] == 0
    assert found.day_precision == 7
    assert "whole days" in found.notes[-1]


def test_a_few_events_at_midnight_are_not_date_only() -> None:
    rows: list[Row] = [("z", "Melding", 540, None, None), ("z", "Gesprek", 630, None, None)]
    found = pair_instances(_table(rows + _DATED[:4], at=datetime(2024, 6, 10, tzinfo=AMS)))
    assert found.day_precision == 0
    assert found.instances["waiting_s"].max() == 24 * 3600  # the 'other' case, exact


def test_a_date_only_end_does_not_fake_minutes() -> None:
    # Monday (date only) -> Tuesday 10:26: one day, not 1 day 10 h 26 min.
    minutes = 24 * 60 + 10 * 60 + 26
    table = _table(
        [("z", "Melding", 0, None, None), ("z", "Gesprek", minutes, None, None), *_DATED],
        at=datetime(2024, 6, 10, tzinfo=AMS),
    )
    found = pair_instances(table, calendar=WorkCalendar.office_hours())
    gesprek = found.instances.set_index(["case_id", "activity"]).loc[("z", "Gesprek")]
    assert gesprek["waiting_s"] == 86_400
    assert gesprek["waiting_work_s"] == 8 * 3600  # Monday's working day


def test_summarise_activities() -> None:
    table = _table(
        [
            ("a", "Gesprek", 0, "start", "an"),
            ("a", "Gesprek", 30, "complete", "an"),
            ("b", "Gesprek", 0, "start", "bo"),
            ("b", "Gesprek", 90, "complete", "bo"),
        ]
    )
    summary = summarise_activities(pair_instances(table)).set_index("activity")
    assert summary.loc["Gesprek", "instances"] == 2
    assert summary.loc["Gesprek", "cases"] == 2
    assert summary.loc["Gesprek", "processing_mean_s"] == 60 * 60
    assert summary.loc["Gesprek", "processing_total_s"] == 120 * 60
    assert summary.loc["Gesprek", "estimated_share"] == 0


# Hypothesis: random lifecycle sequences, and sequential cases.
_LIFECYCLE = st.sampled_from([None, "start", "complete", "schedule", "suspend", "ate_abort"])
_RANDOM = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.sampled_from(["Melding", "Gesprek", "Besluit"]),
    st.integers(0, 3000),
    _LIFECYCLE,
    st.sampled_from([None, "an", "bo"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_RANDOM, min_size=1, max_size=30), st.booleans())
def test_no_negative_durations(rows: list[Row], estimate: bool) -> None:
    found = pair_instances(
        _table(rows), calendar=WorkCalendar.office_hours(), estimate_starts=estimate
    )
    frame = found.instances
    for column in ("waiting_s", "processing_s", "waiting_work_s", "processing_work_s"):
        assert (frame[column].dropna() >= 0).all()
    assert (frame["waiting_work_s"] <= frame["waiting_s"] + 1e-6).all()
    assert (frame["enabled"] <= frame["start"]).all()
    # Every start, completion, abort or plain event is in exactly one instance.
    ends = sum(1 for r in rows if r[3] not in ("start", "schedule", "suspend"))
    starts = sum(1 for r in rows if r[3] == "start")
    assert frame["complete"].notna().sum() == ends
    assert frame["start_recorded"].sum() == starts


@st.composite
def _sequential_case(draw: st.DrawFn) -> list[Row]:
    """One case whose instances follow each other; some have no recorded start."""
    rows: list[Row] = []
    t = 0
    for k in range(draw(st.integers(1, 8))):
        activity = draw(st.sampled_from(["Melding", "Gesprek", "Besluit"]))
        resource = draw(st.sampled_from([None, "an", "bo"]))
        t += draw(st.integers(0, 2000))
        if draw(st.booleans()):
            rows.append(("z", activity, t, "start", resource))
            t += draw(st.integers(0, 2000))
        rows.append(("z", activity, t, "complete", resource))
        if k == 0 and draw(st.booleans()):
            rows.insert(0, ("z", activity, 0, "schedule", None))
    return rows


@settings(max_examples=80, deadline=None)
@given(_sequential_case(), st.booleans())
def test_sequential_instances_add_up_to_the_case_duration(rows: list[Row], estimate: bool) -> None:
    # (Day precision rounds some spans to whole days; that is tested above.)
    found = pair_instances(_table(rows), estimate_starts=estimate, detect_dates=False)
    frame = found.instances
    duration = (max(r[2] for r in rows) - min(r[2] for r in rows)) * 60
    assert frame["waiting_s"].sum() + frame["processing_s"].sum() == pytest.approx(duration)
    assert (frame[["waiting_s", "processing_s"]] >= 0).all().all()


# Agreement with pm4py's pairing (pm4py.objects.log.util.interval_lifecycle.to_interval).
_WITH_STARTS = ["bpi_challenge_2012.xes.gz", "CCC19.xes.gz", "interval_event_log.xes.gz"]


@pytest.mark.real_logs
@pytest.mark.slow
@pytest.mark.parametrize("name", _WITH_STARTS)
def test_pairing_agrees_with_pm4py(name: str) -> None:
    import pm4py
    from pm4py.objects.log.util import interval_lifecycle

    path = shared_log(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = pm4py.read_xes(str(path), variant="iterparse", return_legacy_log_object=True)
        theirs = Counter(
            (
                trace.attributes["concept:name"],
                e["concept:name"],
                e["start_timestamp"],
                e["time:timestamp"],
            )
            for trace in interval_lifecycle.to_interval(log)
            for e in trace
        )
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, path, duplicates="keep", privacy="off")
        found = pair_instances(kp.load_events(store), estimate_starts=False)
    done = found.instances[found.instances["status"] == "completed"]
    ours = Counter(
        zip(
            done["case_id"],
            done["activity"].astype(str),
            done["start"],
            done["complete"],
            strict=True,
        )
    )
    assert sum(ours.values()) == sum(theirs.values())
    assert ours == Counter(
        {(c, a, pd.Timestamp(s), pd.Timestamp(t)): n for (c, a, s, t), n in theirs.items()}
    )


def test_a_map_of_instances_by_hand() -> None:
    """A 0-60, B 90-200 and C 100-150 (B and C overlap), D completes at 300 without a
    start, E starts at 400 and never completes. Edges by start time: A → B waits 30
    minutes, B → C overlaps (0), C → D waits from 150 to 300."""
    table = _table(
        [
            ("z", "A", 0, "start", "an"),
            ("z", "A", 60, "complete", "an"),
            ("z", "B", 90, "start", "an"),
            ("z", "C", 100, "start", "bo"),
            ("z", "C", 150, "complete", "bo"),
            ("z", "B", 200, "complete", "an"),
            ("z", "D", 300, "complete", "an"),
            ("z", "E", 400, "start", "bo"),
        ]
    )
    found = kp.discover_map(pair_instances(table, estimate_starts=False))
    assert found.level == "instance"
    assert (found.events, found.cases) == (4, 1)
    edges = found.edges.set_index(["source", "target"])
    assert edges["mean_s"].to_dict() == {
        ("A", "B"): 30 * 60.0,
        ("B", "C"): 0.0,
        ("C", "D"): 150 * 60.0,
    }
    steps = found.activities.set_index("activity")
    assert steps["processing_mean_s"].to_dict() == {
        "A": 3600.0,
        "B": 110 * 60.0,
        "C": 50 * 60.0,
        "D": 0.0,
    }
    assert found.start_activities == {"A": 1}
    assert found.end_activities == {"D": 1}
    assert any("1 instance(s) never completed are not on the map" in n for n in found.notes)
    # In working time: A ends Friday 14 June 2024 16:30, B starts Monday 09:30: a wait
    # of 65 calendar hours is 1 working hour (Friday 16:30-17:00, Monday 09:00-09:30).
    friday = _table(
        [
            ("w", "A", 0, "start", "an"),
            ("w", "A", 30, "complete", "an"),
            ("w", "B", 65 * 60 + 30, "start", "an"),
            ("w", "B", 65 * 60 + 90, "complete", "an"),
        ],
        at=datetime(2024, 6, 14, 16, 0, tzinfo=AMS),
    )
    hours = WorkCalendar.office_hours()
    plain = kp.discover_map(pair_instances(friday)).edges
    working = kp.discover_map(pair_instances(friday, calendar=hours)).edges
    assert plain["mean_s"].tolist() == [65 * 3600.0]
    assert working["mean_s"].tolist() == [3600.0]
    with pytest.raises(kp.KnelpuntError, match="own calendar"):
        kp.discover_map(pair_instances(table), calendar=WorkCalendar.office_hours())


@pytest.mark.real_logs
@pytest.mark.slow
@pytest.mark.parametrize("name", _WITH_STARTS)
def test_instance_map_agrees_with_pm4py_interval_dfg(name: str) -> None:
    """The same edges, counts and durations as pm4py's DFG of its interval log (sorted by
    start, then completion; waits from completion to the next start, 0 on overlap)."""
    import pm4py
    from pm4py.algo.discovery.dfg.adapters.pandas.df_statistics import get_dfg_graph
    from pm4py.objects.log.util import interval_lifecycle

    path = shared_log(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        log = pm4py.read_xes(str(path), variant="iterparse", return_legacy_log_object=True)
        frame = pm4py.convert_to_dataframe(interval_lifecycle.to_interval(log))
        counts, performance = get_dfg_graph(
            frame,
            measure="both",
            start_timestamp_key="start_timestamp",
            timestamp_key="time:timestamp",
            perf_aggregation_key="all",
        )
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, path, duplicates="keep")
        found = kp.discover_map(pair_instances(kp.load_events(store), estimate_starts=False))
    ours = found.edges.set_index(["source", "target"])
    assert ours["count"].to_dict() == {pair: int(n) for pair, n in counts.items()}
    for pair, stats in performance.items():
        for column, key in (("mean_s", "mean"), ("median_s", "median"), ("total_s", "sum")):
            assert ours.loc[pair, column] == pytest.approx(stats[key], rel=1e-9, abs=1e-6)
