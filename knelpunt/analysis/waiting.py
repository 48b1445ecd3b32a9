"""Why cases wait: each waiting interval split into its causes, by Kronos' method.

The method is that of Kronos (Lashkevich, Milani, Chapela-Campa, Suvorau and
Dumas, "Why am I waiting? Data-driven analysis of waiting times in business
processes", CAiSE 2023), applied to the activity instances of
:func:`~knelpunt.mining.instances.pair_instances`. An instance waits from
when it was *enabled* to its *start*; that wait is split into:

* **batching**: instances of one activity by one resource form a batch when,
  in start order, each was enabled no later than the batch's first start and
  started at most ``batch_gap`` after the batch's work so far ended (one after
  the other, or together), with at least ``batch_min_size`` of them: a weekly
  meeting, a nightly run. The batching wait runs from the instance's enabled
  time to the moment its batch was complete (the latest enabled time in it).
* **contention**: the resource was processing other instances that were
  enabled no later than this one (for work outside its own batch: no later
  than its batch was complete);
* **prioritisation**: the resource was processing instances enabled later;
* **unavailability**: outside the resource's working hours (its own calendar
  from the profile, else the organisation's), and not busy;
* **extraneous**: the rest (the citizen, a partner, a system outside the log).

Overlaps are removed in that order, so the five parts are never negative and
add up to the wait. Where the data cannot tell a cause apart, the split says
so instead of guessing: an instance without a resource (of an activity that
has resources elsewhere in the log, or in a log without any) has its
contention, prioritisation and extraneous time as **undetermined**; an
activity that never has a resource in a log that has them is taken to happen
outside the organisation (no resource to contend for, so the rest is
extraneous). Instances whose start was estimated (completion-only logs) are
split on the estimate, which assumes the resource worked on its previous
piece of work until it completed it; the notes say how much waiting rests on
that. Where an end of the wait carries a date only, both ends count from
their local midnight, as in ``pair_instances``.

Differences from Kronos, on purpose: the enabled time is ``pair_instances``'
(the latest completion in the case before the start, not a concurrency
oracle), instances without a resource are kept (Kronos drops them), and two
rules keep waits for the outside world from being read as the resource's:

* a resource that had more than ``idle_gap_s`` of free working time between
  two pieces of its recorded work after the instance was enabled had no queue
  then, so its causes (contention, prioritisation, unavailability) count only
  from its last free moment; the wait before that is extraneous;
* being passed over by cases enabled later is prioritisation only for a
  resource seen to do that with work that was ready at once (work following
  its own previous step); a resource that serves such work first come, first
  served did not prioritise: the case it passed over was not ready yet.

``idle_gap_s=None, prioritisation="kronos", multitasking=None`` gives Kronos'
rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from knelpunt.analysis._segments import covering_min, ranges, weight_below
from knelpunt.analysis.calendars import discover_calendars
from knelpunt.errors import AnalysisError
from knelpunt.mining.instances import (
    ActivityInstances,
    enabling_rows,
    local_midnights,
    pair_instances,
)
from knelpunt.mining.projection import EventTable
from knelpunt.profile import Profile, read_profile
from knelpunt.worktime import WorkCalendar, WorkClock

__all__ = ["CAUSES", "WaitingSplit", "check_split_options", "split_waiting"]

CAUSES: Final = ("batching", "contention", "prioritisation", "unavailability", "extraneous")
PARTS: Final = (*CAUSES, "undetermined")
_US: Final = 1_000_000
# The working clocks in use, and per instance the number of the one its resource keeps.
Clocks = tuple[list[WorkClock], np.ndarray]
NAT: Final = np.iinfo(np.int64).min
_LATEST: Final = np.iinfo(np.int64).max
# Evidence that a resource serves ready work in order: this many waits of work that
# follows its own previous step, less than this share of their waiting passed over.
_READY_WAITS: Final = 10
_REORDERED: Final = 0.01
# Free time is known only for a resource whose recorded work fills this share of the
# working hours of the days it works.
_RECORDED: Final = 0.5


@dataclass(frozen=True, slots=True)
class WaitingSplit:
    """Every wait of a log, split into its causes.

    Attributes:
        instances: the activity instances of ``pair_instances`` with, per
            instance, ``batch`` (its batch number, -1 when none) and the wait in
            seconds per part: ``batching_s``, ``contention_s``,
            ``prioritisation_s``, ``unavailability_s``, ``extraneous_s`` and
            ``undetermined_s``, which add up to ``waiting_s``.
        batches: one row per batch: activity, resource, size, first start,
            last completion and ``ready`` (when its last member was enabled).
        calendar: the organisation's working calendar used for unavailability.
        notes: what a reader must know about the data behind the split.
    """

    instances: pd.DataFrame
    batches: pd.DataFrame
    calendar: WorkCalendar
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The instances with their split (see :attr:`instances`)."""
        return self.instances

    def totals(self) -> pd.DataFrame:
        """Per part: seconds, hours and share of all waiting."""
        return cause_totals(self.instances)

    def by_activity(self) -> pd.DataFrame:
        """Per activity: instances, waiting instances and the seconds of each part,
        most waiting first."""
        frame = self.instances.assign(activity=self.instances["activity"].astype(str))
        frame["waits"] = frame["waiting_s"] > 0
        columns = ["waiting_s", *(f"{part}_s" for part in PARTS)]
        grouped = frame.groupby("activity", observed=True)
        out = grouped[columns].sum()
        out.insert(0, "waits", grouped["waits"].sum())
        out.insert(0, "instances", grouped.size())
        return out.sort_values("waiting_s", ascending=False).reset_index()

    def _repr_html_(self) -> str:
        table = self.totals().assign(share=lambda f: (100 * f["share"]).round(1))
        return (
            f"<p>Waiting of {len(self.instances):,} activity instances, by cause "
            f"(share in %).</p>{table.to_html(index=False, float_format='{:,.1f}'.format)}"
        )


def split_waiting(
    events: EventTable | ActivityInstances,
    *,
    profile: Profile | str | None = None,
    calendar: WorkCalendar | None = None,
    resource_calendars: Mapping[str, WorkCalendar] | None = None,
    hours: Literal["discover", "profile"] = "discover",
    multitasking: float | None = 0.5,
    idle_gap_s: float | None = 3600.0,
    prioritisation: Literal["evidence", "kronos"] = "evidence",
    batch_min_size: int = 2,
    batch_gap_s: float = 0.0,
) -> WaitingSplit:
    """Split every wait into batching, contention, prioritisation, unavailability
    and extraneous time (see the module documentation).

    Args:
        events: the events (their instances are paired here), or instances
            already paired by :func:`~knelpunt.mining.instances.pair_instances`.
        profile: the organisation's calendar and people's own hours: a
            :class:`Profile` or the name or path of one.
        calendar: the organisation's calendar (overrides the profile's; without
            either, Monday to Friday 09:00-17:00 with Dutch public holidays).
        resource_calendars: hours of resources that differ (over the profile's).
        hours: ``"discover"`` learns the hours of resources that neither the
            profile nor ``resource_calendars`` describe from their recorded work
            (see :func:`~knelpunt.analysis.calendars.discover_calendars`);
            ``"profile"`` gives them the organisation's calendar.
        multitasking: a resource whose work overlaps its own other work for at
            least this share of its working time serves many cases at once (a
            care provider): it has no queue, so its waits get no batching,
            contention or prioritisation. Work started at the same moment (a
            run sending all its messages at 02:00) is one batch, not
            multitasking. None treats every
            resource as doing one thing at a time, as Kronos does.
        idle_gap_s: a resource that had more than this much working time free
            of recorded work after an instance was enabled had no queue then: the
            instance was not waiting for it before the last such moment, so that
            earlier part is neither contention, prioritisation nor unavailability
            but extraneous (the citizen, the network, a partner). Only time
            between two pieces of its recorded work counts; shorter gaps (opening
            the next file, the slack of learnt hours at either end of a day) still
            count as busy, and before its first recorded work nothing is known;
            nor for a resource whose recorded work fills less than half the
            working hours of the days it works (it does other things the log
            does not show). None counts every moment the resource was busy or
            off, as Kronos does.
        prioritisation: ``"evidence"`` counts being passed over by cases enabled
            later as prioritisation only for a resource that does so with work
            that was ready at once. A resource with an activity that follows its
            own previous step in the case and is passed over for less than 1% of
            its waiting (at least 10 waits) serves ready work in order: a case it
            passed over elsewhere was not ready (waiting for the citizen, the
            network, a partner), so that part is extraneous. ``"kronos"`` counts
            all of it as prioritisation, as Kronos does.
        batch_min_size: the fewest instances that make a batch (Kronos: 2).
        batch_gap_s: the longest idle gap within a batch, in seconds (Kronos: 0).

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=20, seed=2), name="demo")
        ...     split = kp.split_waiting(kp.load_events(store))
        >>> parts = split.totals()
        >>> bool(abs(parts["seconds"].sum() - split.instances["waiting_s"].sum()) < 1e-3)
        True
    """
    check_split_options(
        hours=hours,
        multitasking=multitasking,
        idle_gap_s=idle_gap_s,
        prioritisation=prioritisation,
        batch_min_size=batch_min_size,
        batch_gap_s=batch_gap_s,
    )
    if isinstance(profile, str):
        profile = read_profile(profile)
    if isinstance(events, ActivityInstances):
        names = events.instances["resource"].dropna().astype(str).unique()
        calendar = calendar or events.calendar
    else:
        names = events.resources
    calendar = calendar or (profile.calendar if profile is not None else None)
    calendar = calendar or WorkCalendar.office_hours()
    own = dict(profile.resource_calendars(names)) if profile is not None else {}
    own.update(resource_calendars or {})
    paired = (
        events
        if isinstance(events, ActivityInstances)
        else pair_instances(events, calendar=calendar, resource_calendars=own)
    )
    if hours == "discover":
        own = {**discover_calendars(paired, base=calendar), **own}
    splitter = _Splitter(paired, calendar, own, batch_min_size, round(batch_gap_s * _US))
    idle_gap = None if idle_gap_s is None else round(idle_gap_s * _US)
    return splitter.run(multitasking, idle_gap, evidence=prioritisation == "evidence")


def check_split_options(
    *,
    hours: str,
    multitasking: float | None,
    idle_gap_s: float | None,
    prioritisation: str,
    batch_min_size: int,
    batch_gap_s: float,
) -> None:
    """Refuse an option of :func:`split_waiting` out of its range, saying which.

    Raises:
        AnalysisError: naming the option and what it takes.
    """
    if batch_min_size < 2:
        raise AnalysisError(
            f"A batch has at least 2 instances; batch_min_size={batch_min_size} cannot be used."
        )
    if not batch_gap_s >= 0:
        raise AnalysisError(f"batch_gap_s is a number of seconds >= 0, not {batch_gap_s}.")
    if hours not in ("discover", "profile"):
        raise AnalysisError(f"hours is 'discover' or 'profile', not {hours!r}.")
    if prioritisation not in ("evidence", "kronos"):
        raise AnalysisError(f"prioritisation is 'evidence' or 'kronos', not {prioritisation!r}.")
    if idle_gap_s is not None and not idle_gap_s >= 0:
        raise AnalysisError(f"idle_gap_s is a number of seconds >= 0, or None; not {idle_gap_s}.")
    if multitasking is not None and not 0 < multitasking <= 1:
        raise AnalysisError(
            f"multitasking is a share between 0 and 1, or None; not {multitasking}."
        )


def cause_totals(rows: pd.DataFrame) -> pd.DataFrame:
    """Per part, over ``rows`` (with a ``{part}_s`` column each): seconds, hours and the
    share of all waiting."""
    seconds = [float(rows[f"{part}_s"].sum()) for part in PARTS]
    total = sum(seconds)
    return pd.DataFrame(
        {
            "cause": PARTS,
            "seconds": seconds,
            "hours": [s / 3600 for s in seconds],
            "share": [s / total if total > 0 else 0.0 for s in seconds],
        }
    )


class _Splitter:
    def __init__(
        self,
        paired: ActivityInstances,
        calendar: WorkCalendar,
        own: Mapping[str, WorkCalendar],
        batch_min_size: int,
        batch_gap_us: int,
    ) -> None:
        frame = paired.instances
        self.paired = paired
        self.frame = frame
        self.calendar = calendar
        self.own = own
        self.min_size = batch_min_size
        self.gap = batch_gap_us
        self.res = frame["resource"].cat.codes.to_numpy(dtype=np.int64)
        self.act = frame["activity"].cat.codes.to_numpy(dtype=np.int64)
        self.e = utc_micros(frame["enabled"])
        self.s = utc_micros(frame["start"])
        self.c = utc_micros(frame["complete"])
        # Waits with a date-only end: both ends from their local midnight, as
        # pair_instances counts them (a date-only completion leaves the wait exact).
        day = (frame.get("waiting_precision", frame["precision"]) == "day").to_numpy()
        if day.any():
            zone = calendar.timezone
            self.e = np.where(day & (self.e != NAT), local_midnights(self.e, zone), self.e)
            self.s = np.where(day & (self.s != NAT), local_midnights(self.s, zone), self.s)
        self.notes: list[str] = list(paired.notes)
        # Instances whose resource queues its work (see drop_multitaskers).
        self.queued = self.res >= 0

    def run(
        self, multitasking: float | None, idle_gap: int | None, *, evidence: bool
    ) -> WaitingSplit:
        n = len(self.frame)
        self.drop_multitaskers(multitasking)
        known = (self.e != NAT) & (self.s != NAT)
        wait = np.where(known, np.maximum(self.s - self.e, 0), 0)
        batch, ready = self.batches()
        batched = batch >= 0
        w0 = np.where(batched, np.clip(ready, self.e, self.s), self.e)
        batching = np.where(known, w0 - self.e, 0)
        clocks = self.clocks()
        if idle_gap is not None:
            # Before its resource's last free moment, the instance waited for something
            # else: the resource's causes count from there (the rest stays extraneous).
            idle = self.last_idle(known, w0, clocks, idle_gap)
            w0 = np.where(idle != NAT, np.clip(idle, w0, self.s), w0)
        busy, busy_work, contention = self.busy(known, batch, ready, w0, clocks)
        window = np.where(known, self.s - w0, 0)
        window_work = self.working(w0, self.s, known, clocks)
        unavailable = np.maximum((window - window_work) - (busy - busy_work), 0)
        rest = np.maximum(wait - batching - busy - unavailable, 0)
        prioritisation = busy - contention
        if evidence:
            # Passed over by a resource that serves ready work in order: not ready.
            unready = np.where(self.in_order(prioritisation, wait), prioritisation, 0)
            prioritisation = prioritisation - unready
            rest = rest + unready

        # Without a resource, contention and prioritisation cannot be told apart
        # from the rest, unless the activity never has one (outside the organisation).
        undetermined = np.zeros(n, dtype=np.int64)
        no_resource = known & (self.res < 0)
        if no_resource.any():
            outside = self.outside_activities()
            unsure = no_resource & ~np.isin(self.act, outside)
            undetermined = np.where(unsure, rest, 0)
            rest = np.where(unsure, 0, rest)
            self.note_resourceless(no_resource, unsure, outside, wait)
        parts = {
            "batching_s": batching,
            "contention_s": contention,
            "prioritisation_s": prioritisation,
            "unavailability_s": unavailable,
            "extraneous_s": rest,
            "undetermined_s": undetermined,
        }
        out = self.frame.copy()
        out["waiting_s"] = wait / _US
        out["batch"] = batch
        for name, values in parts.items():
            out[name] = values / _US
        self.note_estimates(wait)
        return WaitingSplit(
            instances=out,
            batches=self.batch_table(batch, ready),
            calendar=self.calendar,
            notes=tuple(self.notes),
        )

    def drop_multitaskers(self, threshold: float | None) -> None:
        """Resources that serve many cases at once have no queue: their instances take
        no part in batching, contention or prioritisation (``self.queued``). Work a
        resource starts at the same moment is a parallel batch, not multitasking."""
        self.queued = self.res >= 0
        done = np.flatnonzero(self.queued & (self.s != NAT) & (self.c != NAT))
        if threshold is None or len(done) == 0:
            return
        frame = pd.DataFrame({"r": self.res[done], "s": self.s[done], "c": self.c[done]})
        # Work started at one moment is one parallel batch (a nightly run sends all its
        # messages at 02:00), not several cases at once: it counts as one span.
        frame = frame.groupby(["r", "s"]).agg(c=("c", "max")).reset_index()
        reach = frame.groupby("r")["c"].cummax().groupby(frame["r"]).shift(1)
        alone = (frame["c"] - np.maximum(frame["s"], reach.fillna(frame["s"]))).clip(lower=0)
        length = frame["c"] - frame["s"]
        per = pd.DataFrame({"r": frame["r"], "alone": alone, "length": length}).groupby("r").sum()
        share = 1 - per["alone"] / per["length"].where(per["length"] > 0)
        many = share[share >= threshold].index.to_numpy(dtype=np.int64)
        if len(many):
            self.queued &= ~np.isin(self.res, many)
            names = self.frame["resource"].cat.categories
            shown = ", ".join(f"{names[r]} ({share[r]:.0%})" for r in many[:5])
            self.notes.append(
                f"{len(many)} resource(s) work on several cases at once for much of their time "
                f"({shown}{', ...' if len(many) > 5 else ''}): they have no queue, so waiting "
                "for them is never batching, contention or prioritisation."
            )

    def batches(self) -> tuple[np.ndarray, np.ndarray]:
        """Per instance: its batch number (-1 when none) and when the batch was complete."""
        n = len(self.frame)
        batch = np.full(n, -1, dtype=np.int64)
        ready = np.full(n, NAT, dtype=np.int64)
        able = self.queued & (self.s != NAT) & (self.c != NAT) & (self.e != NAT)
        ids = np.flatnonzero(able)
        if len(ids) == 0:
            return batch, ready
        ids = ids[np.lexsort((ids, self.c[ids], self.s[ids], self.act[ids], self.res[ids]))]
        res, act = self.res[ids].tolist(), self.act[ids].tolist()
        e, s, c = self.e[ids].tolist(), self.s[ids].tolist(), self.c[ids].tolist()
        gap, size = self.gap, self.min_size
        groups: list[list[int]] = []
        current: list[int] = []
        first = end = 0
        for k in range(len(ids)):
            same = bool(current) and res[k] == res[current[0]] and act[k] == act[current[0]]
            if same and e[k] <= first and s[k] - end <= gap:
                current.append(k)
                end = max(end, c[k])
                continue
            if len(current) >= size:
                groups.append(current)
            current, first, end = [k], s[k], c[k]
        if len(current) >= size:
            groups.append(current)
        for number, members in enumerate(groups):
            rows = ids[members]
            batch[rows] = number
            ready[rows] = self.e[rows].max()
        return batch, ready

    def clocks(self) -> Clocks:
        """The working clocks and, per instance, which one its resource keeps."""
        times = np.concatenate([self.e, self.s, self.c])
        times = times[times != NAT]
        low, high = (int(times.min()), int(times.max())) if len(times) else (0, 0)
        calendars = [self.calendar]
        which_resource = np.zeros(len(self.frame["resource"].cat.categories) + 1, dtype=np.int64)
        for code, name in enumerate(self.frame["resource"].cat.categories):
            own = self.own.get(str(name))
            if own is not None and own != self.calendar:
                if own not in calendars:
                    calendars.append(own)
                which_resource[code] = calendars.index(own)
        clocks = [calendar.clock(low, high) for calendar in calendars]
        return clocks, which_resource[self.res]  # code -1 takes the last slot: the default

    @staticmethod
    def working(low: np.ndarray, high: np.ndarray, mask: np.ndarray, clocks: Clocks) -> np.ndarray:
        """Working microseconds from ``low`` to ``high`` by each instance's clock."""
        found = np.zeros(len(low), dtype=np.int64)
        rows = np.flatnonzero(mask)
        found[rows] = _Splitter.read(high[rows], rows, clocks) - _Splitter.read(
            low[rows], rows, clocks
        )
        return found

    @staticmethod
    def read(times: np.ndarray, rows: np.ndarray, clocks: Clocks) -> np.ndarray:
        """Each instant's working-clock reading, by the clock of the instance at ``rows``."""
        found = np.zeros(len(times), dtype=np.int64)
        kept, which = clocks
        for number, clock in enumerate(kept):
            mine = which[rows] == number
            if mine.any():
                found[mine] = clock.read(times[mine])
        return found

    def busy(
        self,
        known: np.ndarray,
        batch: np.ndarray,
        ready: np.ndarray,
        w0: np.ndarray,
        clocks: Clocks,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per instance: how long its resource was busy with other work during the wait
        after batching (in all, and within working hours), and with work enabled earlier.

        In O(n log n) over segments of each resource's time rather than by pairing
        each wait with the work done during it (quadratic in a large log); only the
        waits in a batch still visit, one by one, the segments from their batch's
        first start to their own start (quadratic in the size of a batch done one
        member after the other, as the pairing was)."""
        n = len(self.frame)
        busy = np.zeros(n, dtype=np.int64)
        busy_work = np.zeros(n, dtype=np.int64)
        contention = np.zeros(n, dtype=np.int64)
        waiting = np.flatnonzero(known & self.queued & (self.s > w0))
        doing = np.flatnonzero(self.queued & (self.s != NAT) & (self.c != NAT) & (self.c > self.s))
        if len(waiting) == 0 or len(doing) == 0:
            return busy, busy_work, contention
        # For work outside its batch, an instance counts as enabled when its batch was complete.
        threshold = np.where(batch >= 0, np.minimum(ready, self.s), self.e)
        # Before its batch's first start none of the batch was being done: a batched
        # wait is cut there, and only after the cut is its own batch's work told apart.
        first = np.full(int(batch.max()) + 1, _LATEST, dtype=np.int64)
        members = np.flatnonzero(batch >= 0)
        np.minimum.at(first, batch[members], self.s[members])
        batched = waiting[batch[waiting] >= 0]
        cut = np.clip(first[batch[batched]], w0[batched], self.s[batched])

        # Each resource's time in segments, cut wherever its work or a wait starts or
        # ends; then a wait's busy time is the sum of its covered segments.
        ends = (self.s[doing], self.c[doing], w0[waiting], self.s[waiting], cut)
        at = np.concatenate(ends)
        owner = np.concatenate([self.res[part] for part in (doing, doing, waiting, waiting)])
        owner = np.concatenate((owner, self.res[batched]))
        order = np.lexsort((at, owner))
        at, owner = at[order], owner[order]
        new = np.r_[True, (at[1:] != at[:-1]) | (owner[1:] != owner[:-1])]
        point = np.empty(len(order), dtype=np.int64)
        point[order] = np.cumsum(new) - 1
        at, owner = at[new], owner[new]
        ps, pc, pw0, pws, pcut = np.split(point, np.cumsum([len(part) for part in ends])[:-1])
        size = len(at)
        # Segment k runs from point k to the next point of its resource.
        same = np.r_[owner[1:] == owner[:-1], False]
        length = np.where(same, np.r_[np.diff(at), 0], 0)
        depth = np.bincount(ps, minlength=size + 1) - np.bincount(pc, minlength=size + 1)
        covered = np.cumsum(depth)[:size] > 0
        # All instances of a resource keep its clock: any of them reads its segments.
        row = np.zeros(int(self.res.max()) + 1, dtype=np.int64)
        row[self.res[doing]] = doing
        row[self.res[waiting]] = waiting
        reading = self.read(at, row[owner], clocks)
        length_work = np.where(same, np.r_[np.diff(reading), 0], 0)
        held = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.where(covered, length, 0), out=held[1:])
        busy[waiting] = held[pws] - held[pw0]
        np.cumsum(np.where(covered, length_work, 0), out=held[1:])
        busy_work[waiting] = held[pws] - held[pw0]

        # Contention: the segments whose earliest enabled work is enabled no later
        # than the wait's threshold (by rank among the thresholds, on the covered
        # segments only).
        least = covering_min(ps, pc, self.e[doing], size)
        rank = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(covered, out=rank[1:])
        limits = np.unique(threshold[waiting])
        contention[waiting] = weight_below(
            np.searchsorted(limits, least[covered]),
            length[covered],
            rank[pw0],
            rank[pws],
            np.searchsorted(limits, threshold[waiting]) + 1,
        )
        # After the cut, work of the wait's own batch is contention only if enabled no
        # later than the wait itself (which is no later than its threshold: a batch
        # is complete once all its members are enabled). A segment counted above
        # comes off where its earliest enabled work is of the wait's batch but
        # enabled after the wait, and its earliest other work after the threshold
        # (on a tie the batch with the lowest number counts as the earliest; the
        # test on the other work's enabled time decides either way).
        count = pws[batch[waiting] >= 0] - pcut
        wait_of = np.repeat(batched, count)
        segment = ranges(pcut, count)
        needed = np.unique(segment)
        lo, hi = np.searchsorted(needed, ps), np.searchsorted(needed, pc)
        work_of = np.repeat(doing, hi - lo)
        under = needed[ranges(lo, hi - lo)]
        order = np.lexsort((batch[work_of], self.e[work_of], under))
        head = order[np.diff(under[order], prepend=-1) != 0]
        lead = np.full(size, -2, dtype=np.int64)
        lead[under[head]] = batch[work_of[head]]
        other = np.full(size, _LATEST, dtype=np.int64)
        apart = batch[work_of] != lead[under]
        np.minimum.at(other, under[apart], self.e[work_of[apart]])
        limit = threshold[wait_of]
        wrong = (lead[segment] == batch[wait_of]) & (least[segment] <= limit)
        wrong &= (least[segment] > self.e[wait_of]) & (other[segment] > limit)
        np.subtract.at(contention, wait_of[wrong], length[segment[wrong]])
        return busy, busy_work, contention

    def last_idle(
        self, known: np.ndarray, w0: np.ndarray, clocks: Clocks, idle_gap: int
    ) -> np.ndarray:
        """Per waiting instance of a queueing resource: the last moment before its start
        at which its resource had more than ``idle_gap`` working microseconds free
        between two pieces of its recorded work (the end of its working time then), or
        NaT where that is not known.

        A resource's recorded work (its own instance included) is joined into periods
        with no longer free working time between them; an instance starts inside one,
        and its resource was last free just before that period began (unknown for its
        first period: nothing is recorded before it)."""
        n = len(self.frame)
        found = np.full(n, NAT, dtype=np.int64)
        waiting = np.flatnonzero(known & self.queued & (self.s > w0))
        doing = np.flatnonzero(self.queued & (self.s != NAT) & (self.c != NAT) & (self.c > self.s))
        if len(waiting) == 0 or len(doing) == 0:
            return found
        kept, which = clocks

        def read(times: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return self.read(times, rows, clocks)

        def last_working(times: np.ndarray, rows: np.ndarray) -> np.ndarray:
            # No working time before it in the clock's range: never free (NaT).
            out = np.full(len(times), NAT, dtype=np.int64)
            for number, clock in enumerate(kept):
                mine = which[rows] == number
                if mine.any() and len(clock.opens):
                    reading = clock.read(times[mine])
                    out[mine] = np.where(reading > 0, clock.instant(reading), NAT)
            return out

        order = doing[np.lexsort((self.c[doing], self.s[doing], self.res[doing]))]
        r, s, c = self.res[order], self.s[order], self.c[order]
        reach = pd.Series(c).groupby(r).cummax().groupby(r).shift(1).to_numpy()
        new_resource = np.r_[True, r[1:] != r[:-1]]
        # Blocks of overlapping or touching work, then periods of blocks with no more
        # than idle_gap of free working time between them.
        opens_block = new_resource | (s > np.nan_to_num(reach, nan=-np.inf))
        blocks = _joined(pd.DataFrame({"r": r, "a": s, "b": c, "row": order}), opens_block)
        br, ba, bb, brow = (blocks[k].to_numpy() for k in ("r", "a", "b", "row"))
        free = np.zeros(len(blocks), dtype=np.int64)
        if len(blocks) > 1:
            free[1:] = read(ba[1:], brow[1:]) - read(bb[:-1], brow[1:])
        first_of_resource = np.r_[True, br[1:] != br[:-1]]
        periods = _joined(blocks, first_of_resource | (free > idle_gap))
        periods["first"] = first_of_resource[first_of_resource | (free > idle_gap)]
        # Free time is known only for a resource whose recorded work fills much of the
        # working time of the days it works; one that records a little of it does other
        # things as well.
        worked = pd.Series(read(bb, brow) - read(ba, brow)).groupby(br).sum()
        days = pd.DataFrame(
            {"r": br, "row": brow, "day": local_midnights(ba, self.calendar.timezone)}
        ).drop_duplicates(["r", "day"])
        day = days["day"].to_numpy(dtype=np.int64)
        rows = days["row"].to_numpy(dtype=np.int64)
        hours = (
            pd.Series(read(day + 86_400 * _US, rows) - read(day, rows))
            .groupby(days["r"].to_numpy())
            .sum()
        )
        filled = worked / hours.reindex(worked.index).clip(lower=1)
        known = filled.index[filled >= _RECORDED].to_numpy()
        unknown = filled.index[filled < _RECORDED].to_numpy()
        if len(unknown):
            self.notes.append(
                f"{len(unknown)} resource(s) have recorded work for less than "
                f"{_RECORDED:.0%} of the working hours of the days they work: whether they "
                "were free is not known, so their waits count every moment they were busy "
                "or off, as Kronos does."
            )
        waiting = waiting[np.isin(self.res[waiting], known)]
        if len(waiting) == 0:
            return found
        left = pd.DataFrame({"id": waiting, "r": self.res[waiting], "s": self.s[waiting]})
        joined = pd.merge_asof(
            left.sort_values("s"),
            periods.sort_values("a"),
            left_on="s",
            right_on="a",
            by="r",
            direction="backward",
        ).sort_values("id")
        ids = joined["id"].to_numpy(dtype=np.int64)
        start = joined["s"].to_numpy(dtype=np.int64)
        begun = joined["a"].to_numpy(dtype=float)
        ended = joined["b"].to_numpy(dtype=float)
        first = joined["first"].eq(True).to_numpy()
        has = ~np.isnan(begun)
        anchor = np.full(len(ids), NAT, dtype=np.int64)
        if has.any():
            a = begun[has].astype(np.int64)
            b = ended[has].astype(np.int64)
            rows = ids[has]
            inside = (b >= start[has]) | (
                read(start[has], rows) - read(np.minimum(b, start[has]), rows) <= idle_gap
            )
            unknown = inside & first[has]
            anchor[has] = np.where(unknown, NAT, np.where(inside, a, start[has]))
        known = anchor != NAT
        found[ids[known]] = last_working(anchor[known], ids[known])
        return found

    def in_order(self, prioritisation: np.ndarray, wait: np.ndarray) -> np.ndarray:
        """Per instance: whether its resource is seen to serve ready work in the order
        it became ready. Work that follows the resource's own previous step in the case
        is ready at once, unless the citizen or a partner comes in between (a home
        visit waits for an appointment); so a resource with one activity whose
        follow-up waits (at least ``_READY_WAITS``) are passed over by later cases
        for less than ``_REORDERED`` of their waiting serves ready work in order."""
        n = len(self.frame)
        before = enabling_rows(self.frame)
        own = (before >= 0) & self.queued & (wait > 0)
        own &= self.res[np.maximum(before, 0)] == self.res
        if not own.any():
            return np.zeros(n, dtype=bool)
        per = (
            pd.DataFrame(
                {"r": self.res[own], "a": self.act[own], "p": prioritisation[own], "w": wait[own]}
            )
            .groupby(["r", "a"])
            .agg(waits=("w", "size"), p=("p", "sum"), w=("w", "sum"))
        )
        shown = per[per["waits"] >= _READY_WAITS]
        ordered = shown[shown["p"] < _REORDERED * shown["w"]].index.get_level_values("r").unique()
        found = np.isin(self.res, ordered.to_numpy(dtype=np.int64)) & self.queued
        moved = prioritisation[found].sum() / _US / 3600
        if moved > 0:
            names = self.frame["resource"].cat.categories
            reordering = shown.index.get_level_values("r").unique().difference(ordered)
            self.notes.append(
                f"{len(ordered)} resource(s) serve work that was ready at once (following "
                "their own previous step) in the order it became ready: for them, being "
                f"passed over by later cases means the case was not ready yet ({moved:,.1f} h "
                "counted as extraneous, not prioritisation)."
                + (
                    f" {len(reordering)} resource(s) take later cases first even then "
                    f"({', '.join(str(names[r]) for r in reordering[:5])}"
                    f"{', ...' if len(reordering) > 5 else ''}): their prioritisation stays."
                    if len(reordering)
                    else ""
                )
            )
        return found

    def outside_activities(self) -> np.ndarray:
        """Codes of activities that never have a resource, in a log where others do."""
        if not (self.res >= 0).any():
            return np.empty(0, dtype=np.int64)
        count = len(self.frame["activity"].cat.categories)
        # Only activities with instances here: a filtered table keeps every name.
        present = np.zeros(count, dtype=bool)
        present[self.act[self.act >= 0]] = True
        with_resource = np.zeros(count, dtype=bool)
        with_resource[self.act[self.res >= 0]] = True
        return np.flatnonzero(present & ~with_resource)

    def note_resourceless(
        self, no_resource: np.ndarray, unsure: np.ndarray, outside: np.ndarray, wait: np.ndarray
    ) -> None:
        names = self.frame["activity"].cat.categories
        if len(outside):
            shown = ", ".join(str(names[code]) for code in outside[:5])
            more = ", ..." if len(outside) > 5 else ""
            self.notes.append(
                f"{len(outside)} activit{'y' if len(outside) == 1 else 'ies'} never "
                f"ha{'s' if len(outside) == 1 else 've'} a resource in this log ({shown}{more}); "
                "it is taken to happen outside the organisation, so waiting for it beyond "
                "batching and working hours counts as extraneous."
            )
        hours = wait[unsure].sum() / _US / 3600
        if hours > 0:
            self.notes.append(
                f"{int(unsure.sum()):,} instance(s) have no resource ({hours:,.1f} h of "
                "waiting): whether their resource was busy (contention, prioritisation) "
                "cannot be told, so that part is undetermined."
            )

    def note_estimates(self, wait: np.ndarray) -> None:
        estimated = ~self.frame["start_recorded"].to_numpy(dtype=bool)
        hours = wait[estimated].sum() / _US / 3600
        if hours > 0:
            share = wait[estimated].sum() / max(wait.sum(), 1)
            self.notes.append(
                f"{hours:,.1f} h of waiting ({share:.0%}) belongs to instances whose start "
                "was estimated: their contention and prioritisation assume the resource "
                "worked on its previous piece of work until it completed it."
            )

    def batch_table(self, batch: np.ndarray, ready: np.ndarray) -> pd.DataFrame:
        rows = np.flatnonzero(batch >= 0)
        frame = pd.DataFrame(
            {
                "batch": batch[rows],
                "activity": self.frame["activity"].to_numpy()[rows],
                "resource": self.frame["resource"].to_numpy()[rows],
                "start": self.s[rows],
                "complete": self.c[rows],
                "ready": ready[rows],
            }
        )
        out = frame.groupby("batch", sort=True).agg(
            activity=("activity", "first"),
            resource=("resource", "first"),
            size=("start", "size"),
            start=("start", "min"),
            complete=("complete", "max"),
            ready=("ready", "first"),
        )
        for column in ("start", "complete", "ready"):
            out[column] = pd.to_datetime(out[column].to_numpy(dtype=np.int64), unit="us", utc=True)
        return out.reset_index()


def utc_micros(values: pd.Series) -> np.ndarray:
    """UTC microseconds; NaT as the int64 minimum."""
    as_us = values.astype("datetime64[us, UTC]")
    out = as_us.to_numpy(dtype="datetime64[us]").astype(np.int64)
    return np.asarray(out, dtype=np.int64)


def _joined(runs: pd.DataFrame, opens: np.ndarray) -> pd.DataFrame:
    """Consecutive rows (resource ``r``, from ``a`` to ``b``, clock ``row``) joined into
    one from each row where ``opens`` is true up to the next."""
    number = np.cumsum(opens) - 1
    return (
        runs[["r", "a", "b", "row"]]
        .groupby(number)
        .agg(r=("r", "first"), a=("a", "min"), b=("b", "max"), row=("row", "first"))
        .reset_index(drop=True)
    )
