"""Working hours learnt from the log, for resources no profile describes.

A resource works on the weekdays on which it starts or completes work in at
least ``min_share`` of the weeks it works at all, in the hours of the day
that hold at least ``min_share`` as many of its starts and completions as its
busiest hour. (Kronos learns a calendar per 15-minute slot of the week; days
times hours is steadier for people and systems with few events a week, and
an hour is fine enough for waits measured in days.) Hours are local time
in the organisation's time zone, and the organisation's public holidays and
closed days stay closed. A resource with fewer than ``min_instances``
instances keeps the organisation's calendar: too little to learn from.

This is what tells a weekly meeting (open on Tuesday 10:00-13:00), a nightly
batch run (02:00-03:00) or a message system that works around the clock
from office staff, so that waiting for them outside those hours counts as
their unavailability.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from knelpunt.mining.instances import ActivityInstances
from knelpunt.worktime import WorkCalendar

__all__ = ["discover_calendars"]


def discover_calendars(
    instances: ActivityInstances,
    *,
    base: WorkCalendar,
    min_share: float = 0.1,
    min_instances: int = 20,
) -> dict[str, WorkCalendar]:
    """Per resource, the working hours its recorded work shows (see the module notes).

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=60, seed=3), name="demo")
        ...     found = kp.pair_instances(kp.load_events(store))
        >>> hours = discover_calendars(found, base=kp.WorkCalendar.office_hours())
        >>> all(len(calendar.hours) == 7 for calendar in hours.values())
        True
    """
    frame = instances.instances
    recorded = frame[frame["start_recorded"].to_numpy(dtype=bool) & frame["resource"].notna()]
    if recorded.empty:
        return {}
    moments = pd.concat(
        [
            recorded[["resource", "start"]].rename(columns={"start": "at"}),
            recorded[["resource", "complete"]].rename(columns={"complete": "at"}),
        ]
    ).dropna()
    local = moments["at"].dt.tz_convert(base.timezone)
    moments = pd.DataFrame(
        {
            "resource": moments["resource"].astype(str).to_numpy(),
            "slot": (local.dt.day_of_week * 24 + local.dt.hour).to_numpy(),
            "week": (local.dt.tz_localize(None).dt.to_period("W")).astype(str).to_numpy(),
        }
    )
    counts = recorded["resource"].astype(str).value_counts()
    enough = set(counts[counts >= min_instances].index)
    found: dict[str, WorkCalendar] = {}
    for resource, rows in moments[moments["resource"].isin(enough)].groupby("resource"):
        weeks = rows["week"].nunique()
        day = rows["slot"] // 24
        days_open = np.zeros(7, dtype=bool)
        per_day = rows.assign(day=day).drop_duplicates(["day", "week"])["day"].value_counts()
        days_open[per_day[per_day >= max(min_share * weeks, 1)].index.to_numpy()] = True
        per_hour = np.bincount(rows["slot"] % 24, minlength=24)
        hours_open = per_hour >= max(min_share * per_hour.max(), 1)
        found[str(resource)] = WorkCalendar(
            hours=tuple(_spans(hours_open) if days_open[d] else () for d in range(7)),
            holidays=base.holidays,
            closed=base.closed,
            timezone=base.timezone,
        )
    return found


def _spans(hours: np.ndarray) -> tuple[tuple[int, int], ...]:
    """Open hours of one day as (open, close) minutes, consecutive hours merged."""
    spans: list[tuple[int, int]] = []
    for hour in np.flatnonzero(hours).tolist():
        if spans and spans[-1][1] == hour * 60:
            spans[-1] = (spans[-1][0], hour * 60 + 60)
        else:
            spans.append((hour * 60, hour * 60 + 60))
    return tuple(spans)
