"""Generated logs for tests, doctests, notebooks and the demo (shipped, like structlog.testing).

These logs are synthetic: they exercise the code paths (Dutch CSV exports,
start/end columns, DST, attributes) without any real person's data. The
social-team simulator (knelpunt.simulate) makes behaviourally realistic logs;
these only make well-formed ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from knelpunt.schema import (
    ACTIVITY_KEY,
    CASE_ID_KEY,
    LIFECYCLE_KEY,
    RESOURCE_KEY,
    TIMESTAMP_KEY,
)
from knelpunt.worktime import WorkCalendar

__all__ = ["DEMO_ACTIVITIES", "make_demo_csv", "make_log"]

# A Wmo 2015 path from melding to beschikking (domain.md, section 1).
DEMO_ACTIVITIES: Final = (
    "Melding ontvangen",
    "Keukentafelgesprek",
    "Verslag onderzoek",
    "Aanvraag ontvangen",
    "Beschikking verzonden",
)
_STAFF: Final = ("Anouk", "Bram", "Chantal", "Daan", "Esra", "Fleur")
_SCHEMES: Final = ("Wmo", "Jeugdwet", "Participatiewet")


def make_log(
    *,
    cases: int = 100,
    seed: int = 0,
    start: str = "2025-01-06 09:00",
    timezone: str = "Europe/Amsterdam",
) -> pd.DataFrame:
    """A small pm4py-style log: each case runs the five Wmo steps in order.

    Args:
        cases: how many cases.
        seed: the random seed; the same seed gives the same log.
        start: when the first case arrives (local time).
        timezone: the zone of the generated timestamps.

    Returns:
        One row per event with pm4py's columns plus ``case:scheme`` and ``cost``.

    Example:
        >>> log = make_log(cases=2, seed=1)
        >>> len(log), log["case:concept:name"].nunique()
        (10, 2)
    """
    rng = np.random.default_rng(seed)
    origin = pd.Timestamp(start, tz=timezone)
    # Times are drawn in working minutes (Monday to Friday, 09:00-17:00, not on
    # Dutch public holidays) and placed on the calendar, as a social team works.
    steps = len(DEMO_ACTIVITIES)
    arrivals = np.cumsum(rng.exponential(4 * 60, cases))  # about ten new cases a week
    gaps = rng.integers(30, 3 * 8 * 60, (cases, steps))
    gaps[:, 0] = 0
    minutes = arrivals[:, None] + np.cumsum(gaps, axis=1)
    completes = _on_office_hours(origin, minutes.ravel(), timezone)
    rows = []
    for number in range(1, cases + 1):
        scheme = _SCHEMES[int(rng.integers(len(_SCHEMES)))]
        for k, activity in enumerate(DEMO_ACTIVITIES):
            rows.append(
                {
                    CASE_ID_KEY: f"Z{number:05d}",
                    ACTIVITY_KEY: activity,
                    TIMESTAMP_KEY: completes[(number - 1) * steps + k].floor("min"),
                    RESOURCE_KEY: _STAFF[int(rng.integers(len(_STAFF)))],
                    LIFECYCLE_KEY: "complete",
                    "case:scheme": scheme,
                    "cost": round(float(rng.gamma(2.0, 40.0)), 2),
                }
            )
    return pd.DataFrame(rows)


_MONTH_US: Final = 30 * 86_400_000_000


def _on_office_hours(origin: pd.Timestamp, minutes: np.ndarray, timezone: str) -> pd.Series:
    """The instants ``minutes`` working minutes after ``origin`` (at or after an opening)."""
    low = int(origin.tz_convert("UTC").value // 1000)
    # 40 working hours a week: calendar time is at most ~5x working time, plus holidays.
    high = low + int(float(minutes.max(initial=0)) * 60e6 * 5) + _MONTH_US
    clock = WorkCalendar.office_hours(timezone=timezone).clock(low, high)
    base = int(clock.read(np.array([low]))[0])
    instants = clock.instant(base + (minutes * 60e6).astype(np.int64))
    return pd.Series(pd.to_datetime(instants, unit="us", utc=True)).dt.tz_convert(timezone)


def make_demo_csv(path: str | Path, *, cases: int = 400, seed: int = 2015) -> Path:
    """Write the demo log as Dutch Excel saves CSV: ';', Windows-1252, 31-12-2025 14:05.

    One row per activity with a start ('Begin') and an end ('Eind') column,
    as many case-system exports have it.

    Example:
        >>> import tempfile, pathlib
        >>> p = make_demo_csv(pathlib.Path(tempfile.mkdtemp()) / "demo.csv", cases=3)
        >>> p.read_bytes().decode("cp1252").splitlines()[0]
        'Zaaknummer;Activiteit;Begin;Eind;Medewerker;Regeling;Kosten (€)'
    """
    log = make_log(cases=cases, seed=seed)
    rng = np.random.default_rng(seed + 1)
    ends = log[TIMESTAMP_KEY]
    # Each activity takes 15 minutes to 3 working hours, and starts after the
    # previous one of its case ended.
    end_us = ends.dt.tz_convert("UTC").astype("datetime64[us, UTC]").astype(np.int64).to_numpy()
    clock = WorkCalendar.office_hours().clock(int(end_us.min()) - _MONTH_US, int(end_us.max()))
    end_w = clock.read(end_us)
    first = (log[CASE_ID_KEY] != log[CASE_ID_KEY].shift()).to_numpy()
    room = np.where(first, 10**12, end_w - np.roll(end_w, 1))
    took = np.minimum(rng.integers(15, 180, len(log)) * 60_000_000, (room * 0.9).astype(np.int64))
    begins = pd.Series(pd.to_datetime(clock.instant(end_w - took), unit="us", utc=True))
    begins = begins.dt.tz_convert(ends.dt.tz).dt.floor("min")
    frame = pd.DataFrame(
        {
            "Zaaknummer": log[CASE_ID_KEY],
            "Activiteit": log[ACTIVITY_KEY],
            "Begin": begins.dt.strftime("%d-%m-%Y %H:%M"),
            "Eind": ends.dt.strftime("%d-%m-%Y %H:%M"),
            "Medewerker": log[RESOURCE_KEY],
            "Regeling": log["case:scheme"],
            "Kosten (€)": log["cost"].map(lambda v: f"{v:.2f}".replace(".", ",")),
        }
    )
    target = Path(path)
    frame.to_csv(target, sep=";", index=False, encoding="cp1252", lineterminator="\r\n")
    return target


if __name__ == "__main__":  # regenerates event_logs/wmo_demo.csv
    import sys

    print(make_demo_csv(sys.argv[1] if len(sys.argv) > 1 else "event_logs/wmo_demo.csv"))
