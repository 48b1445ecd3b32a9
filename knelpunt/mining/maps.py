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

With ``calendar=`` a :class:`~knelpunt.worktime.WorkCalendar`, durations are
counted in working time: the map's and the variants' statistics are working
seconds, and the case table gains ``duration_work_s`` next to ``duration_s``.
These are event-to-event times; :func:`~knelpunt.mining.instances.pair_instances`
splits them into waiting and processing, respecting date-only precision.

:mod:`knelpunt.mining.relational` holds the same definitions in SQL for
DuckDB; a test holds both to the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final, Literal

import numpy as np
import pandas as pd
import polars as pl

from knelpunt.errors import FilterError
from knelpunt.mining.instances import ActivityInstances, summarise_activities
from knelpunt.mining.projection import EventTable
from knelpunt.worktime import WorkCalendar

__all__ = [
    "ProcessMap",
    "case_variants",
    "discover_map",
    "list_edge_cases",
    "list_variants",
    "summarise_cases",
    "working_clock",
]

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
        activities: activity, count (events or instances), cases (cases with it); of
            instances also waiting and processing time (as
            :func:`~knelpunt.mining.instances.summarise_activities`).
        start_activities: activity → number of cases that start with it.
        end_activities: activity → number of cases that end with it.
        events: events (or activity instances) the map is built from.
        cases: cases the map is built from.
        calendar: the working calendar the durations are counted in, or None
            for calendar time.
        level: ``"event"`` or ``"instance"``: what the nodes are.
        notes: what a reader must know (estimated starts, instances left out).
    """

    edges: pd.DataFrame
    activities: pd.DataFrame
    start_activities: dict[str, int]
    end_activities: dict[str, int]
    events: int
    cases: int
    calendar: WorkCalendar | None = None
    level: Literal["event", "instance"] = "event"
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The edges (see :attr:`edges`)."""
        return self.edges

    def _repr_html_(self) -> str:
        head = (
            f"<p>{len(self.activities)} activities, {len(self.edges)} paths, "
            f"{self.cases:,} cases ({self.level} level); the most frequent paths:</p>"
        )
        return head + self.edges.head(15).to_html(index=False, float_format="{:,.0f}".format)


def working_clock(table: EventTable, calendar: WorkCalendar | None) -> np.ndarray:
    """Per event, the clock durations are differences of: its time, or working time."""
    if calendar is None or len(table) == 0:
        return table.time_us
    clock = calendar.clock(int(table.time_us.min()), int(table.time_us.max()))
    return clock.read(table.time_us)


def discover_map(
    table: EventTable | ActivityInstances, *, calendar: WorkCalendar | None = None
) -> ProcessMap:
    """The directly-follows graph, with frequency and performance.

    Of events (an :class:`EventTable`): an edge is two consecutive events of a
    case, its duration the time between them. Of activity instances (the result
    of :func:`~knelpunt.mining.instances.pair_instances`), as Disco draws a log
    with start and complete times: instances follow each other by start (then
    completion) time; an edge's duration is the wait from one instance's
    completion to the next one's start, 0 when they overlap (as pm4py's
    interval DFG); and each activity carries its waiting and processing time.
    Instances never completed are left out, with a note. The instances' own
    calendar counts the durations, so ``calendar`` is for events only.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     events = kp.load_events(store)
        >>> found = kp.discover_map(events)
        >>> found.cases, found.events, int(found.edges["count"].sum())
        (3, 15, 12)
        >>> steps = kp.discover_map(kp.pair_instances(events, estimate_starts=False))
        >>> steps.level, steps.events, list(steps.activities.columns[:4])
        ('instance', 15, ['activity', 'count', 'cases', 'waiting_mean_s'])
    """
    if isinstance(table, ActivityInstances):
        if calendar is not None:
            raise FilterError(
                "Activity instances carry their own calendar: pass calendar= to "
                "pair_instances, not to discover_map."
            )
        return _instance_map(table)
    names = table.activities
    steps = _event_steps(table, calendar)
    same = steps.same
    edges = _edge_table(
        names,
        table.activity[:-1][same],
        table.activity[1:][same],
        table.case[1:][same],
        steps.duration_us,
    )
    per_activity = (
        pl.DataFrame({"activity": table.activity, "case": table.case})
        .group_by("activity")
        .agg(pl.len().alias("count"), pl.col("case").n_unique().alias("cases"))
    )
    activities = pd.DataFrame(
        {
            "activity": names[per_activity["activity"].to_numpy()] if len(per_activity) else [],
            "count": per_activity["count"].to_numpy().astype(np.int64),
            "cases": per_activity["cases"].to_numpy().astype(np.int64),
        }
    ).sort_values(["count", "activity"], ascending=[False, True])
    first = table.case_start[:-1]
    last = table.case_start[1:] - 1
    has_events = table.case_start[1:] > first
    return ProcessMap(
        edges=edges,
        activities=activities.reset_index(drop=True),
        start_activities=_count_names(names, table.activity[first[has_events]]),
        end_activities=_count_names(names, table.activity[last[has_events]]),
        events=len(table),
        cases=int(has_events.sum()),
        calendar=calendar,
    )


def _edge_table(
    names: np.ndarray, src: np.ndarray, dst: np.ndarray, case: np.ndarray, duration_us: np.ndarray
) -> pd.DataFrame:
    """Per edge (see :data:`EDGE_COLUMNS`), most frequent first."""
    seconds = pl.col("duration_us") / _US
    stats = (
        pl.DataFrame({"src": src, "dst": dst, "case": case, "duration_us": duration_us})
        .group_by("src", "dst")
        .agg(
            pl.len().alias("count"),
            pl.col("case").n_unique().alias("cases"),
            seconds.mean().alias("mean_s"),
            seconds.median().alias("median_s"),
            seconds.quantile(0.9, interpolation="linear").alias("p90_s"),
            seconds.min().alias("min_s"),
            seconds.max().alias("max_s"),
            seconds.sum().alias("total_s"),
        )
    )
    edges = stats.drop("src", "dst").to_pandas()
    edges.insert(0, "source", names[stats["src"].to_numpy()] if len(stats) else [])
    edges.insert(1, "target", names[stats["dst"].to_numpy()] if len(stats) else [])
    edges = edges.astype({"count": "int64", "cases": "int64"}).sort_values(
        ["count", "source", "target"], ascending=[False, True, True]
    )
    return edges.reset_index(drop=True)


@dataclass(frozen=True, slots=True)
class _Steps:
    """The steps of a map in case order: per step its activity code and case code, and
    per succession (two consecutive steps of one case) its duration."""

    names: np.ndarray
    activity: np.ndarray
    case: np.ndarray
    source_ids: np.ndarray  # per step
    case_ids: np.ndarray  # per step
    duration_us: np.ndarray  # per succession (same[k]: steps k and k + 1)

    @property
    def same(self) -> np.ndarray:
        same: np.ndarray = self.case[1:] == self.case[:-1]
        return same


def _event_steps(table: EventTable, calendar: WorkCalendar | None) -> _Steps:
    clock = working_clock(table, calendar)
    same = table.case[1:] == table.case[:-1]
    return _Steps(
        names=table.activities,
        activity=table.activity,
        case=table.case,
        source_ids=table.case_sources[table.case],
        case_ids=table.case_ids[table.case],
        duration_us=(clock[1:] - clock[:-1])[same],
    )


def _instance_steps(found: ActivityInstances) -> _Steps:
    """Completed instances by case, then start, then completion time (as Disco draws
    them); a succession's duration is the wait from one's completion to the next
    one's start, 0 when they overlap, in the instances' calendar."""
    frame = found.instances
    kept = frame[frame["complete"].notna().to_numpy()]
    case = kept.groupby(["source_id", "case_id"], sort=False, observed=True).ngroup().to_numpy()
    start, complete = _micros(kept["start"]), _micros(kept["complete"])
    order = np.lexsort((np.arange(len(kept)), complete, start, case))
    case, start, complete = case[order], start[order], complete[order]
    same = case[1:] == case[:-1]
    left = complete[:-1][same]
    right = np.maximum(start[1:][same], left)
    if found.calendar is not None and len(kept):
        clock = found.calendar.clock(int(start.min()), int(complete.max()))
        wait = clock.read(right) - clock.read(left)
    else:
        wait = right - left
    return _Steps(
        names=np.asarray(kept["activity"].cat.categories, dtype=object),
        activity=kept["activity"].cat.codes.to_numpy()[order],
        case=case,
        source_ids=kept["source_id"].to_numpy()[order],
        case_ids=kept["case_id"].to_numpy()[order],
        duration_us=wait,
    )


def list_edge_cases(
    table: EventTable | ActivityInstances,
    source: str,
    target: str,
    *,
    calendar: WorkCalendar | None = None,
) -> pd.DataFrame:
    """The cases that pass along one edge of the map, the slowest passage first.

    The edge is as :func:`discover_map` draws it on the same input (events, or
    activity instances with their own calendar).

    Returns:
        One row per passage: ``source_id``, ``case_id`` and ``duration_s`` (a case
        that takes the edge twice has two rows).

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     events = kp.load_events(store)
        >>> found = kp.list_edge_cases(events, "Melding ontvangen", "Keukentafelgesprek")
        >>> len(found), list(found.columns)
        (3, ['source_id', 'case_id', 'duration_s'])
    """
    if isinstance(table, ActivityInstances):
        if calendar is not None:
            raise FilterError(
                "Activity instances carry their own calendar: pass calendar= to "
                "pair_instances, not to list_edge_cases."
            )
        steps = _instance_steps(table)
    else:
        steps = _event_steps(table, calendar)
    codes = {str(name): code for code, name in enumerate(steps.names)}
    same = steps.same
    if source not in codes or target not in codes:
        hit = np.zeros(int(same.sum()), dtype=bool)
    else:
        hit = (steps.activity[:-1][same] == codes[source]) & (
            steps.activity[1:][same] == codes[target]
        )
    arrival = np.flatnonzero(same)[hit] + 1
    found = pd.DataFrame(
        {
            "source_id": steps.source_ids[arrival].astype(np.int64),
            "case_id": steps.case_ids[arrival].astype(str),
            "duration_s": steps.duration_us[hit] / _US,
        }
    )
    return found.sort_values(["duration_s", "source_id", "case_id"], ascending=[False, True, True])


def _instance_map(found: ActivityInstances) -> ProcessMap:
    closed = found.instances["complete"].notna().to_numpy()
    kept = found.instances[closed]
    steps = _instance_steps(found)
    case, activity, names, same = steps.case, steps.activity, steps.names, steps.same
    edges = _edge_table(
        names, activity[:-1][same], activity[1:][same], case[1:][same], steps.duration_us
    )
    per_activity = summarise_activities(replace(found, instances=kept)).rename(
        columns={"instances": "count"}
    )
    boundary = np.flatnonzero(np.r_[True, ~same, True])
    notes = found.notes
    if not closed.all():
        notes += (f"{int((~closed).sum()):,} instance(s) never completed are not on the map.",)
    return ProcessMap(
        edges=edges,
        activities=per_activity.drop(columns=["estimated_share"]).reset_index(drop=True),
        start_activities=_count_names(names, activity[boundary[:-1]]) if len(kept) else {},
        end_activities=_count_names(names, activity[boundary[1:] - 1]) if len(kept) else {},
        events=len(kept),
        cases=len(boundary) - 1 if len(kept) else 0,
        calendar=found.calendar,
        level="instance",
        notes=notes,
    )


def _micros(times: pd.Series) -> np.ndarray:
    return np.asarray(times.dt.tz_convert("UTC").dt.as_unit("us").astype("int64"), np.int64)


def _count_names(names: np.ndarray, codes: np.ndarray) -> dict[str, int]:
    counts = np.bincount(codes, minlength=len(names))
    order = sorted(np.flatnonzero(counts).tolist(), key=lambda i: (-counts[i], names[i]))
    return {str(names[i]): int(counts[i]) for i in order}


def _per_case(
    table: EventTable, *, details: bool, calendar: WorkCalendar | None = None
) -> pl.DataFrame:
    """Per case in code order: its trace, times and clock span; with ``details`` the counts."""
    frame = pl.DataFrame(
        {
            "case": table.case,
            "activity": table.activity,
            "resource": table.resource,
            "time_us": table.time_us,
            "clock_us": working_clock(table, calendar),
        }
    )
    aggregations = [
        pl.col("time_us").first().alias("start_us"),
        pl.col("time_us").last().alias("end_us"),
        (pl.col("clock_us").last() - pl.col("clock_us").first()).alias("clock_us"),
        pl.col("activity").alias("trace"),
    ]
    if details:
        # The table is sorted by case, so the previous row is the previous
        # event of the same case unless the case changes there.
        resource, previous = pl.col("resource"), pl.col("resource").shift(1)
        frame = frame.with_columns(
            (
                (pl.col("case") == pl.col("case").shift(1))
                & (resource != previous)
                & (resource >= 0)
                & (previous >= 0)
            )
            .fill_null(False)
            .alias("handover")
        )
        aggregations += [
            pl.len().alias("events"),
            pl.col("activity").n_unique().alias("activities"),
            resource.filter(resource >= 0).n_unique().alias("resources"),
            pl.col("handover").sum().alias("handovers"),
        ]
    return frame.group_by("case", maintain_order=True).agg(aggregations)


def summarise_cases(table: EventTable, *, calendar: WorkCalendar | None = None) -> pd.DataFrame:
    """One row per case: source_id, case_id, events, activities, resources, handovers,
    rework, start, end (UTC) and duration_s (with a calendar also duration_work_s, in
    working seconds); the variant number as in :func:`list_variants`.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     cases = kp.summarise_cases(kp.load_events(store))
        >>> len(cases), int(cases["events"].sum())
        (3, 15)
    """
    per_case = _per_case(table, details=True, calendar=calendar)
    variant = _variant_numbers(per_case)
    codes = per_case["case"].to_numpy()
    start = per_case["start_us"].to_numpy()
    end = per_case["end_us"].to_numpy()
    events = per_case["events"].to_numpy()
    activities = per_case["activities"].to_numpy()
    frame = pd.DataFrame(
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
    if calendar is not None:
        frame.insert(10, "duration_work_s", per_case["clock_us"].to_numpy() / _US)
    return frame


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


def case_variants(table: EventTable) -> np.ndarray:
    """Per case code, its variant number as :func:`list_variants` numbers them."""
    per_case = _per_case(table, details=False)
    numbers = np.zeros(table.n_cases, dtype=np.int64)
    numbers[per_case["case"].to_numpy()] = _variant_numbers(per_case)
    return numbers


def list_variants(table: EventTable, *, calendar: WorkCalendar | None = None) -> pd.DataFrame:
    """The variants, most frequent first: number, activities (a tuple), cases,
    share of cases, and mean, median, minimum and maximum case duration in seconds
    (working seconds with a calendar).

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     variants = kp.list_variants(kp.load_events(store))
        >>> int(variants["cases"].sum())
        3
    """
    per_case = _per_case(table, details=False, calendar=calendar)
    if per_case.height == 0:
        return pd.DataFrame(columns=list(VARIANT_COLUMNS))
    numbers = _variant_numbers(per_case)
    frame = per_case.select(
        pl.Series("variant", numbers),
        "trace",
        (pl.col("clock_us") / _US).alias("duration_s"),
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


def case_frame(
    cases: pd.DataFrame,
    *,
    source_id: np.ndarray,
    case_id: np.ndarray,
    variant: np.ndarray,
    working: bool,
) -> pd.DataFrame:
    """The case table (:func:`~knelpunt.mining.maps.summarise_cases`'s columns) from an
    engine's per-case rows (``events``, ``activities``, ``resources``, ``handovers``,
    ``start_us``, ``end_us`` and, when ``working``, ``clock_us``) and each case's ids
    and variant number: one shape for every engine."""
    events = cases["events"].to_numpy(dtype=np.int64)
    activities = cases["activities"].to_numpy(dtype=np.int64)
    start = cases["start_us"].to_numpy(dtype=np.int64)
    end = cases["end_us"].to_numpy(dtype=np.int64)
    frame = pd.DataFrame(
        {
            "source_id": source_id,
            "case_id": case_id,
            "events": events,
            "activities": activities,
            "resources": cases["resources"].to_numpy(dtype=np.int64),
            "handovers": cases["handovers"].to_numpy(dtype=np.int64),
            "rework": events - activities,
            "start": pd.to_datetime(start, unit="us", utc=True),
            "end": pd.to_datetime(end, unit="us", utc=True),
            "duration_s": (end - start) / 1e6,
            "variant": variant,
        }
    )
    if working:
        frame.insert(10, "duration_work_s", cases["clock_us"].to_numpy(dtype=np.int64) / 1e6)
    return frame
