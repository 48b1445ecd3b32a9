"""The log at a glance: hand-computed on a small log, and invariants."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import knelpunt as kp
from knelpunt.errors import AnalysisError
from knelpunt.testing import make_log


def _table(rows: list[tuple[str, str, str, str | None]]) -> kp.EventTable:
    frame = pd.DataFrame(
        {
            "case:concept:name": [r[0] for r in rows],
            "concept:name": [r[1] for r in rows],
            "time:timestamp": pd.to_datetime([r[2] for r in rows], utc=True),
            "org:resource": [r[3] for r in rows],
        }
    )
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, frame, name="t", duplicates="keep", privacy="off")
        return kp.load_events(store)


def test_counts_throughput_and_months_by_hand() -> None:
    """Case a runs 2 days in January; b starts on 31 January 23:30 in Amsterdam (22:30
    UTC, so February in UTC would be wrong the other way round: it is January locally)
    and ends 10 days later in February; c is one event in March."""
    table = _table(
        [
            ("a", "Melding", "2025-01-06 09:00+01:00", "Anouk"),
            ("a", "Besluit", "2025-01-08 09:00+01:00", "Bram"),
            ("b", "Melding", "2025-01-31 23:30+01:00", "Anouk"),
            ("b", "Besluit", "2025-02-10 23:30+01:00", None),
            ("c", "Melding", "2025-03-03 10:00+01:00", None),
        ]
    )
    found = kp.summarise_log(table)
    assert (found.cases, found.events, found.activities, found.resources) == (3, 5, 2, 2)
    assert found.sources == 1
    assert found.start == pd.Timestamp("2025-01-06 08:00", tz="UTC")
    assert found.end == pd.Timestamp("2025-03-03 09:00", tz="UTC")
    days = found.throughput.set_index("case_id")["days"]
    assert days.to_dict() == {"a": 2.0, "b": 10.0, "c": 0.0}
    months = found.months.set_index("month")
    assert list(months.index) == ["2025-01", "2025-02", "2025-03"]
    assert list(months["started"]) == [2, 0, 1]
    assert list(months["ended"]) == [1, 1, 1]
    assert months.loc["2025-01", "median_days"] == 6.0
    assert pd.isna(months.loc["2025-02", "median_days"])
    assert found.quantiles()["mean"] == 4.0
    # In UTC, b starts on 31 January too (22:30); in Tokyo it starts on 1 February.
    tokyo = kp.summarise_log(table, zone="Asia/Tokyo").months.set_index("month")
    assert list(tokyo["started"]) == [1, 1, 1]


def test_an_unknown_zone_says_what_to_give() -> None:
    table = _table([("a", "X", "2025-01-06 09:00+01:00", None)])
    with pytest.raises(AnalysisError, match="IANA name"):
        kp.summarise_log(table, zone="Amsterdam")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 3), st.integers(0, 400 * 24)),
        min_size=1,
        max_size=40,
    )
)
def test_every_case_starts_and_ends_in_one_month(rows: list[tuple[int, int, int]]) -> None:
    """Started and ended each sum to the cases; throughput times are never negative."""
    base = pd.Timestamp("2025-01-01", tz="Europe/Amsterdam")
    table = _table(
        [(f"c{c}", f"A{a}", str(base + pd.Timedelta(hours=h)), None) for c, a, h in rows]
    )
    found = kp.summarise_log(table)
    assert found.months["started"].sum() == found.cases == len({r[0] for r in rows})
    assert found.months["ended"].sum() == found.cases
    assert (found.throughput["days"] >= 0).all()
    assert found.events == len(rows)


def test_the_histogram_bins_every_throughput_time() -> None:
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, make_log(cases=200, seed=4), name="demo", privacy="off")
        summary = kp.summarise_log(kp.load_events(store))
    bins = summary.histogram(bins=20)
    days = summary.throughput["days"]
    assert len(bins) == 20
    assert int(bins["cases"].sum()) == len(days)
    assert bins["from_days"].iloc[0] == days.min()
    assert bins["to_days"].iloc[-1] == days.max()
    assert (bins["to_days"] > bins["from_days"]).all()
    inside = ((days >= bins["from_days"].iloc[3]) & (days < bins["to_days"].iloc[3])).sum()
    assert bins["cases"].iloc[3] == inside
