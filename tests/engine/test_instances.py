"""compute_instances on DuckDB gives what pair_instances and summarise_activities give
(Spark: tests/spark/test_instances.py), from the projection and from Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

import knelpunt as kp
from tests.conftest import shared_log
from tests.helpers import lifecycle_log, same_instances, same_map

_OFFICE = kp.WorkCalendar.office_hours()


def _recorded(rows: list[tuple[Any, ...]], *, dated: list[tuple[Any, ...]] = ()) -> kp.EventStore:
    """A store of hand-written rows (case, activity, time, lifecycle, resource), and a
    second source of date-only rows if given."""
    store = kp.open_store(":memory:")
    columns = [
        "case:concept:name",
        "concept:name",
        "time:timestamp",
        "lifecycle:transition",
        "org:resource",
    ]
    for name, part in (("steps", rows), ("dates", dated)):
        if not part:
            continue
        log = pd.DataFrame(part, columns=columns)
        log["time:timestamp"] = pd.to_datetime(log["time:timestamp"]).dt.tz_localize(
            "Europe/Amsterdam"
        )
        kp.ingest_log(store, log, name=name, privacy="off", duplicates="keep")
    return store


# Every lifecycle case pair_instances knows: schedule, start and complete; suspend and
# resume inside; two overlapping starts paired first in, first out; a completion
# without start, with a resource busy before (its start is estimated) and without one;
# a start never completed; a schedule never started; an abort and a skip; a lifecycle
# of another vocabulary (a completion); ties at one minute.
_ROWS = [
    ("a", "Melding", "2025-03-03 09:00", "schedule", None),
    ("a", "Melding", "2025-03-03 09:30", "start", "an"),
    ("a", "Melding", "2025-03-03 10:00", "suspend", "an"),
    ("a", "Melding", "2025-03-03 11:00", "resume", "an"),
    ("a", "Melding", "2025-03-03 11:30", "complete", "an"),
    ("a", "Gesprek", "2025-03-04 09:00", "start", "bo"),
    ("a", "Gesprek", "2025-03-04 09:05", "start", "bo"),
    ("a", "Gesprek", "2025-03-04 10:00", "complete", "bo"),
    ("a", "Gesprek", "2025-03-04 10:00", "complete", "bo"),
    ("a", "Besluit", "2025-03-05 16:00", "COMPLETE", "an"),
    ("b", "Melding", "2025-03-03 10:00", "complete", "an"),
    ("b", "Gesprek", "2025-03-06 09:00", "start", "cy"),
    ("b", "Besluit", "2025-03-07 12:00", "ate_abort", "an"),
    ("b", "Plan", "2025-03-07 12:00", "manualskip", None),
    ("b", "Plan", "2025-03-08 08:00", "schedule", None),
    ("c", "Melding", "2025-03-03 12:00", "complete", None),
    ("c", "Besluit", "2025-03-10 12:00", "autoclose", "bo"),
    ("c", "Besluit", "2025-03-10 12:00", "start", "bo"),
]
# A source whose events carry dates only: its durations count in whole days.
_DATED = [
    (f"d{k}", activity, f"2025-03-{day:02d}", None, "dora")
    for k in range(3)
    for activity, day in (("Aanvraag", 3 + k), ("Toets", 10 + k), ("Besluit", 24 + k))
]


@pytest.fixture(scope="module", name="crafted")
def _crafted(tmp_path_factory: pytest.TempPathFactory) -> tuple[kp.EventTable, Path]:
    with _recorded(_ROWS, dated=_DATED) as store:
        folder = tmp_path_factory.mktemp("crafted") / "events"
        kp.export_log(store, folder, partition_by=("source", "year", "month"))
        return kp.load_events(store), folder


@pytest.mark.parametrize("calendar", [None, _OFFICE], ids=["calendar time", "working time"])
def test_every_lifecycle_case(crafted: tuple[kp.EventTable, Path], calendar: Any) -> None:
    """Schedules, suspends, overlapping starts, estimated and missing starts, open and
    aborted instances and date-only events: every instance and statistic as in memory,
    from the projection and from the partitioned Parquet export."""
    events, folder = crafted
    reference = kp.pair_instances(events, calendar=calendar)
    assert (reference.estimated, reference.open, reference.unstarted) == (15, 2, 1)
    assert reference.day_precision == 9
    for given_events in (events, folder):
        found = kp.compute_instances(given_events, calendar=calendar, instances=True)
        same_instances(found, reference)
        assert found.engine == "duckdb"


def test_without_estimates_or_dates(crafted: tuple[kp.EventTable, Path]) -> None:
    """estimate_starts=False makes a completion without a start instantaneous;
    detect_dates=False counts date-only events to the second."""
    events, folder = crafted
    reference = kp.pair_instances(events, estimate_starts=False, detect_dates=False)
    found = kp.compute_instances(folder, estimate_starts=False, detect_dates=False, instances=True)
    same_instances(found, reference)
    assert found.estimated == 0
    assert found.day_precision == 0


def test_instances_are_left_out_unless_asked(crafted: tuple[kp.EventTable, Path]) -> None:
    """Only the per-activity rows come back by default: the instances are as many as the
    completions."""
    events, _ = crafted
    found = kp.compute_instances(events)
    assert found.instances is None
    assert found.to_frame() is found.activities
    assert "activity instances" in found._repr_html_()


def test_the_map_in_working_time_from_parquet(crafted: tuple[kp.EventTable, Path]) -> None:
    """A calendar works on Parquet too: the engine joins its working hours by day and the
    map's durations are those of the events in memory."""
    events, folder = crafted
    found = kp.compute_relational(folder, calendar=_OFFICE)
    expected = kp.discover_map(events, calendar=_OFFICE)
    pd.testing.assert_frame_equal(found.process_map.edges, expected.edges, check_dtype=False)
    pd.testing.assert_frame_equal(
        found.cases, kp.summarise_cases(events, calendar=_OFFICE), check_dtype=False
    )


_LIFECYCLES = ("start", "complete", "complete", "schedule", "ate_abort", "suspend", None)


@st.composite
def _logs(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    rows = []
    for case in range(draw(st.integers(1, 4))):
        minute = draw(st.integers(0, 600))
        for _ in range(draw(st.integers(1, 7))):
            # Gaps of a day and of two weeks: a resource's previous completion is often
            # in an earlier week, or two weeks back with none between.
            minute += draw(st.sampled_from([0, 0, 5, 90, 1500, 20000]))
            rows.append(
                (
                    f"z{case}",
                    draw(st.sampled_from(["A", "B"])),
                    str(pd.Timestamp("2025-06-02 08:00") + pd.Timedelta(minutes=minute)),
                    draw(st.sampled_from(_LIFECYCLES)),
                    draw(st.sampled_from([None, "r1", "r2"])),
                )
            )
    return rows


@given(_logs())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_lifecycles_pair_as_in_memory(rows: list[tuple[Any, ...]]) -> None:
    """Any order of starts, completions, schedules and aborts, with ties and shared
    resources over several weeks: the engine pairs, enables and estimates as
    pair_instances does."""
    with _recorded(rows) as store:
        events = kp.load_events(store)
    same_instances(kp.compute_instances(events, instances=True), kp.pair_instances(events))


@pytest.mark.real_logs
@pytest.mark.parametrize(
    "name", ["BPIC15_1.xes.gz", "interval_event_log.xes.gz"], ids=["bpic2015-1", "interval"]
)
def test_real_logs(name: str, tmp_path: Path) -> None:
    """A Dutch municipality's permit log (half its events carry a date only, starts
    estimated) and a log with start and complete events, from their Parquet export."""
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, shared_log(name), privacy="off")
        events = kp.load_events(store)
        folder = kp.export_log(store, tmp_path / "events", partition_by=("source", "year"))
    reference = kp.pair_instances(events, calendar=_OFFICE)
    found = kp.compute_instances(folder, calendar=_OFFICE, instances=True)
    same_instances(found, reference)
    assert found.count == len(events) // (2 if name.startswith("interval") else 1)


@pytest.mark.parametrize("calendar", [None, _OFFICE], ids=["calendar time", "working time"])
def test_the_map_of_instances(calendar: Any, tmp_path: Path) -> None:
    """Instances drawn as Disco draws a log with start times: paths the wait from one
    step's completion to the next one's start, steps their waiting and processing, open
    instances left out with a note; as discover_map draws pair_instances' instances."""
    with kp.open_store(":memory:") as store:
        kp.ingest_log(
            store, lifecycle_log(11, cases=150), name="steps", privacy="off", duplicates="keep"
        )
        events = kp.load_events(store)
        folder = kp.export_log(store, tmp_path / "events", partition_by=("source", "month"))
    expected = kp.discover_map(kp.pair_instances(events, calendar=calendar))
    assert any("never completed" in note for note in expected.notes)
    for given_events in (events, folder):
        found = kp.compute_instances(given_events, calendar=calendar, with_map=True)
        assert found.process_map is not None
        same_map(found.process_map, expected)
