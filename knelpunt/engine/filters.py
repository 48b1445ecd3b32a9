"""The filters of :func:`knelpunt.filter_events`, applied where the events are.

A log on a cluster cannot be loaded to be filtered; these are the same filters
as Ibis expressions over the events relation, in the same order and with the
same words for what was kept: the time window (with its five ways for a case to
relate to it), sources, the variants covering a share of the cases, activities,
the most frequent share of the activities and lifecycle transitions. Choosing
variants or activities by frequency counts them on the engine first (one small
query), then keeps their events.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from knelpunt.errors import FilterError
from knelpunt.mining.filters import WINDOW_MODES, Window, check_share, window_micros, window_words

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from knelpunt.engine.backends import Backend

__all__ = ["EventFilter"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EventFilter:
    """Which events an engine analyses: :func:`knelpunt.filter_events`'s filters.

    Attributes:
        start, end: the time window (aware datetimes; either may be open).
        window: how cases relate to the window: ``"intersecting"`` (an event within),
            ``"contained"``, ``"started"``, ``"completed"`` or ``"trim"`` (the events
            within).
        sources: keep only the cases of these sources.
        variant_coverage: keep the most frequent variants that together hold at least
            this share of the cases (0 < share <= 1).
        activities: keep only the events of these activities.
        activity_share: keep the events of the most frequent activities, this share of
            them.
        lifecycles: keep only events with one of these lifecycle transitions (without
            regard to case; events without one are kept).

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=20, seed=1), name="demo")
        ...     events = kp.load_events(store)
        >>> found = kp.compute_relational(events, filters=kp.EventFilter(activity_share=0.4))
        >>> found.process_map.events, found.filters
        (40, ('the 2 most frequent of 5 activities',))
    """

    start: datetime | None = None
    end: datetime | None = None
    window: Window = "intersecting"
    sources: Collection[int] | None = None
    variant_coverage: float | None = None
    activities: Collection[str] | None = None
    activity_share: float | None = None
    lifecycles: Collection[str] | None = None

    def apply(self, backend: Backend, events: ir.Table) -> tuple[ir.Table, tuple[str, ...]]:
        """The events that pass, and what was kept in words (as ``filter_events`` says it)."""
        from knelpunt.engine import definitions as d

        if self.window not in WINDOW_MODES:
            raise FilterError(
                f"Unknown window {self.window!r}; use one of {', '.join(WINDOW_MODES)}."
            )
        said: list[str] = []
        if self.start is not None or self.end is not None:
            events = _in_window(events, *window_micros(self.start, self.end), self.window)
            said.append(window_words(self.start, self.end, self.window))
        if self.sources is not None:
            wanted = sorted({int(s) for s in self.sources})
            events = events.filter(events.source_id.isin(wanted))
            said.append(f"source(s) {', '.join(map(str, wanted))}")
        if self.variant_coverage is not None:
            share = float(self.variant_coverage)
            check_share("variant_coverage", share)
            cases = d.per_case(events)
            numbered = d.variants(cases, percentiles=backend.percentiles)
            counts = backend.run(numbered.select("variant", "cases")).to_pylist()
            enough = _covering([(r["variant"], r["cases"]) for r in counts], share)
            chosen = numbered.filter(numbered.variant <= enough).select("trace")
            kept = cases.join(chosen, "trace").select(*d.CASE)
            events = events.semi_join(kept, list(d.CASE))
            said.append(f"variants covering {share:.0%} of the cases")
        if self.activities is not None:
            names = sorted({str(a) for a in self.activities})
            events = events.filter(events.activity.isin(names))
            said.append(f"activities {', '.join(names)}")
        if self.activity_share is not None:
            check_share("activity_share", self.activity_share)
            counts = backend.run(events.group_by("activity").aggregate(n=events.count()))
            pairs = sorted(
                zip(
                    counts.column("activity").to_pylist(),
                    counts.column("n").to_pylist(),
                    strict=True,
                ),
                key=lambda item: (-item[1], str(item[0])),
            )
            wanted_n = max(1, math.ceil(self.activity_share * len(pairs) - 1e-9))
            events = events.filter(events.activity.isin([a for a, _ in pairs[:wanted_n]]))
            said.append(f"the {wanted_n:,} most frequent of {len(pairs):,} activities")
        if self.lifecycles is not None:
            wanted_lc = sorted({str(name).casefold() for name in self.lifecycles})
            events = events.filter(
                events.lifecycle.isnull() | events.lifecycle.lower().isin(wanted_lc)
            )
            said.append(f"lifecycle {', '.join(wanted_lc)} (and events without one)")
        return events, tuple(said)


def _in_window(events: ir.Table, low: int | None, high: int | None, window: Window) -> ir.Table:
    """The events of the cases that relate to the window as ``window`` says (or, with
    ``"trim"``, the events within it)."""
    import ibis

    def inside(t: Any) -> Any:
        yes = ibis.literal(True)
        if low is not None:
            yes = yes & (t >= low)
        if high is not None:
            yes = yes & (t < high)
        return yes

    if window == "trim":
        return events.filter(inside(events.time_us))
    case = ibis.window(group_by=["source_id", "case_id"])
    if window == "intersecting":
        keep = inside(events.time_us).cast("int64").max().over(case) == 1
    elif window == "contained":
        keep = inside(events.time_us).cast("int64").min().over(case) == 1
    else:
        edge = events.time_us.min() if window == "started" else events.time_us.max()
        keep = inside(edge.over(case))
    marked = events.mutate(_keep=keep)
    return marked.filter(marked._keep).drop("_keep")


def _covering(counts: list[tuple[int, int]], share: float) -> int:
    """The number of the last variant needed (most frequent first) to cover ``share``."""
    ordered = [n for _, n in sorted(counts)]
    total = sum(ordered)
    if total == 0:
        return 0
    running = 0
    for number, cases in enumerate(ordered, start=1):
        running += cases
        if running / total >= share - 1e-12:
            return number
    return len(ordered)
