"""Activity instances and their waiting and processing time, as Ibis expressions.

The definitions are those of :func:`knelpunt.mining.instances.pair_instances`
(read its module notes), written over the events relation of
:mod:`knelpunt.engine.definitions` so that DuckDB and Spark compute them:

* a case's events are numbered in their order (time, then store position);
* within a case and activity, starts are paired first in, first out with the
  next completion (or abort, skip), and schedules with the next start: the
  k-th closer takes the oldest open opener, so with ``s`` the openers and
  ``k`` the closers counted up to a closer, the openers taken by then are
  ``k + min(0, min over the closers so far of (s - k))``: cumulative sums and
  a cumulative minimum, which window functions give;
* an instance is enabled by the latest completion of the case before it (its
  start, or its completion when the start is unknown), else by the case's
  first event;
* a completion without a start gets the later of its enabling and its
  resource's previous completion as its start (the resource's completions in
  time order, a window per resource), or none without a resource;
* a duration with a date-only end (``day``) runs from local midnight to local
  midnight, in whole days.

Only windows, joins and aggregates: no ordered lists, no Python functions on
the executors.
"""

from __future__ import annotations

from typing import Final

import ibis
import ibis.expr.types as ir

from knelpunt.engine.definitions import (
    CASE,
    Percentiles,
    aggregate_with_quantiles,
    edge_statistics,
)
from knelpunt.mining.instances import LIFECYCLE_KINDS

__all__ = ["activity_times", "instance_counts", "instance_edges", "instance_ends", "instances"]

_GROUP: Final = (*CASE, "activity")
_COMPLETE: Final = LIFECYCLE_KINDS["complete"]
_START: Final = LIFECYCLE_KINDS["start"]
_SCHEDULE: Final = LIFECYCLE_KINDS["schedule"]
_ABORT: Final = LIFECYCLE_KINDS["ate_abort"]
_SKIP: Final = LIFECYCLE_KINDS["manualskip"]
_CLOSERS: Final = (_COMPLETE, _ABORT, _SKIP)
_DATE_ONLY_EVENTS: Final = 5
_DATE_ONLY_PERCENT: Final = 1
_DAY_US: Final = 86_400_000_000
_LARGE: Final = 2**62
# What an event carries into an instance, as its start, end or enabling.
_MOMENT: Final = ("seq", "time_us", "midnight_us", "clock_us", "clock_mid_us", "day")
# What a completion takes from its resource's previous one (``free_*``).
_FREE: Final = ("time_us", *_MOMENT[2:])
_WEEK_US: Final = 7 * _DAY_US


def _numbered(events: ir.Table, *, detect_dates: bool) -> ir.Table:
    """The events with their number in the case (``seq``), lifecycle kind, the case's
    first recording (``first``), date-only flag (``day``), the number of the latest
    completion before them (``enabled_seq``) and, for completions, their resource's
    previous completion (``free_*``)."""
    if detect_dates:
        # A source's share of events at midnight, as a small table joined back (a window
        # over a whole source would put all its events in one task on Spark).
        counted = events.group_by("source_id").aggregate(
            _midnights=(events.midnight_us == events.time_us).cast("int64").sum(),
            _events=events.count(),
        )
        common = counted.select(
            "source_id",
            _common=(counted._midnights >= _DATE_ONLY_EVENTS)
            & (counted._midnights * (100 // _DATE_ONLY_PERCENT) >= counted._events),
        )
        events = events.join(common, "source_id")
        events = events.mutate(day=(events.midnight_us == events.time_us) & events._common)
        events = events.drop("_common")
    else:
        events = events.mutate(day=ibis.literal(False))
    in_case = ibis.window(group_by=list(CASE), order_by=[events.time_us, events.position])
    kind = (
        events.lifecycle.lower()
        .strip()
        .substitute(dict(LIFECYCLE_KINDS), else_=_COMPLETE)
        .cast("int64")
    )
    ev = events.mutate(
        seq=ibis.row_number().over(in_case),
        kind=kind,
        first=events.seen.min().over(ibis.window(group_by=list(CASE))),
        midnight_us=events.midnight_us if detect_dates else events.time_us,
        clock_mid_us=events.clock_mid_us if detect_dates else events.clock_us,
    )
    ev = ev.mutate(closes=ev.kind.isin(_CLOSERS))
    before = ibis.window(group_by=list(CASE), order_by=ev.seq, rows=(None, -1))
    ev = ev.mutate(enabled_seq=ibis.ifelse(ev.closes, ev.seq, None).max().over(before).fill_null(0))
    return _free_since(ev)


def _free_since(ev: ir.Table) -> ir.Table:
    """``ev`` with, at each completion, its resource's previous completion (``free_*``).

    The completions are taken in time order per resource and week (ties: in the order
    the projection keeps rows, by case, then within the case); a week's first takes
    the last of the resource's week before, from a small table of each week's last.
    One window over all of a resource's completions would put them in one task on
    Spark, however many partitions there are.
    """
    columns = ev.columns
    ev = ev.mutate(_week=ev.time_us // _WEEK_US)
    in_week = ibis.window(
        group_by=[ev.resource, ev.closes, ev._week], order_by=[ev.time_us, ev.first, ev.seq]
    )
    ev = ev.mutate(
        _nth=ibis.row_number().over(in_week),
        _last=ev.time_us.lead().over(in_week).isnull(),
        **{f"_lag_{c}": ev[c].lag().over(in_week) for c in _FREE},
    )
    lasts = ev.filter(ev._last & ev.closes & ev.resource.notnull())
    before = ibis.window(group_by=lasts.resource, order_by=lasts._week)
    carried = lasts.select(
        "resource", "_week", **{f"_carry_{c}": lasts[c].lag().over(before) for c in _FREE}
    )
    ev = ev.left_join(carried, ["resource", "_week"]).drop("resource_right", "_week_right")
    first = ev.closes & (ev._nth == 0)
    return ev.select(
        *columns,
        **{f"free_{c}": ibis.ifelse(first, ev[f"_carry_{c}"], ev[f"_lag_{c}"]) for c in _FREE},
    )


def _fifo(
    ev: ir.Table, opens: ir.BooleanValue, closes: ir.BooleanValue
) -> tuple[ir.Table, ir.Table]:
    """Openers paired first in, first out with closers of the same case and activity.

    Returns the closers, each with its opener's moment (``opener_*``, null when none
    was open), and the openers never closed.
    """
    flagged = ev.mutate(opener=opens, closer=closes)
    flagged = flagged.filter(flagged.opener | flagged.closer)
    so_far = ibis.cumulative_window(group_by=list(_GROUP), order_by=flagged.seq)
    counted = flagged.mutate(
        s=flagged.opener.cast("int64").sum().over(so_far),
        k=flagged.closer.cast("int64").sum().over(so_far),
    )
    counted = counted.mutate(
        low=ibis.ifelse(counted.opener, _LARGE, counted.s - counted.k).min().over(so_far)
    )
    closers = counted.filter(counted.closer)
    closers = closers.mutate(used=closers.k + ibis.least(0, closers.low))
    previous = closers.used.lag().over(ibis.window(group_by=list(_GROUP), order_by=closers.seq))
    closers = closers.mutate(
        rank=ibis.ifelse(closers.used > previous.fill_null(0), closers.used, None)
    )
    # At an opener, the openers counted so far are its rank among them.
    openers = counted.filter(counted.opener).mutate(rank=counted.s)
    taken = openers.select(
        *_GROUP,
        "rank",
        **{f"opener_{c}": openers[c] for c in (*_MOMENT, "resource", "enabled_seq")},
    )
    paired = closers.left_join(taken, [*_GROUP, "rank"]).drop(
        *(f"{c}_right" for c in (*_GROUP, "rank"))
    )
    used = closers.group_by(list(_GROUP)).aggregate(used=closers.used.max())
    never = openers.left_join(used, list(_GROUP))
    never = never.filter(never.rank > never.used.fill_null(0)).drop(
        "used", *(f"{c}_right" for c in _GROUP)
    )
    return paired, never


def _span(
    low: dict[str, ir.Value], high: dict[str, ir.Value], *, working: bool
) -> tuple[ir.BooleanValue, ir.FloatingValue, ir.FloatingValue | None]:
    """Whether the span is precise to a day, and its calendar and working seconds."""
    coarse = low["day"] | high["day"]
    lo = ibis.ifelse(coarse, low["midnight_us"], low["time_us"])
    hi = ibis.ifelse(coarse, high["midnight_us"], high["time_us"])
    exact = (hi - lo).cast("float64") / 1e6
    days = ((hi - lo).cast("float64") / _DAY_US).round(0) * 86_400.0
    seconds = ibis.ifelse(coarse, days, exact)
    if not working:
        return coarse, seconds, None
    work = ibis.ifelse(
        coarse,
        high["clock_mid_us"] - low["clock_mid_us"],
        high["clock_us"] - low["clock_us"],
    )
    return coarse, seconds, work.cast("float64") / 1e6


def instances(
    events: ir.Table,
    *,
    estimate_starts: bool = True,
    detect_dates: bool = True,
    working: bool = False,
) -> tuple[ir.Table, ir.Table]:
    """One row per activity instance, and one per schedule never started.

    The instances are in the columns of in the columns of
    :data:`~knelpunt.mining.instances.INSTANCE_COLUMNS` (times as UTC microseconds:
    ``scheduled_us``, ``enabled_us``, ``start_us``, ``complete_us``; null where none),
    with ``first`` and ``anchor`` (the case's first recording, the instance's first
    event in its case) to order them, and with ``working`` also ``waiting_work_s``
    and ``processing_work_s`` (differences of ``clock_us``)."""
    ev = _numbered(events, detect_dates=detect_dates)
    to_start, unstarted = _fifo(ev, ev.kind == _SCHEDULE, ev.kind == _START)
    to_end, open_starts = _fifo(ev, ev.kind == _START, ev.closes)
    moment = (*_MOMENT, "resource", "enabled_seq")
    closed = to_end.select(
        *_GROUP,
        "first",
        **{f"start_{c}": to_end[f"opener_{c}"] for c in moment},
        **{f"end_{c}": to_end[c] for c in (*moment, "kind")},
        **{f"free_{c}": to_end[f"free_{c}"] for c in _FREE},
    )
    left_open = open_starts.select(
        *_GROUP,
        "first",
        **{f"start_{c}": open_starts[c] for c in moment},
        **{f"end_{c}": ibis.null().cast(open_starts[c].type()) for c in (*moment, "kind")},
        **{f"free_{c}": ibis.null().cast(open_starts[c].type()) for c in _FREE},
    )
    inst = closed.union(left_open)
    recorded = inst.start_seq.notnull()
    inst = inst.mutate(
        start_recorded=recorded,
        anchor=inst.start_seq.fill_null(inst.end_seq),
        enabled_seq=ibis.ifelse(recorded, inst.start_enabled_seq, inst.end_enabled_seq),
    )
    enabling = ev.select(*CASE, enabled_seq="seq", **{f"enabled_{c}": ev[c] for c in _MOMENT[1:]})
    inst = inst.join(enabling, [*CASE, "enabled_seq"])
    scheduled = to_start.select(*CASE, start_seq="seq", scheduled_us=to_start.opener_time_us)
    inst = inst.left_join(scheduled, [*CASE, "start_seq"]).drop(
        *(f"{c}_right" for c in (*CASE, "start_seq"))
    )

    enabled = {c: inst[f"enabled_{c}"] for c in _MOMENT[1:]}
    end = {c: inst[f"end_{c}"] for c in _MOMENT[1:]}
    free = {c: inst[f"free_{c}"] for c in _MOMENT[1:]}
    recorded_start = {c: inst[f"start_{c}"] for c in _MOMENT[1:]}
    if estimate_starts:
        # The resource was free later than the case allowed: it started then.
        later = free["time_us"].notnull() & (free["time_us"] > enabled["time_us"])
        guessed = {c: ibis.ifelse(later, free[c], enabled[c]) for c in enabled}
        known = inst.end_resource.notnull()
        guessed = {c: ibis.ifelse(known, guessed[c], end[c]) for c in enabled}
    else:
        guessed = end
    start = {c: ibis.ifelse(inst.start_recorded, recorded_start[c], guessed[c]) for c in enabled}
    has_end = inst.end_seq.notnull()
    finish = {c: ibis.ifelse(has_end, end[c], start[c]) for c in enabled}
    wait_coarse, waiting, waiting_work = _span(enabled, start, working=working)
    work_coarse, processing, processing_work = _span(start, finish, working=working)
    coarse = wait_coarse | (has_end & work_coarse)
    status = ibis.cases(
        (~has_end, "open"),
        (inst.end_kind == _ABORT, "aborted"),
        (inst.end_kind == _SKIP, "skipped"),
        else_="completed",
    )
    extra = {}
    if working:
        extra = {
            "waiting_work_s": waiting_work,
            "processing_work_s": ibis.ifelse(has_end, processing_work, None),
        }
    found = inst.select(
        *CASE,
        "activity",
        resource=ibis.ifelse(has_end, inst.end_resource, inst.start_resource),
        scheduled_us=inst.scheduled_us,
        enabled_us=enabled["time_us"],
        start_us=start["time_us"],
        complete_us=inst.end_time_us,
        waiting_s=waiting,
        processing_s=ibis.ifelse(has_end, processing, None),
        start_recorded=inst.start_recorded,
        status=status,
        precision=ibis.ifelse(coarse, "day", "recorded"),
        waiting_precision=ibis.ifelse(wait_coarse, "day", "recorded"),
        first=inst.first,
        anchor=inst.anchor,
        start_clock_us=start["clock_us"],
        complete_clock_us=inst.end_clock_us,
        **extra,
    )
    return found, unstarted.select(*_GROUP, "seq")


def instance_counts(found: ir.Table, unstarted: ir.Table) -> ir.Table:
    """One row: instances, starts estimated, instances open, instances precise to a day
    only, and schedules never started (the two tables of :func:`instances`)."""
    counts = found.aggregate(
        instances=found.count(),
        estimated=(~found.start_recorded & (found.status != "open")).cast("int64").sum(),
        open=(found.status == "open").cast("int64").sum(),
        day_precision=(found.precision == "day").cast("int64").sum(),
    )
    return counts.cross_join(unstarted.aggregate(unstarted=unstarted.count()))


def activity_times(
    found: ir.Table, *, working: bool = False, percentiles: Percentiles = "aggregate"
) -> ir.Table:
    """Per activity: instances, cases, the share of estimated starts, and waiting and
    processing time (mean, median, 90th percentile, total, in seconds; also in working
    time with ``working``), as :func:`knelpunt.summarise_activities` gives them."""
    measures = ["waiting_s", "processing_s"]
    if working:
        measures += ["waiting_work_s", "processing_work_s"]
    stats: dict[str, ir.Value] = {}
    for column in measures:
        value = found[column]
        stem = column.removesuffix("_s")
        stats |= {
            f"{stem}_mean_s": value.mean(),
            # As Polars adds them: nothing (every instance open) adds up to 0.
            f"{stem}_total_s": value.sum().fill_null(0.0),
        }
    stems = {column.removesuffix("_s"): found[column] for column in measures}
    spread = aggregate_with_quantiles(
        found,
        ["activity"],
        {
            "instances": found.count(),
            "cases": ibis.struct({"s": found.source_id, "c": found.case_id}).nunique(),
            "estimated_share": (~found.start_recorded).cast("float64").mean(),
            **stats,
        },
        stems,
        {"median": 0.5, "p90": 0.9},
        percentiles=percentiles,
    )
    spread = spread.rename(
        {f"{stem}_{part}_s": f"{stem}_{part}" for stem in stems for part in ("median", "p90")}
    )
    order = ["instances", "cases", "estimated_share"]
    for stem in stems:
        order += [f"{stem}_{part}_s" for part in ("mean", "median", "p90", "total")]
    return spread.select("activity", *order)


def _in_order(found: ir.Table) -> tuple[ir.Table, ibis.expr.builders.LegacyWindowBuilder]:
    """The completed instances, and a case's instances in the order a map draws them: by
    start, then completion (then as listed)."""
    done = found.filter(found.complete_us.notnull())
    order = ibis.window(
        group_by=list(CASE), order_by=[done.start_us, done.complete_us, done.first, done.anchor]
    )
    return done, order


def instance_edges(found: ir.Table, *, percentiles: Percentiles = "aggregate") -> ir.Table:
    """The map of activity instances (as :func:`knelpunt.discover_map` draws
    :class:`~knelpunt.ActivityInstances`): per pair of instances that follow each other
    in a case, the wait from one's completion to the next one's start (0 when they
    overlap), in the clock of ``*_clock_us``; the columns of :func:`definitions.edges`."""
    done, order = _in_order(found)
    pairs = done.select(
        *CASE,
        source=done.activity,
        target=done.activity.lead().over(order),
        duration_us=ibis.greatest(done.start_clock_us.lead().over(order), done.complete_clock_us)
        - done.complete_clock_us,
    )
    pairs = pairs.filter(pairs.target.notnull())
    seconds = pairs.duration_us.cast("float64") / 1e6
    return edge_statistics(pairs, seconds, seconds=lambda v: v, percentiles=percentiles)


def instance_ends(found: ir.Table) -> ir.Table:
    """Per case with a completed instance: the activity of its first and of its last."""
    done, order = _in_order(found)
    ranked = done.mutate(
        step=ibis.row_number().over(order),
        steps=done.count().over(ibis.window(group_by=list(CASE))),
    )
    return ranked.group_by(list(CASE)).aggregate(
        first_activity=ranked.activity.arbitrary(where=ranked.step == 0),
        last_activity=ranked.activity.arbitrary(where=ranked.step == ranked.steps - 1),
    )
