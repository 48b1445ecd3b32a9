"""A log at a glance: its size and period, the throughput times of its cases, and
per month how many cases started and ended and how long they took.

This is the first screen of the dashboard and the first lines of a report; the
figures are those of :func:`knelpunt.summarise_cases`, gathered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np
import pandas as pd

from knelpunt.errors import AnalysisError
from knelpunt.mining.projection import EventTable

__all__ = ["LogSummary", "case_spans", "summarise_log"]

_DAY_US: Final = 86_400e6


@dataclass(frozen=True, slots=True)
class LogSummary:
    """A log at a glance.

    Attributes:
        cases, events, activities, resources, sources: how many there are.
        start, end: the first and the last event (UTC), None for an empty log.
        throughput: per case ``source_id``, ``case_id``, ``start`` (UTC),
            ``days`` (first to last event, calendar days) and ``events``.
        months: per month (local time; of a case's first event for ``started``,
            of its last for ``ended``): ``started``, ``ended``, and the median,
            mean and 90th percentile of ``days`` of the cases that started then.
        zone: the time zone the months are counted in.
    """

    cases: int
    events: int
    activities: int
    resources: int
    sources: int
    start: datetime | None
    end: datetime | None
    throughput: pd.DataFrame
    months: pd.DataFrame
    zone: str

    def quantiles(self) -> dict[str, float]:
        """The median, mean and 90th percentile of the throughput time, in days."""
        days = self.throughput["days"]
        if days.empty:
            return {"median": float("nan"), "mean": float("nan"), "p90": float("nan")}
        return {
            "median": float(days.median()),
            "mean": float(days.mean()),
            "p90": float(days.quantile(0.9)),
        }

    def histogram(self, *, bins: int = 50) -> pd.DataFrame:
        """The throughput times in ``bins`` equal bins: ``from_days``, ``to_days`` and
        ``cases`` (a bin holds its lower edge; the last also its upper one).

        Example:
            >>> import knelpunt as kp
            >>> from knelpunt.testing import make_log
            >>> with kp.open_store(":memory:") as store:
            ...     _ = kp.ingest_log(store, make_log(cases=40, seed=1), name="demo")
            ...     summary = kp.summarise_log(kp.load_events(store))
            >>> found = summary.histogram(bins=5)
            >>> len(found), int(found["cases"].sum())
            (5, 40)
        """
        days = self.throughput["days"].dropna().to_numpy(dtype=float)
        if len(days) == 0:
            return pd.DataFrame({"from_days": [], "to_days": [], "cases": []})
        counts, edges = np.histogram(days, bins=bins)
        return pd.DataFrame({"from_days": edges[:-1], "to_days": edges[1:], "cases": counts})

    def to_frame(self) -> pd.DataFrame:
        """The months (see :attr:`months`)."""
        return self.months

    def _repr_html_(self) -> str:
        q = self.quantiles()
        head = (
            f"<p>{self.cases:,} cases, {self.events:,} events, {self.activities} activities,"
            f" {self.resources} resources; median throughput {q['median']:.1f} days</p>"
        )
        return head + self.months.to_html(index=False, float_format="{:.1f}".format)


def summarise_log(table: EventTable, *, zone: str = "Europe/Amsterdam") -> LogSummary:
    """Size, period, throughput times and the monthly trend of a log.

    Args:
        table: the events (:func:`knelpunt.load_events`, perhaps filtered).
        zone: the time zone in which months begin.

    Example:
        >>> import knelpunt as kp
        >>> with kp.open_store(":memory:") as store:
        ...     run = kp.simulate_scenario(store, "baseline", overrides=["days=60"])
        ...     found = kp.summarise_log(kp.load_events(store))
        >>> found.cases == found.throughput.shape[0] > 0
        True
        >>> int(found.months["started"].sum()) == found.cases
        True
    """
    try:
        pd.Timestamp(0, tz=zone)
    except Exception as error:
        raise AnalysisError(
            f"Unknown time zone {zone!r}; give an IANA name such as 'Europe/Amsterdam'."
        ) from error
    has, first, last, events = case_spans(table)
    throughput = pd.DataFrame(
        {
            "source_id": table.case_sources[has].astype(np.int64),
            "case_id": table.case_ids[has].astype(str),
            "start": pd.to_datetime(first, unit="us", utc=True),
            "days": (last - first) / _DAY_US,
            "events": events,
        }
    )
    months = _months(throughput, pd.to_datetime(last, unit="us", utc=True), zone)
    used = table.resource[table.resource >= 0]
    return LogSummary(
        cases=int(has.sum()),
        events=len(table),
        activities=len(np.unique(table.activity)),
        resources=len(np.unique(used)),
        sources=len(np.unique(table.case_sources[has])),
        start=pd.Timestamp(table.time_us.min(), unit="us", tz="UTC").to_pydatetime()
        if len(table)
        else None,
        end=pd.Timestamp(table.time_us.max(), unit="us", tz="UTC").to_pydatetime()
        if len(table)
        else None,
        throughput=throughput,
        months=months,
        zone=zone,
    )


def case_spans(table: EventTable) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per case code whether it has events, and for those that do: the first and the
    last event's time (UTC microseconds) and the number of events."""
    starts = table.case_start[:-1]
    ends = table.case_start[1:]
    has = ends > starts
    # Events are sorted by case and time: a case's first and last are its ends.
    return (
        has,
        table.time_us[starts[has]],
        table.time_us[ends[has] - 1],
        (ends - starts)[has].astype(np.int64),
    )


def _months(throughput: pd.DataFrame, ended: pd.DatetimeIndex, zone: str) -> pd.DataFrame:
    columns = ["month", "started", "ended", "median_days", "mean_days", "p90_days"]
    if throughput.empty:
        return pd.DataFrame(columns=columns)

    def month(moments: pd.Series | pd.DatetimeIndex) -> pd.Series:
        local = pd.DatetimeIndex(moments).tz_convert(zone).tz_localize(None)
        return pd.Series(local.to_period("M").astype(str), index=throughput.index)

    started_in = month(throughput["start"])
    days = throughput["days"].groupby(started_in)
    out = pd.DataFrame(
        {
            "started": days.size(),
            "median_days": days.median(),
            "mean_days": days.mean(),
            "p90_days": days.quantile(0.9),
        }
    )
    ended_in = month(ended).value_counts()
    out = out.reindex(sorted(set(out.index) | set(ended_in.index))).rename_axis("month")
    out["ended"] = ended_in
    out[["started", "ended"]] = out[["started", "ended"]].fillna(0).astype(np.int64)
    return out.reset_index()[columns]
