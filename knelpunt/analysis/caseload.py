"""Caseload ceilings: cases that wait for their first professional work because
every professional who could take them up already holds all they may.

A case is *open* for a professional from the start of their first work in it to
the end of their last. The professionals who take up an activity as their first
work in a case (within one discipline, when disciplines are known) form its
*pool*; the pool's load is the number of cases open for its members together.
The pool is at its *ceiling* while that load is within a tenth (rounded up) of
the most it ever held at once: 4 or 5 of at most 5, 360 or more of at most 400.

A ceiling holds cases back when the extraneous part of the waits for the
pool's first work (what the split does not put down to a busy or absent
resource) is clearly longer for waits that began at the ceiling than for those
that began below it: a median at least twice as long, with at least 20 of
each. Waiting for a citizen or a partner does not depend on how many cases the
team holds; waiting for a place in a caseload does (and a queue in a busy team
is contention, not a ceiling). For such a pool, the extraneous part of each
wait for first work that fell while the pool was at its ceiling, beyond the
pool's usual extraneous wait below it (the median: the appointment, the
citizen's own time), is put down to the ceiling: a steering decision on
caseload.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from knelpunt.analysis.waiting import NAT, utc_micros

__all__ = ["Ceiling", "caseload_waits"]

_US: Final = 1_000_000
# The pool is at its ceiling within this share (rounded up) of the most cases it ever
# held at once.
_CEILING: Final = 0.1
# Waits that began at the ceiling are held back when their median is this many
# times that of waits that began below it, with this many waits on each side.
_HELD_BACK: Final = 2.0
_CEILING_WAITS: Final = 20
# A ceiling of fewer open cases than this is a person being busy, not a caseload.
_FEWEST_OPEN: Final = 3


@dataclass(frozen=True, slots=True)
class Ceiling:
    """The evidence that a pool holds cases back at its caseload ceiling.

    Attributes:
        activity: the first work the pool takes up.
        group: the pool's discipline ("" when disciplines are unknown).
        members: how many professionals take up that work.
        most_open: the most cases open for the pool at once.
        share_at: the share of the time the pool was at its ceiling.
        median_at_s: median extraneous wait for first work that began at the ceiling.
        median_below_s: the same for first work that began below it.
        waits_at, waits_below: how many such waits.
    """

    activity: str
    group: str
    members: int
    most_open: int
    share_at: float
    median_at_s: float
    median_below_s: float
    waits_at: int
    waits_below: int

    @property
    def holds_back(self) -> bool:
        return (
            self.most_open >= _FEWEST_OPEN
            and self.waits_at >= _CEILING_WAITS
            and self.waits_below >= _CEILING_WAITS
            and self.median_at_s >= _HELD_BACK * self.median_below_s
            and self.median_at_s > self.median_below_s
        )


def caseload_waits(
    instances: pd.DataFrame,
    *,
    candidates: np.ndarray,
    groups: Mapping[str, str],
) -> tuple[np.ndarray, dict[str, Ceiling]]:
    """Per instance, the seconds of its extraneous wait put down to a caseload
    ceiling, and per activity the ceiling that holds cases back (see the module
    documentation).

    Args:
        instances: a waiting split's instances, in their order (``source_id``,
            ``case_id``, ``activity``, ``resource``, ``enabled``, ``start``,
            ``complete``, ``extraneous_s``).
        candidates: per instance, whether it may wait for a caseload (the caller
            decides: in :mod:`knelpunt.analysis.blockers`, the work of people who
            hold cases, not a client's step, no rework, no handover).
        groups: per resource, its discipline.
    """
    out = np.zeros(len(instances))
    found: dict[str, Ceiling] = {}
    frame = pd.DataFrame(
        {
            "source_id": instances["source_id"].to_numpy(),
            "case_id": instances["case_id"].to_numpy(),
            "activity": instances["activity"].astype(str).to_numpy(),
            "resource": instances["resource"].astype(object).to_numpy(),
            "enabled": utc_micros(instances["enabled"]),
            "start": utc_micros(instances["start"]),
            "end": utc_micros(instances["complete"].fillna(instances["start"])),
            "row": np.arange(len(instances)),
        }
    )
    frame = frame[frame["resource"].notna() & (frame["start"] != NAT)]
    if frame.empty:
        return out, found
    held_by = frame.groupby(["resource", "source_id", "case_id"], sort=False)
    spans = held_by.agg(first=("start", "min"), last=("end", "max"))
    first = frame.loc[held_by["start"].idxmin()]
    first = first[candidates[first["row"].to_numpy()] & (first["enabled"] != NAT)]
    first = first.assign(group=[str(groups.get(str(r), "")) for r in first["resource"]])
    extraneous = np.nan_to_num(instances["extraneous_s"].to_numpy(dtype=float))
    weight: dict[str, float] = {}
    for (activity, group), rows in first.groupby(["activity", "group"], sort=False):
        members = rows["resource"].unique()
        held = spans.loc[spans.index.get_level_values("resource").isin(members)]
        chosen = rows["row"].to_numpy()
        ceiling, seconds = _pool(
            str(activity), str(group), len(members), held, rows, extraneous[chosen]
        )
        if not ceiling.holds_back:
            continue
        out[chosen] = seconds
        # The evidence shown for an activity is that of the pool that holds back most.
        if seconds.sum() > weight.get(ceiling.activity, 0.0):
            found[ceiling.activity], weight[ceiling.activity] = ceiling, float(seconds.sum())
    return out, found


def _pool(
    activity: str,
    group: str,
    members: int,
    held: pd.DataFrame,
    rows: pd.DataFrame,
    extraneous: np.ndarray,
) -> tuple[Ceiling, np.ndarray]:
    """The pool's ceiling evidence, and per wait of ``rows`` the seconds of its
    ``extraneous`` part beyond the pool's usual extraneous wait that fell at the
    ceiling. Only the extraneous part counts: a queue in a busy team (contention)
    also grows with the load, and is not a ceiling."""
    times = np.concatenate([held["first"].to_numpy(), held["last"].to_numpy()])
    steps = np.concatenate([np.ones(len(held)), -np.ones(len(held))])
    order = np.lexsort((steps, times))  # a case closed and one taken up at once: no peak
    times, load = times[order], np.cumsum(steps[order])
    last = np.r_[times[1:] != times[:-1], True]
    times, load = times[last], load[last]
    most = float(load.max())
    at = load >= most - math.ceil(_CEILING * most)
    lengths = np.diff(times).astype(float)
    at_time = np.concatenate([[0.0], np.cumsum(lengths * at[:-1])])
    enabled, start = rows["enabled"].to_numpy(), rows["start"].to_numpy()
    began = np.searchsorted(times, enabled, side="right") - 1
    began_at = (began >= 0) & at[np.maximum(began, 0)]
    waits = extraneous
    seconds_at = (np.interp(start, times, at_time) - np.interp(enabled, times, at_time)) / _US
    below = waits[~began_at]
    usual = float(np.median(below)) if len(below) else 0.0
    ceiling = Ceiling(
        activity=activity,
        group=group,
        members=members,
        most_open=int(most),
        share_at=float(at_time[-1] / (times[-1] - times[0])) if times[-1] > times[0] else 0.0,
        median_at_s=float(np.median(waits[began_at])) if began_at.any() else 0.0,
        median_below_s=usual,
        waits_at=int(began_at.sum()),
        waits_below=len(below),
    )
    return ceiling, np.clip(np.minimum(seconds_at, waits - usual), 0.0, None)
