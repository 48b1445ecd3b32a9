"""The store's filters on the engine (EventFilter) keep what filter_events keeps."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

import knelpunt as kp
from knelpunt.errors import FilterError
from knelpunt.testing import make_log
from tests.helpers import lifecycle_log, same_instances

_ZONE = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(scope="module", name="varied")
def _varied(tmp_path_factory: pytest.TempPathFactory) -> tuple[kp.EventTable, Path]:
    """Start and complete events, many variants."""
    with kp.open_store(":memory:") as store:
        kp.ingest_log(
            store, lifecycle_log(4, cases=120), name="varied", privacy="off", duplicates="keep"
        )
        folder = tmp_path_factory.mktemp("varied") / "events"
        kp.export_log(store, folder, partition_by=("source", "year", "month"))
        return kp.load_events(store), folder


@pytest.fixture(scope="module", name="spread")
def _spread(tmp_path_factory: pytest.TempPathFactory) -> tuple[kp.EventTable, Path]:
    """Cases over months, so that a window cuts some and leaves others."""
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, make_log(cases=80, seed=3), name="spread")
        folder = tmp_path_factory.mktemp("spread") / "events"
        kp.export_log(store, folder, partition_by=("source", "year", "month"))
        return kp.load_events(store), folder


def _window(events: kp.EventTable) -> tuple[datetime, datetime]:
    """A window over the middle of the log, so that every mode keeps something else."""
    times = pd.to_datetime(events.time_us, unit="us", utc=True)
    low, high = times.min(), times.max()
    return (
        (low + (high - low) * 0.3).to_pydatetime().astimezone(_ZONE),
        (low + (high - low) * 0.7).to_pydatetime().astimezone(_ZONE),
    )


_CHOICES: dict[str, dict[str, Any]] = {
    "coverage": {"variant_coverage": 0.5},
    "activity share": {"activity_share": 0.5},
    "activities": {"activities": ["Gesprek", "Melding"]},
    "completions": {"lifecycles": ["complete"]},
    "coverage and share": {"variant_coverage": 0.8, "activity_share": 0.6},
}


@pytest.mark.parametrize("window", ["intersecting", "contained", "started", "completed", "trim"])
def test_time_windows(spread: tuple[kp.EventTable, Path], window: Any) -> None:
    """Each way a case can relate to a window keeps the same cases and events on the
    engine, from Parquet, as in memory; the words are the same."""
    events, folder = spread
    start, end = _window(events)
    expected = kp.filter_events(events, start=start, end=end, window=window)
    assert 0 < len(expected) < len(events)
    found = kp.compute_relational(
        folder, filters=kp.EventFilter(start=start, end=end, window=window)
    )
    pd.testing.assert_frame_equal(found.cases, kp.summarise_cases(expected), check_dtype=False)
    assert found.filters == expected.filters


@pytest.mark.parametrize("name", list(_CHOICES))
def test_variants_and_activities(varied: tuple[kp.EventTable, Path], name: str) -> None:
    """Variant coverage, activity share, activities and lifecycles: the map, variants,
    cases and activity times of what they keep."""
    events, folder = varied
    choice = _CHOICES[name]
    expected = kp.filter_events(events, **choice)
    assert 0 < len(expected) < len(events)
    chosen = kp.EventFilter(**choice)
    found = kp.compute_relational(folder, filters=chosen)
    pd.testing.assert_frame_equal(
        found.process_map.edges, kp.discover_map(expected).edges, check_dtype=False
    )
    pd.testing.assert_frame_equal(found.variants, kp.list_variants(expected), check_dtype=False)
    pd.testing.assert_frame_equal(found.cases, kp.summarise_cases(expected), check_dtype=False)
    assert found.filters == expected.filters
    steps = kp.compute_instances(folder, filters=chosen, instances=True)
    same_instances(steps, kp.pair_instances(expected))
    assert steps.filters == expected.filters


def test_sources(tmp_path: Path) -> None:
    """Only the cases of the sources named (the store's --source)."""
    with kp.open_store(":memory:") as store:
        for seed in (1, 2):
            kp.ingest_log(store, make_log(cases=5, seed=seed), name=f"s{seed}")
        folder = kp.export_log(store, tmp_path / "events", partition_by=("source",))
        expected = kp.load_events(store, sources=[2])
    found = kp.compute_relational(folder, filters=kp.EventFilter(sources=[2]))
    pd.testing.assert_frame_equal(found.cases, kp.summarise_cases(expected), check_dtype=False)
    assert found.filters == ("source(s) 2",)


def test_wrong_filters_are_refused(varied: tuple[kp.EventTable, Path]) -> None:
    """A share outside (0, 1], a window ending before it starts, an unknown mode: the
    error says what to give instead, before anything is computed."""
    _, folder = varied
    start, end = datetime(2025, 2, 1, tzinfo=_ZONE), datetime(2025, 1, 1, tzinfo=_ZONE)
    for wrong, message in (
        (kp.EventFilter(activity_share=1.5), "between 0 and 1"),
        (kp.EventFilter(start=start, end=end), "swap start and end"),
        (kp.EventFilter(start=end.replace(tzinfo=None)), "needs a time zone"),
        (kp.EventFilter(window="around"), "use one of"),  # type: ignore[arg-type]
    ):
        with pytest.raises(FilterError, match=message):
            kp.compute_relational(folder, filters=wrong)
