"""compute_waiting: instances on the engine, the split per source as split_waiting splits
each source's instances (Spark: tests/spark/test_waiting.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import knelpunt as kp
from knelpunt.analysis.waiting import PARTS
from knelpunt.errors import AnalysisError
from knelpunt.testing import make_log
from tests.conftest import shared_log
from tests.helpers import lifecycle_log, split_per_source


@pytest.fixture(scope="module", name="two")
def _two(tmp_path_factory: pytest.TempPathFactory) -> tuple[kp.EventTable, Path]:
    """Two sources: completions only, and starts with completions."""
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, make_log(cases=60, seed=2), name="completions")
        kp.ingest_log(
            store, lifecycle_log(3, cases=100), name="steps", privacy="off", duplicates="keep"
        )
        folder = tmp_path_factory.mktemp("waiting") / "events"
        kp.export_log(store, folder, partition_by=("source", "year", "month"))
        return kp.load_events(store), folder


@pytest.mark.parametrize(
    "options",
    [{}, {"prioritisation": "kronos", "idle_gap_s": None, "multitasking": None}],
    ids=["knelpunt", "kronos"],
)
def test_each_source_split_as_in_memory(two: tuple[kp.EventTable, Path], options: Any) -> None:
    """Every part of every activity's waiting, per source, from the projection and from
    Parquet; the parts add up to the waiting."""
    events, folder = two
    expected = split_per_source(events, **options)
    for given in (events, folder):
        found = kp.compute_waiting(given, **options)
        pd.testing.assert_frame_equal(found.by_activity, expected, check_dtype=False)
    parts = found.by_activity[[f"{p}_s" for p in PARTS]].sum(axis=1)
    assert (parts - found.by_activity["waiting_s"]).abs().max() < 1e-6
    assert set(found.notes) == {1, 2}
    assert any("never completed" in note for note in found.notes[2])
    assert found.totals()["share"].sum() == pytest.approx(1.0)


def test_the_whole_log_as_one(two: tuple[kp.EventTable, Path]) -> None:
    """per=None splits every source together, as split_waiting splits a whole log."""
    events, folder = two
    found = kp.compute_waiting(folder, per=None)
    expected = kp.split_waiting(kp.pair_instances(events, calendar=kp.WorkCalendar.office_hours()))
    mine = found.by_activity.drop(columns="source_id")
    pd.testing.assert_frame_equal(
        mine.sort_values("activity").reset_index(drop=True),
        expected.by_activity().sort_values("activity").reset_index(drop=True),
        check_dtype=False,
    )
    assert found.notes[0] == expected.notes


def test_filtered(two: tuple[kp.EventTable, Path]) -> None:
    """The filters apply before the instances are paired."""
    events, folder = two
    found = kp.compute_waiting(folder, filters=kp.EventFilter(sources=[2], activity_share=0.6))
    second = [
        (2, case) for s, case in zip(events.case_sources, events.case_ids, strict=True) if s == 2
    ]
    expected = split_per_source(kp.filter_events(events, cases=second, activity_share=0.6))
    pd.testing.assert_frame_equal(found.by_activity, expected, check_dtype=False)


def test_options_are_checked_first(two: tuple[kp.EventTable, Path]) -> None:
    """A wrong option is refused before the engine runs, as split_waiting refuses it."""
    _, folder = two
    with pytest.raises(AnalysisError, match="batch_min_size=1"):
        kp.compute_waiting(folder, batch_min_size=1)


@pytest.mark.real_logs
def test_municipality_log(tmp_path: Path) -> None:
    """BPIC 2015, municipality 1, from its Parquet export: the split of split_waiting."""
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, shared_log("BPIC15_1.xes.gz"), privacy="off")
        events = kp.load_events(store)
        folder = kp.export_log(store, tmp_path / "events", partition_by=("source", "year"))
    found = kp.compute_waiting(folder)
    pd.testing.assert_frame_equal(found.by_activity, split_per_source(events), check_dtype=False)
