"""Activity instances, working time, date-only days and the filters on Spark: every
number as pair_instances, summarise_activities and filter_events give it in memory."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

import knelpunt as kp
from tests.conftest import shared_log
from tests.helpers import lifecycle_log, same_instances, same_map

pytestmark = pytest.mark.spark

_OFFICE = kp.WorkCalendar.office_hours()


@pytest.fixture(scope="module", name="steps")
def _steps(tmp_path_factory: pytest.TempPathFactory) -> tuple[kp.EventTable, Path]:
    """Start and complete events (some alone, some open), and a source of dates only."""
    dated = pd.DataFrame(
        {
            "case:concept:name": [f"d{k}" for k in range(8) for _ in range(3)],
            "concept:name": ["Aanvraag", "Toets", "Besluit"] * 8,
            "time:timestamp": [
                pd.Timestamp(f"2025-03-{day:02d}", tz="Europe/Amsterdam")
                for k in range(8)
                for day in (3 + k, 10 + k, 20 + k)
            ],
            "org:resource": "dora",
        }
    )
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, lifecycle_log(7, cases=250), name="steps", privacy="off",
                      duplicates="keep")  # fmt: skip
        kp.ingest_log(store, dated, name="dated", privacy="off")
        folder = tmp_path_factory.mktemp("steps") / "events"
        kp.export_log(store, folder, partition_by=("source", "year", "month"))
        return kp.load_events(store), folder


@pytest.mark.parametrize("calendar", [None, _OFFICE], ids=["calendar time", "working time"])
def test_instances_on_spark(spark: Any, steps: tuple[kp.EventTable, Path], calendar: Any) -> None:
    """From the partitioned Parquet, Spark pairs, enables, estimates and counts days as
    the in-memory path does; with a calendar it reads the working hours on the cluster."""
    events, folder = steps
    reference = kp.pair_instances(events, calendar=calendar)
    assert reference.day_precision > 0
    assert reference.estimated > 0
    assert reference.open > 0
    found = kp.compute_instances(
        folder, engine="spark", spark=spark, calendar=calendar, instances=True, with_map=True
    )
    assert found.engine == "spark"
    same_instances(found, reference)
    assert found.process_map is not None
    same_map(found.process_map, kp.discover_map(reference))


def test_map_in_working_time_and_filtered_on_spark(
    spark: Any, steps: tuple[kp.EventTable, Path]
) -> None:
    """The map of a window's cases, the most frequent variants and activities, counted in
    working hours: on Spark from Parquet as in memory."""
    events, folder = steps
    zone = ZoneInfo("Europe/Amsterdam")
    chosen = kp.EventFilter(
        start=datetime(2025, 2, 1, tzinfo=zone),
        end=datetime(2025, 3, 15, tzinfo=zone),
        window="started",
        variant_coverage=0.6,
        activity_share=0.8,
    )
    expected = kp.filter_events(
        events,
        start=chosen.start,
        end=chosen.end,
        window="started",
        variant_coverage=0.6,
        activity_share=0.8,
    )
    assert 0 < len(expected) < len(events)
    found = kp.compute_relational(
        folder, engine="spark", spark=spark, calendar=_OFFICE, filters=chosen
    )
    assert found.filters == expected.filters
    pd.testing.assert_frame_equal(
        found.process_map.edges,
        kp.discover_map(expected, calendar=_OFFICE).edges,
        check_dtype=False,
    )
    pd.testing.assert_frame_equal(
        found.cases, kp.summarise_cases(expected, calendar=_OFFICE), check_dtype=False
    )


@pytest.mark.real_logs
def test_municipality_log_on_spark(spark: Any, tmp_path: Path) -> None:
    """BPIC 2015, municipality 1: a Dutch permit log whose events carry half dates only
    and completions only (every start estimated): Spark gives every instance's wait and
    processing, in working time, as pair_instances does."""
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, shared_log("BPIC15_1.xes.gz"), privacy="off")
        events = kp.load_events(store)
        folder = kp.export_log(store, tmp_path / "events", partition_by=("source", "year"))
    reference = kp.pair_instances(events, calendar=_OFFICE)
    found = kp.compute_instances(
        folder, engine="spark", spark=spark, calendar=_OFFICE, instances=True
    )
    same_instances(found, reference)
    assert (found.count, found.day_precision) == (52217, 26443)
