"""Caseload ceilings: a wait for a place in a caseload, told from a wait for the citizen."""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from knelpunt.analysis.caseload import caseload_waits

DAY = 86_400.0
T0 = pd.Timestamp("2025-01-06", tz="UTC")


def one_professional(
    gaps: list[float], holds: list[float], *, cap: int | None, appointment: float = 1.0
) -> tuple[pd.DataFrame, np.ndarray]:
    """A professional who holds at most ``cap`` cases: each case waits for a place, then
    ``appointment`` days for the intake, and stays open ``hold`` days after it. Returns
    the instances (intake and closure per case, every wait extraneous) and, per
    instance, the true wait for a place (seconds)."""
    places: list[float] = []  # when each held case closes
    rows, queued = [], []
    arrived = 0.0
    for number, (gap, hold) in enumerate(zip(gaps, holds, strict=True)):
        arrived += gap
        while places and places[0] <= arrived:
            heapq.heappop(places)
        assigned = arrived
        if cap is not None and len(places) >= cap:
            assigned = heapq.heappop(places)
        start = assigned + appointment
        closed = start + hold
        heapq.heappush(places, closed)
        case = f"c{number}"
        for activity, enabled, begin, end in (
            ("Intake", arrived, start, start + 0.05),
            ("Afsluiting", closed - 0.05, closed - 0.05, closed),
        ):
            rows.append((case, activity, enabled, begin, end))
            queued.append((assigned - arrived) * DAY if activity == "Intake" else 0.0)
    frame = pd.DataFrame(rows, columns=["case_id", "activity", "enabled", "start", "complete"])
    for column in ("enabled", "start", "complete"):
        frame[column] = T0 + pd.to_timedelta(frame[column], unit="D")
    frame["source_id"] = 1
    frame["resource"] = "Consulent 1"
    frame["extraneous_s"] = (frame["start"] - frame["enabled"]).dt.total_seconds()
    return frame, np.array(queued)


def test_the_wait_for_a_place_is_found_and_nothing_more() -> None:
    rng = np.random.default_rng(7)
    gaps = list(rng.exponential(1.0, 400))
    holds = list(rng.uniform(1.5, 5.5, 400))  # 4.5 cases open on average, at most five
    frame, queued = one_professional(gaps, holds, cap=5)
    seconds, ceilings = caseload_waits(frame, candidates=np.ones(len(frame), dtype=bool), groups={})
    ceiling = ceilings["Intake"]
    assert ceiling.holds_back
    assert ceiling.most_open <= 5  # the log shows no more than the cap
    assert ceiling.median_at_s > 2 * ceiling.median_below_s
    overlap = np.minimum(seconds, queued).sum()
    assert overlap / seconds.sum() > 0.9
    # The usual wait (an appointment) is not put down to the ceiling, so some is missed.
    assert overlap / queued.sum() > 0.8
    assert (seconds[frame["activity"] == "Afsluiting"] == 0).all()


def test_waits_that_do_not_grow_with_the_load_are_no_ceiling() -> None:
    rng = np.random.default_rng(7)
    gaps = list(rng.exponential(1.0, 400))
    holds = list(rng.uniform(1.5, 5.5, 400))
    frame, queued = one_professional(gaps, holds, cap=None, appointment=2.0)
    assert queued.sum() == 0
    seconds, ceilings = caseload_waits(frame, candidates=np.ones(len(frame), dtype=bool), groups={})
    assert not ceilings
    assert seconds.sum() == 0
    # Nor for instances that may not wait for a caseload (a client's step, rework).
    capped, _ = one_professional(gaps, holds, cap=5)
    seconds, ceilings = caseload_waits(capped, candidates=np.zeros(len(capped), bool), groups={})
    assert not ceilings
    assert seconds.sum() == 0


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.floats(0.0, 3.0), min_size=2, max_size=120),
    hold=st.floats(0.1, 20.0),
    cap=st.one_of(st.none(), st.integers(1, 6)),
)
def test_never_negative_and_never_more_than_the_extraneous_wait(
    gaps: list[float], hold: float, cap: int | None
) -> None:
    frame, _ = one_professional(gaps, [hold] * len(gaps), cap=cap)
    # Half the wait is the citizen's own, for part of the cases.
    frame["extraneous_s"] = frame["extraneous_s"] * np.resize([1.0, 0.5], len(frame))
    seconds, _ = caseload_waits(frame, candidates=np.ones(len(frame), dtype=bool), groups={})
    assert (seconds >= 0).all()
    assert (seconds <= frame["extraneous_s"].to_numpy() + 1e-6).all()
