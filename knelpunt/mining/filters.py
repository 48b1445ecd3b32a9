"""Filters as Disco users know them, each a pass over an :class:`EventTable`.

:func:`filter_events` returns a smaller table (still sorted by case and
time, with the same codes), so every map, variant list, case table and
instance split works on it unchanged, and the filters combine in one call:

* a **time window** on cases (``contained``: cases entirely inside it;
  ``intersecting``: cases with any event inside; ``started``/``completed``:
  cases whose first/last event lies inside) or on events (``trim``: keep the
  events inside, cut the cases to the window);
* **cases**: a set of cases, e.g. chosen on case attributes with
  :func:`knelpunt.read_case_attributes`;
* **variants**: given variant numbers, or the most frequent variants that
  together cover a share of the cases (``variant_coverage=0.8``);
* **activities**: keep the events of given activities, or of the most
  frequent share of activities (``activity_share=0.5``, the activities
  slider); the others are left out, so the map links what remains;
* **lifecycles**: keep e.g. only the ``complete`` events, one per activity
  instance, as a protocol model counts them.

:func:`simplify_map` is the paths slider: keep the most frequent share of
paths, plus for every activity its most frequent incoming and outgoing path,
so the map stays connected.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Final, Literal

import numpy as np
import pandas as pd

from knelpunt.errors import FilterError
from knelpunt.mining.maps import ProcessMap, case_variants
from knelpunt.mining.projection import EventTable

__all__ = ["WINDOW_MODES", "filter_events", "simplify_map"]

Window = Literal["contained", "intersecting", "started", "completed", "trim"]
WINDOW_MODES: Final = ("contained", "intersecting", "started", "completed", "trim")


def filter_events(
    table: EventTable,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    window: Window = "intersecting",
    cases: Iterable[tuple[int, str]] | None = None,
    variants: Collection[int] | None = None,
    variant_coverage: float | None = None,
    activities: Collection[str] | None = None,
    activity_share: float | None = None,
    lifecycles: Collection[str] | None = None,
) -> EventTable:
    """The events that pass every filter given (applied in the order of the arguments).

    Args:
        table: the events.
        start, end: the time window (aware datetimes; either may be open).
        window: how cases relate to the window (see the module notes).
        cases: keep only these cases, as (source_id, case_id) pairs.
        variants: keep only cases of these variant numbers (as
            :func:`~knelpunt.mining.maps.list_variants` numbers them on ``table``).
        variant_coverage: keep the most frequent variants that together hold at
            least this share of the cases (0 < share <= 1).
        activities: keep only the events of these activities.
        activity_share: keep the events of the most frequent activities, this
            share of them (0 < share <= 1, at least one activity).
        lifecycles: keep only events with one of these lifecycle transitions
            (compared without case, e.g. ``("complete",)``); events without a
            lifecycle are kept, since a log without one records completions.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=20, seed=1), name="demo")
        ...     table = kp.load_events(store)
        >>> few = kp.filter_events(table, activity_share=0.4)
        >>> len(few), few.filters
        (40, ('the 2 most frequent of 5 activities',))
    """
    if window not in WINDOW_MODES:
        raise FilterError(f"Unknown window {window!r}; use one of {', '.join(WINDOW_MODES)}.")
    said: list[str] = []
    keep = np.ones(len(table), dtype=bool)
    if start is not None or end is not None:
        keep &= _in_window(table, start, end, window)
        said.append(window_words(start, end, window))
    if cases is not None:
        wanted = {(int(s), str(c)) for s, c in cases}
        chosen = np.fromiter(
            (
                (s, c) in wanted
                for s, c in zip(table.case_sources.tolist(), table.case_ids.tolist(), strict=True)
            ),
            dtype=bool,
            count=table.n_cases,
        )
        keep &= chosen[table.case]
        said.append(f"{int(chosen.sum()):,} chosen cases")
    if variants is not None or variant_coverage is not None:
        if variants is not None:
            numbers = case_variants(table)
            chosen_variants: Collection[int] = variants
        else:
            # The share is of the cases the filters before kept (a window's cases).
            numbers = _variants_of_kept(table, keep)
            chosen_variants = _covering(numbers, float(variant_coverage or 0))
        keep &= np.isin(numbers, np.fromiter(chosen_variants, dtype=np.int64))[table.case]
        said.append(
            f"variants covering {variant_coverage:.0%} of the cases"
            if variants is None
            else f"variant(s) {', '.join(map(str, sorted(chosen_variants)))}"
        )
    if activities is not None:
        names = {str(a) for a in activities}
        chosen = np.array([str(a) in names for a in table.activities], dtype=bool)
        keep &= chosen[table.activity]
        said.append(f"activities {', '.join(sorted(names))}")
    if activity_share is not None:
        check_share("activity_share", activity_share)
        counts = np.bincount(table.activity[keep], minlength=len(table.activities))
        present = np.flatnonzero(counts)
        wanted_n = max(1, math.ceil(activity_share * len(present) - 1e-9))
        order = sorted(present.tolist(), key=lambda k: (-counts[k], str(table.activities[k])))
        chosen = np.zeros(len(table.activities), dtype=bool)
        chosen[order[:wanted_n]] = True
        keep &= chosen[table.activity]
        said.append(f"the {wanted_n:,} most frequent of {len(present):,} activities")
    if lifecycles is not None:
        wanted_lc = {str(name).casefold() for name in lifecycles}
        known = np.array([str(n).casefold() in wanted_lc for n in table.lifecycles], dtype=bool)
        chosen = np.append(known, True)  # code -1 (no lifecycle) picks the last entry
        keep &= chosen[table.lifecycle]
        said.append(f"lifecycle {', '.join(sorted(wanted_lc))} (and events without one)")
    return _subset(table, keep, tuple(said))


def check_share(name: str, share: float) -> None:
    """Refuse a share outside (0, 1], naming the option."""
    if not 0 < share <= 1:
        raise FilterError(f"{name} must be a share between 0 and 1 (e.g. 0.8), not {share!r}.")


def _us(moment: datetime | None, name: str) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise FilterError(
            f"The window's {name} needs a time zone, e.g. "
            "datetime(2025, 1, 1, tzinfo=ZoneInfo('Europe/Amsterdam'))."
        )
    return int(pd.Timestamp(moment).as_unit("us").tz_convert("UTC").asm8.astype(np.int64))


def window_micros(start: datetime | None, end: datetime | None) -> tuple[int | None, int | None]:
    """The window's ends in UTC microseconds (None where open), checked."""
    low, high = _us(start, "start"), _us(end, "end")
    if low is not None and high is not None and high < low:
        raise FilterError("The window ends before it starts; swap start and end.")
    return low, high


def _in_window(
    table: EventTable, start: datetime | None, end: datetime | None, window: Window
) -> np.ndarray:
    low, high = window_micros(start, end)
    t = table.time_us
    inside = np.ones(len(t), dtype=bool)
    if low is not None:
        inside &= t >= low
    if high is not None:
        inside &= t < high
    if window == "trim":
        return inside
    first = table.case_start[:-1]
    last = table.case_start[1:] - 1
    has = last >= first
    per_case = np.zeros(table.n_cases, dtype=bool)
    if window == "intersecting":
        counts = np.bincount(table.case[inside], minlength=table.n_cases)
        per_case = counts > 0
    elif window == "contained":
        counts = np.bincount(table.case[inside], minlength=table.n_cases)
        per_case = counts == np.diff(table.case_start)
    else:
        edge = first if window == "started" else last
        per_case[has] = inside[edge[has]]
    return np.asarray(per_case[table.case])


def window_words(start: datetime | None, end: datetime | None, window: Window) -> str:
    """The window in words, as the filters say what they kept."""
    span = f"{start:%Y-%m-%d %H:%M} " if start else "… "
    span += f"to {end:%Y-%m-%d %H:%M}" if end else "to …"
    how = {
        "contained": "cases entirely within",
        "intersecting": "cases with events within",
        "started": "cases started within",
        "completed": "cases completed within",
        "trim": "events within",
    }[window]
    return f"{how} {span}"


def _variants_of_kept(table: EventTable, keep: np.ndarray) -> np.ndarray:
    """Per case code, its variant number among the kept events' cases (0: none kept)."""
    if keep.all():
        return case_variants(table)
    alive = np.zeros(table.n_cases, dtype=bool)
    alive[table.case[keep]] = True
    numbers = np.zeros(table.n_cases, dtype=np.int64)
    numbers[alive] = case_variants(_subset(table, keep, ()))
    return numbers


def _covering(numbers: np.ndarray, share: float) -> list[int]:
    """The most frequent variants (numbers count from 1, most frequent first) covering ``share``."""
    check_share("variant_coverage", share)
    counts = np.bincount(numbers)[1:]
    if counts.sum() == 0:
        return []
    enough = np.searchsorted(np.cumsum(counts) / counts.sum(), share - 1e-12) + 1
    return list(range(1, int(enough) + 1))


def _subset(table: EventTable, keep: np.ndarray, said: tuple[str, ...]) -> EventTable:
    """The kept events, cases renumbered (empty cases dropped), names unchanged."""
    if keep.all():
        return replace(table, filters=table.filters + said)
    case = table.case[keep]
    alive = np.zeros(table.n_cases, dtype=bool)
    alive[case] = True
    new_code = np.cumsum(alive, dtype=np.int64) - 1
    case = new_code[case].astype(np.int32)
    counts = np.bincount(case, minlength=int(alive.sum()))
    case_start = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=case_start[1:])
    return replace(
        table,
        case=case,
        activity=table.activity[keep],
        resource=table.resource[keep],
        lifecycle=table.lifecycle[keep],
        time_us=table.time_us[keep],
        position=table.position[keep],
        case_ids=table.case_ids[alive],
        case_sources=table.case_sources[alive],
        case_start=case_start,
        filters=table.filters + said,
    )


def simplify_map(found: ProcessMap, *, paths: float) -> ProcessMap:
    """The map with the most frequent share of its paths, kept connected.

    Every activity keeps its most frequent incoming and outgoing path (so no
    activity floats loose); then paths are added, most frequent first, until
    ``paths`` of them are shown. Counts and durations of the kept paths are
    unchanged; ``paths=1`` returns the map as it is.

    Example:
        >>> import knelpunt as kp
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.simulate_scenario(store, "baseline", seed=1, overrides=["days=30"])
        ...     full = kp.discover_map(kp.load_events(store))
        >>> simple = kp.simplify_map(full, paths=0.3)
        >>> len(simple.edges) < len(full.edges)
        True
        >>> shown = set(simple.edges["source"]) | set(simple.edges["target"])
        >>> shown == set(full.activities["activity"])  # no activity dropped
        True
    """
    check_share("paths", paths)
    edges = found.edges
    if edges.empty or paths >= 1:
        return found
    ranked = edges.reset_index(drop=True)  # most frequent first, ties by name
    essential = set(ranked.groupby("source", sort=False).head(1).index)
    essential |= set(ranked.groupby("target", sort=False).head(1).index)
    wanted = max(math.ceil(paths * len(ranked) - 1e-9), len(essential))
    kept = list(essential)
    for index in ranked.index:
        if len(kept) >= wanted:
            break
        if index not in essential:
            kept.append(index)
    return replace(found, edges=ranked.loc[sorted(kept)].reset_index(drop=True))
