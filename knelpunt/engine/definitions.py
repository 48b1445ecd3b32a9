"""The map, variants and case table as Ibis expressions: one definition for every engine.

Each function takes Ibis tables and returns an Ibis expression; nothing here
connects to an engine or reads a file (see :mod:`knelpunt.engine.backends`).
The input is the *events relation*, one row per event:

============ ======= ==========================================================
column       type    meaning
============ ======= ==========================================================
source_id    int64   the source the case belongs to (a case is a case id within
                     a source)
case_id      string  the case id
activity     string  the activity
resource     string  the resource, null when none
time_us      int64   the time, UTC microseconds since the epoch
position     int64   the store position: orders a case's events with one time
seen         int64   per case the same for all its events' minimum: which case
                     came first (the projection's case code, or the position)
clock_us     int64   the clock durations are differences of: the time itself,
                     or working time (:func:`knelpunt.mining.maps.working_clock`)
lifecycle    string  the lifecycle transition, null when none
midnight_us  int64   the local midnight at or before the time (for date-only
                     events, :func:`knelpunt.mining.instances.local_midnights`)
clock_mid_us int64   the clock at that midnight
============ ======= ==========================================================

The definitions are those of :mod:`knelpunt.mining.maps` and
:mod:`knelpunt.mining.relational`: a case's events are ordered by time, then
position; an edge's duration is the next event's clock minus this one's;
percentiles interpolate linearly; a variant's number ranks it by cases
(descending), then by its first case.

Spark has no ordered list aggregate (its ``collect_list`` ignores ``ORDER
BY``, and Ibis refuses to compile one), so a trace is collected as
(time, position, activity) triples and the list is sorted afterwards: the
same order on every engine, without relying on how rows reach the aggregate.

Percentiles interpolate linearly on every engine, in one of two plans
(:data:`Percentiles`, chosen by the backend): ``"aggregate"``, the engine's own
exact percentile aggregate (DuckDB's ``quantile_cont``: fastest there), or
``"sorted"``, from each group's distinct values counted, sorted and summed in a
window (Spark: its exact ``percentile`` keeps all of a group's values in one
task's memory, and an activity's 1.7 million waits at 20M events ran out of a
4 GB heap; counts, sorts and windows spill to disk).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Final, Literal

import ibis
import ibis.expr.types as ir

from knelpunt.mining.maps import EDGE_COLUMNS

__all__ = [
    "CASE",
    "EVENT_SCHEMA",
    "Percentiles",
    "activity_counts",
    "aggregate_with_quantiles",
    "case_table",
    "edge_statistics",
    "edges",
    "end_activities",
    "per_case",
    "start_activities",
    "variants",
]

EVENT_SCHEMA: Final = ibis.schema(
    {
        "source_id": "int64",
        "case_id": "string",
        "activity": "string",
        "resource": "string",
        "time_us": "int64",
        "position": "int64",
        "seen": "int64",
        "clock_us": "int64",
        "lifecycle": "string",
        "midnight_us": "int64",
        "clock_mid_us": "int64",
    }
)
CASE: Final = ("source_id", "case_id")
_US: Final = 1e6


def _seconds(micros: ir.NumericValue) -> ir.FloatingValue:
    """Microseconds as seconds, in double precision on every engine.

    The cast comes first: Spark reads the literal ``1000000.0`` as a decimal, and a
    long divided by a decimal stays a decimal there.
    """
    return micros.cast("float64") / _US


Percentiles = Literal["aggregate", "sorted"]


def aggregate_with_quantiles(
    table: ir.Table,
    by: Sequence[str],
    aggregates: Mapping[str, ir.Value],
    values: Mapping[str, ir.NumericValue],
    quantiles: Mapping[str, float],
    *,
    percentiles: Percentiles = "aggregate",
) -> ir.Table:
    """``table`` grouped by ``by`` with ``aggregates`` and, per value and quantile, the
    quantile of the value in the group (column ``f"{value}_{quantile}"``; null where the
    group has no non-null value), interpolated linearly as :func:`numpy.quantile` does,
    in the plan ``percentiles`` names."""
    if percentiles == "aggregate":
        return table.group_by(list(by)).aggregate(
            **aggregates,
            **{
                f"{name}_{label}": value.quantile(q)
                for name, value in values.items()
                for label, q in quantiles.items()
            },
        )
    groups = table.group_by(list(by)).aggregate(**aggregates)
    return _sorted_quantiles(table, groups, by, values, quantiles)


def _sorted_quantiles(
    table: ir.Table,
    groups: ir.Table,
    by: Sequence[str],
    values: Mapping[str, ir.NumericValue],
    quantiles: Mapping[str, float],
) -> ir.Table:
    """``groups`` (one row per ``by``) with the quantiles of :func:`aggregate_with_quantiles`
    over the group's rows in ``table``, from the group's sorted distinct values.

    The values are counted per group and distinct value, each value's rank range comes
    from a running sum in value order, and the quantile lies between the values at
    ranks ``floor(h)`` and ``ceil(h)``, with ``h = (n - 1) * q``.
    """
    long = ibis.union(
        *(
            table.select(*by, _measure=ibis.literal(name), _value=value.cast("float64"))
            for name, value in values.items()
        )
    )
    long = long.filter(long._value.notnull())
    counted = long.group_by([*by, "_measure", "_value"]).aggregate(_n=long.count())
    keys = [*by, "_measure"]
    counted = counted.mutate(
        _upto=counted._n.sum().over(ibis.cumulative_window(group_by=keys, order_by="_value")),
        _all=counted._n.sum().over(ibis.window(group_by=keys)),
    )
    below = counted._upto - counted._n  # ranks below..upto-1 hold this value (from 0)
    picks: dict[str, ir.Value] = {}
    for label, q in quantiles.items():
        h = (counted._all - 1).cast("float64") * q
        low, high = h.floor().cast("int64"), h.ceil().cast("int64")
        picks |= {
            f"_low_{label}": ibis.ifelse(
                (below <= low) & (low < counted._upto), counted._value, None
            ).max(),
            f"_high_{label}": ibis.ifelse(
                (below <= high) & (high < counted._upto), counted._value, None
            ).max(),
            f"_h_{label}": h.max(),
        }
    found = counted.group_by(keys).aggregate(**picks)
    wide = {
        f"{name}_{label}": ibis.ifelse(
            found._measure == name,
            found[f"_low_{label}"]
            + (found[f"_h_{label}"] - found[f"_h_{label}"].floor())
            * (found[f"_high_{label}"] - found[f"_low_{label}"]),
            None,
        ).max()
        for name in values
        for label in quantiles
    }
    found = found.group_by(list(by)).aggregate(**wide)
    joined = groups.left_join(found, [groups[k].identical_to(found[k]) for k in by])
    return joined.drop(*(f"{k}_right" for k in by))


def _in_case(events: ir.Table) -> ibis.expr.builders.LegacyWindowBuilder:
    """A case's events in their order: time, then store position."""
    return ibis.window(group_by=list(CASE), order_by=[events.time_us, events.position])


def edges(events: ir.Table, *, percentiles: Percentiles = "aggregate") -> ir.Table:
    """Per edge (source, target): count, cases, and mean, median, p90, min, max and total
    duration in seconds (the map's :data:`~knelpunt.mining.maps.EDGE_COLUMNS`)."""
    w = _in_case(events)
    pairs = events.select(
        *CASE,
        source=events.activity,
        target=events.activity.lead().over(w),
        duration_us=events.clock_us.lead().over(w) - events.clock_us,
    )
    pairs = pairs.filter(pairs.target.notnull())
    return edge_statistics(pairs, pairs.duration_us, seconds=_seconds, percentiles=percentiles)


def edge_statistics(
    pairs: ir.Table,
    duration: ir.NumericValue,
    *,
    seconds: Callable[[ir.NumericValue], ir.NumericValue],
    percentiles: Percentiles = "aggregate",
) -> ir.Table:
    """Per edge (``source``, ``target`` of ``pairs``): count, cases, and mean, median,
    p90, min, max and total ``duration``, each turned into seconds by ``seconds``."""
    spread = aggregate_with_quantiles(
        pairs,
        ["source", "target"],
        {
            "count": pairs.count(),
            "cases": ibis.struct({"s": pairs.source_id, "c": pairs.case_id}).nunique(),
            "mean_s": seconds(duration.mean()),
            "min_s": seconds(duration.min()),
            "max_s": seconds(duration.max()),
            "total_s": seconds(duration.sum()),
        },
        {"d": duration},
        {"median": 0.5, "p90": 0.9},
        percentiles=percentiles,
    )
    spread = spread.mutate(median_s=seconds(spread.d_median), p90_s=seconds(spread.d_p90))
    return spread.select(*EDGE_COLUMNS)


def activity_counts(events: ir.Table) -> ir.Table:
    """Per activity: its events (count) and the cases that have it."""
    return events.group_by("activity").aggregate(
        count=events.count(),
        cases=ibis.struct({"s": events.source_id, "c": events.case_id}).nunique(),
    )


def per_case(events: ir.Table) -> ir.Table:
    """Per case: events, distinct activities and resources, handovers (consecutive events
    whose resources differ, both known), start and end time, clock span, which case came
    first (``seen``) and the trace: its activities in order."""
    previous = events.resource.lag().over(_in_case(events))
    marked = events.mutate(
        handover=(
            events.resource.notnull() & previous.notnull() & (events.resource != previous)
        ).cast("int64")
    )
    step = ibis.struct({"t": marked.time_us, "p": marked.position, "a": marked.activity})
    cases = marked.group_by(list(CASE)).aggregate(
        events=marked.count(),
        activities=marked.activity.nunique(),
        resources=marked.resource.nunique(),
        handovers=marked.handover.sum(),
        start_us=marked.time_us.min(),
        end_us=marked.time_us.max(),
        clock_us=marked.clock_us.max() - marked.clock_us.min(),
        seen=marked.seen.min(),
        steps=step.collect(),
    )
    return cases.mutate(trace=cases.steps.sort().map(lambda s: s.a)).drop("steps")


def variants(cases: ir.Table, *, percentiles: Percentiles = "aggregate") -> ir.Table:
    """Per variant (a trace): number, cases, and the mean, median, minimum and maximum of
    its cases' clock spans in seconds; ``cases`` is :func:`per_case`."""
    seconds = _seconds(cases.clock_us)
    grouped = aggregate_with_quantiles(
        cases,
        ["trace"],
        {
            "cases": cases.count(),
            "first": cases.seen.min(),
            "mean_s": seconds.mean(),
            "min_s": seconds.min(),
            "max_s": seconds.max(),
        },
        {"s": seconds},
        {"median": 0.5},
        percentiles=percentiles,
    )
    grouped = grouped.rename(median_s="s_median").select(
        "trace", "cases", "first", "mean_s", "median_s", "min_s", "max_s"
    )
    number = ibis.row_number().over(order_by=[grouped.cases.desc(), grouped.first.asc()]) + 1
    return grouped.mutate(variant=number.cast("int64")).drop("first")


def case_table(cases: ir.Table, numbered: ir.Table) -> ir.Table:
    """:func:`per_case` with each case's variant number from ``numbered`` (:func:`variants`),
    in the order the cases came (``seen``)."""
    joined = cases.join(numbered.select("trace", "variant"), "trace")
    return joined.drop("trace").order_by([joined.seen, *CASE])


def _counted(numbered: ir.Table, at: ir.IntegerValue) -> ir.Table:
    return (
        numbered.group_by(activity=numbered.trace[at])
        .aggregate(cases=numbered.cases.sum())
        .rename(count="cases")
    )


def start_activities(numbered: ir.Table) -> ir.Table:
    """Per activity, the cases that start with it (from :func:`variants`)."""
    return _counted(numbered, ibis.literal(0))


def end_activities(numbered: ir.Table) -> ir.Table:
    """Per activity, the cases that end with it (from :func:`variants`).

    The last element is indexed from the front: Ibis compiles a negative index
    wrongly for Spark (``element_at(trace, -1 + 1)``).
    """
    return _counted(numbered, numbered.trace.length() - 1)
