"""The process map, variants and case table: linear passes over an :class:`EventTable`.

Definitions (the same as pm4py's on a DataFrame sorted by case and time):

* an **edge** A → B is a pair of consecutive events of one case; its
  *duration* is B's time minus A's time; per edge: count, the number of
  cases with it, and mean, median, 90th percentile (linear interpolation,
  as ``numpy.percentile``), minimum, maximum and total duration in seconds;
* a case's **start** and **end activity** are its first and last event's;
* a **variant** is a case's sequence of activities; its duration statistics
  are over its cases' durations (last event's time minus first event's);
* the **case table** has per case: events, distinct activities, distinct
  resources, handovers (consecutive events whose resources differ, both
  known), rework (events of an activity the case already had), start, end
  and duration.

:mod:`knelpunt.mining.relational` holds the same definitions in SQL for
DuckDB; a test holds both to the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import polars as pl

from knelpunt.mining.projection import EventTable

__all__ = ["ProcessMap", "discover_map", "list_variants", "summarise_cases"]

_US: Final = 1_000_000.0
EDGE_COLUMNS: Final = (
    "source",
    "target",
    "count",
    "cases",
    "mean_s",
    "median_s",
    "p90_s",
    "min_s",
    "max_s",
    "total_s",
)


VARIANT_COLUMNS: Final = (
    "variant",
    "activities",
    "cases",
    "share",
    "mean_s",
    "median_s",
    "min_s",
    "max_s",
)


@dataclass(frozen=True, slots=True)
class ProcessMap:
    """A directly-follows graph with frequency and performance.

    Attributes:
        edges: one row per edge (see :data:`EDGE_COLUMNS`), most frequent first.
        activities: activity, count (events), cases (cases with it).
        start_activities: activity → number of cases that start with it.
        end_activities: activity → number of cases that end with it.
        events: events the map is built from.
        cases: cases the map is built from.
    """

    edges: pd.DataFrame
    activities: pd.DataFrame
    start_activities: dict[str, int]
    end_activities: dict[str, int]
    events: int
    cases: int


def _edge_codes(table: EventTable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(edge code per transition, its case, its duration in µs); codes are src * A + dst."""
    same = table.case[1:] == table.case[:-1]
    n_act = max(len(table.activities), 1)
    code = table.activity[:-1].astype(np.int64) * n_act + table.activity[1:]
    duration = table.time_us[1:] - table.time_us[:-1]
    return code[same], table.case[1:][same], duration[same]


def _group_stats(keys: np.ndarray, durations: np.ndarray) -> tuple[np.ndarray, list[list[float]]]:
    """Per distinct key (ascending): count, mean, median, p90, min, max, total (seconds)."""
    if len(keys) == 0:
        return np.empty(0, dtype=np.int64), []
    uniques, compact = np.unique(keys, return_inverse=True)
    order = np.argsort(
        compact.astype(np.uint16) if len(uniques) <= 1 << 16 else compact, kind="stable"
    )
    counts = np.bincount(compact, minlength=len(uniques))
    bounds = np.concatenate([[0], np.cumsum(counts)])
    grouped = durations[order]
    rows = []
    for k in range(len(uniques)):
        part = np.sort(grouped[bounds[k] : bounds[k + 1]]) / _US
        rows.append(
            [
                float(len(part)),
                float(part.mean()),
                float(np.percentile(part, 50)),
                float(np.percentile(part, 90)),
                float(part[0]),
                float(part[-1]),
                float(part.sum()),
            ]
        )
    return uniques, rows


def _cases_per_key(keys: np.ndarray, cases: np.ndarray, width: int) -> dict[int, int]:
    """How many distinct cases have each key."""
    if len(keys) == 0:
        return {}
    pairs = np.unique(cases.astype(np.int64) * width + keys)
    found, counts = np.unique(pairs % width, return_counts=True)
    return dict(zip(found.tolist(), counts.tolist(), strict=True))


def discover_map(table: EventTable) -> ProcessMap:
    """The directly-follows graph of the events, with frequency and performance.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     found = kp.discover_map(kp.load_events(store))
        >>> found.cases, found.events, int(found.edges["count"].sum())
        (3, 15, 12)
    """
    names = table.activities
    n_act = max(len(names), 1)
    width = n_act * n_act
    codes, cases, durations = _edge_codes(table)
    uniques, stats = _group_stats(codes, durations)
    per_case = _cases_per_key(codes, cases, width)
    edges = pd.DataFrame(
        [
            [names[c // n_act], names[c % n_act], int(s[0]), per_case[int(c)], *s[1:]]
            for c, s in zip(uniques.tolist(), stats, strict=True)
        ],
        columns=list(EDGE_COLUMNS),
    )
    edges = edges.sort_values(["count", "source", "target"], ascending=[False, True, True])
    activity_counts = np.bincount(table.activity, minlength=len(names))
    activity_cases = _cases_per_key(table.activity.astype(np.int64), table.case, n_act)
    activities = pd.DataFrame(
        {
            "activity": names,
            "count": activity_counts,
            "cases": [activity_cases.get(i, 0) for i in range(len(names))],
        }
    ).sort_values(["count", "activity"], ascending=[False, True])
    first = table.case_start[:-1]
    last = table.case_start[1:] - 1
    has_events = table.case_start[1:] > first
    return ProcessMap(
        edges=edges.reset_index(drop=True),
        activities=activities.reset_index(drop=True),
        start_activities=_count_names(names, table.activity[first[has_events]]),
        end_activities=_count_names(names, table.activity[last[has_events]]),
        events=len(table),
        cases=int(has_events.sum()),
    )


def _count_names(names: np.ndarray, codes: np.ndarray) -> dict[str, int]:
    counts = np.bincount(codes, minlength=len(names))
    order = sorted(np.flatnonzero(counts).tolist(), key=lambda i: (-counts[i], names[i]))
    return {str(names[i]): int(counts[i]) for i in order}


def _per_case(table: EventTable) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "case": table.case,
            "activity": table.activity,
            "resource": table.resource,
            "time_us": table.time_us,
        }
    )
    resource = pl.col("resource")
    previous = resource.shift(1).over("case")
    return (
        frame.group_by("case", maintain_order=True)
        .agg(
            pl.len().alias("events"),
            pl.col("activity").n_unique().alias("activities"),
            resource.filter(resource >= 0).n_unique().alias("resources"),
            pl.col("time_us").first().alias("start_us"),
            pl.col("time_us").last().alias("end_us"),
            pl.col("activity").alias("trace"),
        )
        .join(
            frame.with_columns(
                ((resource != previous) & (resource >= 0) & (previous >= 0))
                .fill_null(False)
                .alias("handover")
            )
            .group_by("case")
            .agg(pl.col("handover").sum().alias("handovers")),
            on="case",
            maintain_order="left",
        )
    )


def summarise_cases(table: EventTable) -> pd.DataFrame:
    """One row per case: source_id, case_id, events, activities, resources, handovers,
    rework, start, end (UTC) and duration_s; the variant number as in :func:`list_variants`.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     cases = kp.summarise_cases(kp.load_events(store))
        >>> len(cases), int(cases["events"].sum())
        (3, 15)
    """
    per_case = _per_case(table)
    variant = _variant_numbers(per_case)
    codes = per_case["case"].to_numpy()
    start = per_case["start_us"].to_numpy()
    end = per_case["end_us"].to_numpy()
    events = per_case["events"].to_numpy()
    activities = per_case["activities"].to_numpy()
    return pd.DataFrame(
        {
            "source_id": table.case_sources[codes],
            "case_id": table.case_ids[codes],
            "events": events,
            "activities": activities,
            "resources": per_case["resources"].to_numpy(),
            "handovers": per_case["handovers"].to_numpy(),
            "rework": events - activities,
            "start": pd.to_datetime(start, unit="us", utc=True),
            "end": pd.to_datetime(end, unit="us", utc=True),
            "duration_s": (end - start) / _US,
            "variant": variant,
        }
    )


def _variant_numbers(per_case: pl.DataFrame) -> np.ndarray:
    """Per case, its variant's number: 1 for the most frequent (ties: first seen)."""
    ranked = (
        per_case.select("trace")
        .with_row_index("row")
        .group_by("trace", maintain_order=True)
        .agg(pl.col("row"))
        .with_columns(pl.col("row").list.len().alias("n"))
        .with_row_index("seen")
        .sort(["n", "seen"], descending=[True, False])
        .with_row_index("number", offset=1)
        .explode("row")
        .sort("row")
    )
    return ranked["number"].to_numpy().astype(np.int64)


def list_variants(table: EventTable) -> pd.DataFrame:
    """The variants, most frequent first: number, activities (a tuple), cases,
    share of cases, and mean, median, minimum and maximum case duration in seconds.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     variants = kp.list_variants(kp.load_events(store))
        >>> int(variants["cases"].sum())
        3
    """
    per_case = _per_case(table)
    if per_case.height == 0:
        return pd.DataFrame(
            columns=[
                "variant",
                "activities",
                "cases",
                "share",
                "mean_s",
                "median_s",
                "min_s",
                "max_s",
            ]
        )
    numbers = _variant_numbers(per_case)
    frame = per_case.select(
        pl.Series("variant", numbers),
        "trace",
        ((pl.col("end_us") - pl.col("start_us")) / _US).alias("duration_s"),
    )
    grouped = (
        frame.group_by("variant")
        .agg(
            pl.col("trace").first(),
            pl.len().alias("cases"),
            pl.col("duration_s").mean().alias("mean_s"),
            pl.col("duration_s").median().alias("median_s"),
            pl.col("duration_s").min().alias("min_s"),
            pl.col("duration_s").max().alias("max_s"),
        )
        .sort("variant")
    )
    names = table.activities
    return pd.DataFrame(
        {
            "variant": grouped["variant"].to_numpy(),
            "activities": [tuple(names[c] for c in trace) for trace in grouped["trace"].to_list()],
            "cases": grouped["cases"].to_numpy(),
            "share": grouped["cases"].to_numpy() / per_case.height,
            "mean_s": grouped["mean_s"].to_numpy(),
            "median_s": grouped["median_s"].to_numpy(),
            "min_s": grouped["min_s"].to_numpy(),
            "max_s": grouped["max_s"].to_numpy(),
        }
    )
