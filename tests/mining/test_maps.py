"""The projection, the map, variants and case table: invariants, both engines, catching up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import knelpunt as kp
from knelpunt.events.model import Event, NewSource
from knelpunt.mining.relational import discover_map_sql, list_variants_sql, summarise_cases_sql
from knelpunt.testing import make_log

_T0 = datetime(2025, 3, 28, 8, 0, tzinfo=UTC)

# An event: (case, activity, minutes after _T0, resource or None). Few values,
# so that ties, repeats and shared cases are common.
_EVENT = st.tuples(
    st.sampled_from(["c1", "c2", "c3", "c4", "c5"]),
    st.sampled_from(["Melding", "Gesprek", "Besluit", "Plan"]),
    st.integers(0, 40),
    st.sampled_from([None, "an", "bo", "cy"]),
)


def _append(
    store: kp.EventStore, source_id: int, events: list[tuple[str, str, int, str | None]]
) -> None:
    store.append(
        source_id,
        [Event(c, a, _T0 + timedelta(minutes=m), resource=r) for c, a, m, r in events],
    )


def _arrays(table: kp.EventTable) -> tuple[list[object], ...]:
    frame = table.to_frame()
    return tuple(frame[c].tolist() for c in frame.columns)


def _assert_same_map(fast: kp.ProcessMap, slow: kp.ProcessMap) -> None:
    assert (fast.events, fast.cases) == (slow.events, slow.cases)
    assert fast.start_activities == slow.start_activities
    assert fast.end_activities == slow.end_activities
    pd.testing.assert_frame_equal(fast.activities, slow.activities, check_dtype=False)
    pd.testing.assert_frame_equal(fast.edges, slow.edges, check_dtype=False, rtol=1e-9)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(_EVENT, min_size=1, max_size=12), min_size=1, max_size=4))
def test_catching_up_equals_rebuilding(
    batches: list[list[tuple[str, str, int, str | None]]],
) -> None:
    """Merging each new batch gives the table built from scratch; both engines agree."""
    with kp.open_store(":memory:") as store:
        first = store.create_source(NewSource(name="run", kind="simulation")).source_id
        other = store.create_source(NewSource(name="run 2", kind="simulation")).source_id
        table = kp.load_events(store)
        for k, batch in enumerate(batches):
            _append(store, first if k % 2 == 0 else other, batch)
            table = kp.load_events(store, since=table)
        fresh = kp.load_events(store)
    assert table.high == fresh.high
    assert table.to_frame().equals(fresh.to_frame())  # the same rows in the same order
    assert _sorted_within_cases(table)  # by case, then time, then position
    fast = kp.discover_map(table)
    _assert_same_map(fast, discover_map_sql(table))
    # Waiting on edges is never negative, and a case's edges add up to its duration.
    assert (fast.edges["min_s"] >= 0).all()
    cases = kp.summarise_cases(table)
    assert fast.edges["total_s"].sum() == pytest.approx(cases["duration_s"].sum())
    pd.testing.assert_frame_equal(cases, summarise_cases_sql(table), check_dtype=False)
    pd.testing.assert_frame_equal(
        kp.list_variants(table), list_variants_sql(table), check_dtype=False
    )
    # In working time: the same definitions, the same agreement, the same sums.
    office = kp.WorkCalendar.office_hours()
    working = kp.discover_map(table, calendar=office)
    _assert_same_map(working, discover_map_sql(table, calendar=office))
    in_hours = kp.summarise_cases(table, calendar=office)
    pd.testing.assert_frame_equal(
        in_hours, summarise_cases_sql(table, calendar=office), check_dtype=False
    )
    assert working.edges["total_s"].sum() == pytest.approx(in_hours["duration_work_s"].sum())
    assert (in_hours["duration_work_s"] <= in_hours["duration_s"]).all()
    pd.testing.assert_frame_equal(
        kp.list_variants(table, calendar=office),
        list_variants_sql(table, calendar=office),
        check_dtype=False,
    )


def _sorted_within_cases(table: kp.EventTable) -> bool:
    for k in range(table.n_cases):
        lo, hi = table.case_start[k], table.case_start[k + 1]
        if not (table.case[lo:hi] == k).all():
            return False
        keys = list(zip(table.time_us[lo:hi].tolist(), table.position[lo:hi].tolist(), strict=True))
        if keys != sorted(keys):
            return False
    return True


def test_cases_are_per_source() -> None:
    """The same case id in two uploads is two cases."""
    with kp.open_store(":memory:") as store:
        log = make_log(cases=3, seed=4)
        kp.ingest_log(store, log, name="a")
        kp.ingest_log(store, log.assign(extra=1), name="b")
        table = kp.load_events(store)
    assert table.n_cases == 6
    assert kp.discover_map(table).cases == 6
    assert _sorted_within_cases(table)


def test_worked_example() -> None:
    """A hand-computed map: counts, durations and the case table."""
    with kp.open_store(":memory:") as store:
        source = store.create_source(NewSource(name="hand", kind="capture")).source_id
        _append(
            store,
            source,
            [
                ("z1", "Melding", 0, "an"),
                ("z2", "Melding", 10, "bo"),
                ("z1", "Gesprek", 60, "bo"),
                ("z2", "Gesprek", 40, "bo"),
                ("z1", "Besluit", 180, "an"),
                ("z2", "Gesprek", 100, "cy"),
            ],
        )
        table = kp.load_events(store)
    found = kp.discover_map(table)
    edges = found.edges.set_index(["source", "target"])
    assert edges.loc[("Melding", "Gesprek"), "count"] == 2
    assert edges.loc[("Melding", "Gesprek"), "mean_s"] == 45 * 60  # (60 + 30) / 2 minutes
    assert edges.loc[("Melding", "Gesprek"), "median_s"] == 45 * 60
    assert edges.loc[("Gesprek", "Besluit"), "total_s"] == 120 * 60
    assert edges.loc[("Gesprek", "Gesprek"), "cases"] == 1
    assert found.start_activities == {"Melding": 2}
    assert found.end_activities == {"Besluit": 1, "Gesprek": 1}
    cases = kp.summarise_cases(table).set_index("case_id")
    assert cases.loc["z1", "handovers"] == 2  # an → bo → an
    assert cases.loc["z2", "handovers"] == 1  # bo → bo → cy
    assert cases.loc["z2", "rework"] == 1  # Gesprek twice
    assert cases.loc["z1", "duration_s"] == 180 * 60
    variants = kp.list_variants(table)
    assert variants["activities"].tolist() == [
        ("Melding", "Gesprek", "Besluit"),
        ("Melding", "Gesprek", "Gesprek"),
    ]


def test_the_cases_along_an_edge_by_hand() -> None:
    with kp.open_store(":memory:") as store:
        source = store.create_source(NewSource(name="hand", kind="capture")).source_id
        _append(
            store,
            source,
            [
                ("z1", "Melding", 0, "an"),
                ("z2", "Melding", 10, "bo"),
                ("z1", "Gesprek", 60, "bo"),
                ("z2", "Gesprek", 40, "bo"),
            ],
        )
        table = kp.load_events(store)
    found = kp.list_edge_cases(table, "Melding", "Gesprek")
    assert found["case_id"].tolist() == ["z1", "z2"]  # the slowest first
    assert found["duration_s"].tolist() == [3600.0, 1800.0]
    assert found["source_id"].tolist() == [source, source]
    assert kp.list_edge_cases(table, "Gesprek", "Melding").empty
    assert kp.list_edge_cases(table, "Melding", "Nergens").empty


@settings(max_examples=30, deadline=None)
@given(events=st.lists(_EVENT, min_size=1, max_size=30), instances=st.booleans())
def test_the_cases_along_each_edge_add_up_to_the_edge(
    events: list[tuple[str, str, int, str | None]], instances: bool
) -> None:
    """On events and on activity instances: an edge's passages are its count, its
    cases its distinct cases, their durations its total."""
    with kp.open_store(":memory:") as store:
        source = store.create_source(NewSource(name="gen", kind="capture")).source_id
        _append(store, source, events)
        table = kp.load_events(store)
    steps: kp.EventTable | kp.ActivityInstances = (
        kp.pair_instances(table, calendar=kp.WorkCalendar.office_hours()) if instances else table
    )
    for edge in kp.discover_map(steps).edges.to_dict("records"):
        passages = kp.list_edge_cases(steps, edge["source"], edge["target"])
        assert len(passages) == edge["count"]
        assert passages["case_id"].nunique() == edge["cases"]
        assert passages["duration_s"].sum() == pytest.approx(edge["total_s"], abs=1e-6)
        assert passages["duration_s"].is_monotonic_decreasing


def test_cache_survives_a_new_process_and_purges(tmp_path: Path) -> None:
    """A cached table is read back equal, caught up from disk, and rebuilt after a purge."""
    path = tmp_path / "store.db"
    cache = tmp_path / "projections"
    with kp.open_store(path) as store:
        a = kp.ingest_log(store, make_log(cases=20, seed=1), name="a").source.source_id
        built = kp.load_events(store, cache=cache)
        kp.ingest_log(store, make_log(cases=5, seed=2), name="b")
    with kp.open_store(path) as store:
        again = kp.load_events(store, cache=cache)
        assert again.high > built.high
        assert _arrays(again) == _arrays(kp.load_events(store))
        kp.purge_source(store, a, reason="test")
        after = kp.load_events(store, cache=cache)
        assert set(after.case_sources.tolist()) == {a + 1}
        assert _arrays(after) == _arrays(kp.load_events(store))


def test_empty_store() -> None:
    """No events: an empty map, no variants, no cases."""
    with kp.open_store(":memory:") as store:
        table = kp.load_events(store)
    assert len(table) == 0
    found = kp.discover_map(table)
    assert found.edges.empty
    assert found.cases == 0
    assert kp.list_variants(table).empty
    assert kp.summarise_cases(table).empty
    assert np.array_equal(table.case_start, [0])
