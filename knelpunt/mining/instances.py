"""Activity instances: lifecycle events paired into enabled, start and complete.

Definitions:

* **Pairing.** Within a case and activity, a ``start`` event is paired with the
  next ``complete`` (first in, first out, as pm4py's ``to_interval``), and a
  ``schedule`` (or ``assign``/``reassign``) event with the next ``start``. An
  ``ate_abort``, ``pi_abort`` or ``withdraw`` ends an instance as *aborted*,
  ``autoskip``/``manualskip`` as *skipped*; ``suspend`` and ``resume`` are
  kept inside the instance's processing time. Events without a lifecycle, or
  with one of another vocabulary, are completions. Unpaired events are never
  dropped: a start without completion is an *open* instance; a completion
  without start is an instance whose start is unknown (see below); a
  schedule never started is counted in :attr:`ActivityInstances.unstarted`.
* **Enabled** is when the instance's causal predecessor completed: the latest
  completion of another instance of the case at or before its start (in the
  event order). The case's first instance is enabled at the case's first
  event, so a scheduled first step waits from its schedule.
* **Waiting** = start − enabled; **processing** = complete − start. Both are
  never negative, and in a case whose instances do not overlap they add up
  to the case's duration.
* **Estimated starts.** A completion without a start gets the start
  ``max(enabled, the resource's previous completion)``: the resource could
  not start before the case allowed it, nor before it finished its previous
  piece of work (the resource-availability method of Martin, Depaire and
  Caris, and of Chapela-Campa and Dumas's start-time estimator). Without a
  known resource the start is the completion itself (processing 0, all the
  time counts as waiting). Every such instance has ``start_estimated`` set,
  and :attr:`ActivityInstances.notes` says how many there are.
* **Day precision.** Events of a source that carry a date only (they sit at
  local midnight, and at least 5 and 1% of the source's events do, where
  chance would put one in 86,400 there) make every duration they bound
  precise to a day: such a duration is the difference of the two local dates
  (in working time: the working time of the whole days between), never a
  fake minute-level wait. ``precision`` is ``day`` when the wait or the
  processing is; ``waiting_precision`` says it of the wait alone.
* **Working time.** With a :class:`~knelpunt.worktime.WorkCalendar`, each
  duration is also given in working seconds (``waiting_work_s``,
  ``processing_work_s``); processing of a resource with its own calendar in
  ``resource_calendars`` counts that resource's hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import polars as pl

from knelpunt.mining.projection import EventTable
from knelpunt.worktime import WorkCalendar, WorkClock

__all__ = [
    "INSTANCE_COLUMNS",
    "LIFECYCLE_KINDS",
    "ActivityInstances",
    "enabling_rows",
    "local_midnights",
    "pair_instances",
    "summarise_activities",
]

_US: Final = 1_000_000.0
_DATE_ONLY_SHARE: Final = 0.01
_DATE_ONLY_EVENTS: Final = 5
# Where the day of a date-only event begins, without a calendar saying otherwise.
DEFAULT_ZONE: Final = "Europe/Amsterdam"

# Lifecycle kinds: what each lifecycle transition does in an instance (any other, or
# none, is a completion).
_SCHEDULE, _START, _COMPLETE, _ABORT, _SKIP, _INSIDE = range(6)
LIFECYCLE_KINDS: Final[Mapping[str, int]] = {
    "schedule": _SCHEDULE,
    "assign": _SCHEDULE,
    "reassign": _SCHEDULE,
    "start": _START,
    "complete": _COMPLETE,
    "ate_abort": _ABORT,
    "pi_abort": _ABORT,
    "withdraw": _ABORT,
    "autoskip": _SKIP,
    "manualskip": _SKIP,
    "suspend": _INSIDE,
    "resume": _INSIDE,
}
_STATUS: Final = {_COMPLETE: "completed", _ABORT: "aborted", _SKIP: "skipped"}

INSTANCE_COLUMNS: Final = (
    "source_id",
    "case_id",
    "activity",
    "resource",
    "scheduled",
    "enabled",
    "start",
    "complete",
    "waiting_s",
    "processing_s",
    "start_recorded",
    "status",
    "precision",
    "waiting_precision",
)


@dataclass(frozen=True, slots=True)
class ActivityInstances:
    """Activity instances with their enabled, start and complete times.

    Attributes:
        instances: one row per instance (see :data:`INSTANCE_COLUMNS`; with a
            calendar also ``waiting_work_s`` and ``processing_work_s``), by
            case and start. Times are UTC; durations are seconds, NaN for an
            open instance's processing.
        estimated: instances whose start was estimated.
        open: instances started and never completed.
        unstarted: schedule events never followed by a start.
        day_precision: instances with a duration precise to a day only.
        calendar: the working calendar used, or None.
        notes: what a reader of any result built on these must know.
    """

    instances: pd.DataFrame
    estimated: int
    open: int
    unstarted: int
    day_precision: int
    calendar: WorkCalendar | None
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The instances (see :attr:`instances`)."""
        return self.instances

    def _repr_html_(self) -> str:
        head = (
            f"<p>{len(self.instances):,} activity instances; {self.estimated:,} with an "
            f"estimated start, {self.open:,} never completed</p>"
        )
        return head + self.instances.head(10).to_html(index=False)


def pair_instances(
    table: EventTable,
    *,
    calendar: WorkCalendar | None = None,
    resource_calendars: Mapping[str, WorkCalendar] | None = None,
    estimate_starts: bool = True,
    detect_dates: bool = True,
) -> ActivityInstances:
    """Pair the events into activity instances and split their time.

    Args:
        table: the events (see :func:`knelpunt.load_events`).
        calendar: counts durations also in working time when given.
        resource_calendars: a resource's own hours, for its processing time.
        estimate_starts: estimate missing starts (see the module notes); when
            False a completion without start is instantaneous.
        detect_dates: treat date-only events as precise to a day.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     found = kp.pair_instances(kp.load_events(store))
        >>> len(found.instances), found.estimated
        (15, 15)
    """
    kind = _kinds(table)
    case = table.case.astype(np.int64)
    group = case * max(len(table.activities), 1) + table.activity
    rows = np.arange(len(table), dtype=np.int64)

    # schedule -> start, then start -> completion (or abort, skip).
    is_start = kind == _START
    is_end = (kind == _COMPLETE) | (kind == _ABORT) | (kind == _SKIP)
    sched_for_start, all_starts, unstarted = _fifo(group, rows, kind == _SCHEDULE, is_start)
    start_of_end, end_rows, open_starts = _fifo(group, rows, is_start, is_end)

    start_row = np.concatenate([start_of_end, open_starts])
    end_row = np.concatenate([end_rows, np.full(len(open_starts), -1, np.int64)])
    anchor = np.where(start_row >= 0, start_row, end_row)
    order = np.argsort(anchor, kind="stable")  # rows are in case, time order
    start_row, end_row, anchor = start_row[order], end_row[order], anchor[order]
    schedule_row = np.full(len(anchor), -1, np.int64)
    scheduled = start_row >= 0
    schedule_row[scheduled] = sched_for_start[np.searchsorted(all_starts, start_row[scheduled])]

    inst_case = case[anchor]
    enabled_row = _enabled_rows(table, np.sort(end_rows), anchor, inst_case)
    recorded = start_row >= 0
    estimated = ~recorded & estimate_starts
    start_row = np.where(recorded, start_row, end_row)
    if estimated.any():
        start_row[estimated] = _estimated_starts(
            table, end_rows, enabled_row[estimated], end_row[estimated]
        )

    zone = calendar.timezone if calendar is not None else DEFAULT_ZONE
    midnight = local_midnights(table.time_us, zone) if detect_dates else table.time_us
    day = _date_only(table, midnight) if detect_dates else np.zeros(len(table), dtype=bool)
    has_end = end_row >= 0
    safe_end = np.where(has_end, end_row, start_row)
    waits = _Spans(table.time_us, midnight, day, enabled_row, start_row)
    works = _Spans(table.time_us, midnight, day, start_row, safe_end)
    waiting = waits.seconds()
    processing = np.where(has_end, works.seconds(), np.nan)
    coarse = waits.coarse | (has_end & works.coarse)

    resource = np.where(has_end, table.resource[safe_end], table.resource[start_row])
    frame = pd.DataFrame(
        {
            "source_id": table.case_sources[inst_case],
            "case_id": table.case_ids[inst_case],
            "activity": pd.Categorical.from_codes(
                table.activity[anchor], categories=pd.Index(_unique(table.activities))
            ),
            "resource": pd.Categorical.from_codes(
                resource.astype(np.int64), categories=pd.Index(_unique(table.resources))
            ),
            "scheduled": _times(table.time_us, schedule_row),
            "enabled": _times(table.time_us, enabled_row),
            "start": _times(table.time_us, start_row),
            "complete": _times(table.time_us, end_row),
            "waiting_s": waiting,
            "processing_s": processing,
            "start_recorded": recorded,
            "status": _statuses(kind, end_row),
            "precision": np.where(coarse, "day", "recorded"),
            "waiting_precision": np.where(waits.coarse, "day", "recorded"),
        }
    )
    if calendar is not None:
        waiting_work, processing_work = _working(
            table, calendar, resource_calendars or {}, waits, works, resource
        )
        frame["waiting_work_s"] = waiting_work
        frame["processing_work_s"] = np.where(has_end, processing_work, np.nan)
    counts = {
        "estimated": int(estimated.sum()),
        "open": len(open_starts),
        "unstarted": len(unstarted),
        "day_precision": int(coarse.sum()),
    }
    notes = instance_notes(len(frame), **counts, estimate=estimate_starts)
    if calendar is not None and resource_calendars:
        present = set(_unique(table.resources))
        own = sorted(name for name in resource_calendars if str(name) in present)
        if own:
            notes += (
                f"Processing by {len(own)} resource(s) with their own hours "
                f"({', '.join(own[:5])}{', ...' if len(own) > 5 else ''}) is counted in "
                "those hours; waiting in the general calendar.",
            )
    return ActivityInstances(instances=frame, calendar=calendar, notes=notes, **counts)


def _kinds(table: EventTable) -> np.ndarray:
    per_name = np.array(
        [LIFECYCLE_KINDS.get(str(name).strip().lower(), _COMPLETE) for name in table.lifecycles]
        + [_COMPLETE],  # code -1: no lifecycle
        dtype=np.int8,
    )
    return np.asarray(per_name[table.lifecycle])


def _fifo(
    group: np.ndarray, rows: np.ndarray, opens: np.ndarray, closes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First-in-first-out pairing of openers with closers in the same group.

    Returns, per closer (in row order), the row of its opener or -1; the
    closers' rows; and the rows of openers never closed. The k-th closer of a
    group takes the oldest open opener; with s_j the openers before closer j,
    the number matched after k closers is k + min(0, min_{j<=k}(s_j - j)), so
    the whole pairing is segmented cumulative sums and a cumulative minimum.
    """
    keep = np.flatnonzero(opens | closes)
    if len(keep) == 0:
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    order = np.argsort(group[keep], kind="stable")  # by group, then row
    at, g = rows[keep][order], group[keep][order]
    is_open = opens[at]
    first = np.ones(len(at), dtype=bool)
    first[1:] = g[1:] != g[:-1]
    number = np.cumsum(first) - 1  # the group's number, 0.. in sorted order
    starts = np.flatnonzero(first)

    def within(flags: np.ndarray) -> np.ndarray:
        """Cumulative count of ``flags`` within each group (inclusive)."""
        total = np.cumsum(flags, dtype=np.int64)
        return np.asarray(total - (total - flags)[starts][number], dtype=np.int64)

    s = within(is_open)
    k = within(~is_open)
    closer = ~is_open
    s, k, grp, closer_rows = s[closer], k[closer], number[closer], at[closer]
    # A cumulative minimum that restarts at each group: shift each group below
    # all earlier ones (values are within +-n), accumulate, shift back.
    shift = grp * (2 * len(at) + 2)
    running = np.minimum.accumulate(s - k - shift) + shift
    matched_count = k + np.minimum(running, 0)
    before = np.zeros(len(matched_count), dtype=np.int64)
    before[1:] = matched_count[:-1]
    opens_group = np.ones(len(grp), dtype=bool)
    opens_group[1:] = grp[1:] != grp[:-1]
    before[opens_group] = 0
    matched = matched_count > before
    opener_rows = at[is_open]
    per_group = np.bincount(number[is_open], minlength=len(starts))
    offset = np.concatenate([[0], np.cumsum(per_group)[:-1]])
    paired = np.full(len(closer_rows), -1, np.int64)
    paired[matched] = opener_rows[offset[grp[matched]] + matched_count[matched] - 1]
    used = np.zeros(len(starts), dtype=np.int64)
    np.maximum.at(used, grp, matched_count)
    never = opener_rows[_unclosed(number[is_open], per_group, used)]
    by_row = np.argsort(closer_rows, kind="stable")
    return paired[by_row], closer_rows[by_row], np.sort(never)


def _unclosed(groups: np.ndarray, per_group: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Mask over the openers (sorted by group, then row): those beyond the used ones."""
    offset = np.concatenate([[0], np.cumsum(per_group)[:-1]])
    rank = np.arange(len(groups)) - offset[groups]  # 0-based place within its group
    return np.asarray(rank >= used[groups])


def _enabled_rows(
    table: EventTable, end_rows: np.ndarray, anchor: np.ndarray, inst_case: np.ndarray
) -> np.ndarray:
    """The row of the latest other completion before each anchor, else the case's first row."""
    first = np.asarray(table.case_start[inst_case], dtype=np.int64)
    if len(end_rows) == 0:
        return first
    before = np.searchsorted(end_rows, anchor, side="left") - 1
    found = end_rows[np.clip(before, 0, None)]
    valid = (before >= 0) & (table.case[found] == inst_case)
    return np.where(valid, found, first)


def _estimated_starts(
    table: EventTable, end_rows: np.ndarray, enabled: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """Rows of estimated starts: max(enabled, the resource's previous completion).

    Without a known resource, the completion itself.
    """
    resource = table.resource[end_rows]
    known = resource >= 0
    # Each resource's completions in time order; the one before each is when it was free.
    by_resource = pl.DataFrame(
        {"r": resource[known], "t": table.time_us[end_rows[known]], "row": end_rows[known]}
    ).sort("r", "t", "row")
    free = by_resource.with_columns(pl.col("row").shift(1).over("r").fill_null(-1).alias("free"))
    free_row = np.full(len(table), -1, np.int64)
    free_row[free["row"].to_numpy()] = free["free"].to_numpy()
    previous = free_row[ends]
    later = (previous >= 0) & (table.time_us[np.clip(previous, 0, None)] > table.time_us[enabled])
    start = np.where(later, previous, enabled)
    return np.where(table.resource[ends] >= 0, start, ends)


def _date_only(table: EventTable, midnight: np.ndarray) -> np.ndarray:
    """Per event: it carries a date only (local midnight, in a source where that is common)."""
    at_midnight = midnight == table.time_us
    if not at_midnight.any():
        return np.asarray(at_midnight)
    source = table.case_sources[table.case]
    per_source = pd.Series(at_midnight).groupby(source).agg(["mean", "sum"])
    common = per_source[
        (per_source["mean"] >= _DATE_ONLY_SHARE) & (per_source["sum"] >= _DATE_ONLY_EVENTS)
    ].index.to_numpy()
    return np.asarray(at_midnight & np.isin(source, common))


def local_midnights(time_us: np.ndarray, zone: str) -> np.ndarray:
    """The local midnight at or before each instant, in UTC microseconds."""
    local = pd.DatetimeIndex(pd.to_datetime(time_us, unit="us", utc=True)).tz_convert(zone)
    return np.asarray(local.normalize().tz_convert("UTC").as_unit("us").asi8, dtype=np.int64)


class _Spans:
    """Durations from row ``low`` to row ``high``; where either end is date-only, both
    ends are taken at their local midnight, so the span is whole days."""

    def __init__(
        self,
        time_us: np.ndarray,
        midnight: np.ndarray,
        day: np.ndarray,
        low: np.ndarray,
        high: np.ndarray,
    ) -> None:
        self.coarse = day[low] | day[high]
        self.low = np.where(self.coarse, midnight[low], time_us[low])
        self.high = np.where(self.coarse, midnight[high], time_us[high])

    def seconds(self) -> np.ndarray:
        """Calendar seconds; whole days (86,400 s, also across a clock change) where coarse."""
        exact = np.asarray((self.high - self.low) / _US, dtype=float)
        days = np.round((self.high - self.low) / (86_400 * _US))  # a clock change is +-1 h
        return np.where(self.coarse, days * 86_400.0, exact)

    def working(self, clock: WorkClock, only: np.ndarray | None = None) -> np.ndarray:
        """Working seconds by ``clock`` (for the spans in the ``only`` mask, if given)."""
        low, high = (self.low, self.high) if only is None else (self.low[only], self.high[only])
        return np.asarray((clock.read(high) - clock.read(low)) / _US, dtype=float)


def _working(
    table: EventTable,
    calendar: WorkCalendar,
    resource_calendars: Mapping[str, WorkCalendar],
    waits: _Spans,
    works: _Spans,
    resource: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Working seconds of waiting and processing (a resource's own calendar for processing)."""
    if len(table) == 0:
        return np.empty(0), np.empty(0)
    # Midnights lie at most a day before the earliest event; clocks start a day earlier.
    low, high = int(table.time_us.min()), int(table.time_us.max())
    default = calendar.clock(low, high)
    waiting = waits.working(default)
    processing = works.working(default)
    names = {str(name): code for code, name in enumerate(table.resources)}
    for name, own in resource_calendars.items():
        code = names.get(str(name))
        mine = resource == code if code is not None else None
        if mine is not None and mine.any():
            processing[mine] = works.working(own.clock(low, high), mine)
    return waiting, processing


def _times(time_us: np.ndarray, rows: np.ndarray) -> pd.Series:
    values = np.where(rows >= 0, time_us[np.clip(rows, 0, None)], np.iinfo(np.int64).min)
    return pd.Series(values.astype("datetime64[us]")).dt.tz_localize("UTC")


def _unique(names: np.ndarray) -> list[str]:
    return [str(n) for n in names]


def _statuses(kind: np.ndarray, end_row: np.ndarray) -> pd.Categorical[str]:
    labels = ["open", "completed", "aborted", "skipped"]
    code = np.zeros(len(end_row), dtype=np.int64)
    ended = end_row >= 0
    end_kind = kind[end_row[ended]]
    code[ended] = np.select([end_kind == _ABORT, end_kind == _SKIP], [2, 3], default=1)
    return pd.Categorical.from_codes(code, categories=pd.Index(labels))


def instance_notes(
    total: int, *, estimated: int, open: int, unstarted: int, day_precision: int, estimate: bool
) -> tuple[str, ...]:
    notes = []
    if estimated:
        notes.append(
            f"{estimated:,} of {total:,} activity instances have an estimated start "
            "(the log records their completion only): start = the later of when the case "
            "allowed it and when its resource finished its previous work."
        )
    elif not estimate:
        notes.append("Completions without a start count as instantaneous (starts not estimated).")
    if open:
        notes.append(f"{open:,} instance(s) started and never completed; their processing is open.")
    if unstarted:
        notes.append(f"{unstarted:,} scheduled instance(s) never started.")
    if day_precision:
        notes.append(
            f"{day_precision:,} instance(s) have timestamps with a date only: their "
            "waiting or processing counts in whole days, from local midnight to local midnight."
        )
    return tuple(notes)


def summarise_activities(found: ActivityInstances) -> pd.DataFrame:
    """Per activity: instances, cases, and waiting and processing time (mean, median,
    90th percentile, total, in seconds; also in working time when a calendar was used),
    with the share of instances whose start was estimated.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     steps = kp.pair_instances(kp.load_events(store),
        ...                               calendar=kp.WorkCalendar.office_hours())
        >>> table = kp.summarise_activities(steps).set_index("activity")
        >>> int(table.loc["Keukentafelgesprek", "instances"]), "waiting_work_median_s" in table
        (3, True)
    """
    frame = pl.from_pandas(
        found.instances.drop(columns=["scheduled", "enabled", "start", "complete"]).assign(
            activity=lambda f: f["activity"].astype(str),
            status=lambda f: f["status"].astype(str),
        )
    )
    measures = [
        c
        for c in ("waiting_s", "processing_s", "waiting_work_s", "processing_work_s")
        if c in frame.columns
    ]
    stats = []
    for column in measures:
        value = pl.col(column)
        stem = column.removesuffix("_s")
        stats += [
            value.mean().alias(f"{stem}_mean_s"),
            value.median().alias(f"{stem}_median_s"),
            value.quantile(0.9, interpolation="linear").alias(f"{stem}_p90_s"),
            value.sum().alias(f"{stem}_total_s"),
        ]
    out = (
        frame.group_by("activity")
        .agg(
            pl.len().alias("instances"),
            pl.struct("source_id", "case_id").n_unique().alias("cases"),
            (~pl.col("start_recorded")).mean().alias("estimated_share"),
            *stats,
        )
        .sort(["instances", "activity"], descending=[True, False])
    )
    return out.to_pandas()


def enabling_rows(instances: pd.DataFrame) -> np.ndarray:
    """Per instance (by position), the position of the instance in its case whose
    completion enabled it (-1: none), as :func:`pair_instances` enables: the latest
    completion in the case at or before the enabled time."""
    frame = instances.reset_index(drop=True)
    rows = pd.Series(np.arange(len(frame)), name="row")
    key = frame["source_id"].astype(str) + "\x1f" + frame["case_id"].astype(str)
    done = frame["enabled"].notna()
    known = frame["complete"].notna()
    left = pd.DataFrame(
        {"row": rows[done], "key": key[done], "enabled": frame.loc[done, "enabled"]}
    )
    right = pd.DataFrame(
        {"previous": rows[known], "key": key[known], "complete": frame.loc[known, "complete"]}
    )
    matched = pd.merge_asof(
        left.sort_values("enabled"),
        right.sort_values("complete"),
        left_on="enabled",
        right_on="complete",
        by="key",
        direction="backward",
    )
    matched = matched[matched["previous"].notna() & (matched["previous"] != matched["row"])]
    out = np.full(len(frame), -1, dtype=np.int64)
    out[matched["row"].to_numpy(dtype=np.int64)] = matched["previous"].to_numpy(dtype=np.int64)
    return out
