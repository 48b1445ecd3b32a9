"""On every real log, the map, start/end activities and variants equal pm4py's.

pm4py gets the log as its own reader returns it, sorted by case and time
with file order kept on ties (what ``pm4py.format_dataframe`` does); knelpunt
gets the same file through ``ingest_log`` and the projection. Counts must be
equal; durations may differ by float rounding only. An interval log (pm4py's
``start_timestamp`` on each event) is recorded as a start and a complete
event per row, so pm4py gets it in that lifecycle form too.
"""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd
import pytest

import knelpunt as kp
from tests.conftest import REAL_XES_LOGS, shared_log

pytestmark = [pytest.mark.real_logs, pytest.mark.slow]

LOGS = REAL_XES_LOGS

_CASE, _ACTIVITY, _TIME = "case:concept:name", "concept:name", "time:timestamp"
_START = "start_timestamp"


def _as_lifecycle(frame: pd.DataFrame) -> pd.DataFrame:
    """Each row as its start event then its complete event, in file order."""
    starts = frame.assign(**{_TIME: frame[_START]})
    both = pd.concat([starts, frame]).sort_index(kind="stable")
    return both.reset_index(drop=True)


def _pm4py(path: str) -> dict[str, Any]:
    import pm4py

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pm4py's own deprecation notices
        frame = pm4py.read_xes(path, variant="iterparse", return_legacy_log_object=False)
        if _START in frame.columns:
            frame = _as_lifecycle(frame)
        frame = frame[[_CASE, _ACTIVITY, _TIME]].sort_values([_CASE, _TIME], kind="stable")
        frame = frame.reset_index(drop=True)
        performance, starts, ends = pm4py.discover_performance_dfg(
            frame, perf_aggregation_key="all"
        )
        frequency, _, _ = pm4py.discover_dfg(frame)
        variants = pm4py.get_variants(frame)
    return {
        "performance": performance,
        "frequency": frequency,
        "starts": starts,
        "ends": ends,
        "variants": {tuple(k): int(v) for k, v in variants.items()},
        "events": len(frame),
        "cases": frame[_CASE].nunique(),
    }


@pytest.mark.parametrize("name", LOGS)
def test_map_and_variants_agree_with_pm4py(name: str) -> None:
    """Edge counts, mean/median/min/max/total durations, start/end activities, variants."""
    path = shared_log(name)
    theirs = _pm4py(str(path))
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, path, duplicates="keep")
        table = kp.load_events(store)
    ours = kp.discover_map(table)
    assert (ours.events, ours.cases) == (theirs["events"], theirs["cases"])
    edges = ours.edges.set_index(["source", "target"])
    assert {k: int(v) for k, v in edges["count"].items()} == dict(theirs["frequency"])
    assert set(edges.index) == set(theirs["performance"])
    for edge, stats in theirs["performance"].items():
        row = edges.loc[edge]
        for ours_key, their_key in (
            ("mean_s", "mean"),
            ("median_s", "median"),
            ("min_s", "min"),
            ("max_s", "max"),
            ("total_s", "sum"),
        ):
            assert row[ours_key] == pytest.approx(stats[their_key], rel=1e-9, abs=1e-6), (
                edge,
                ours_key,
            )
    assert ours.start_activities == dict(theirs["starts"])
    assert ours.end_activities == dict(theirs["ends"])
    variants = kp.list_variants(table)
    assert (
        dict(zip(variants["activities"], variants["cases"].astype(int), strict=True))
        == (theirs["variants"])
    )
    cases = kp.summarise_cases(table)
    assert len(cases) == theirs["cases"]
    assert int(cases["events"].sum()) == theirs["events"]
    assert pd.Series(cases["variant"]).value_counts().sort_index().tolist() == (
        variants["cases"].tolist()
    )
