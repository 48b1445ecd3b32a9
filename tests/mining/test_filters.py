"""Filters: time windows, cases, variants, activities; the paths slider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import knelpunt as kp
from knelpunt.errors import FilterError
from knelpunt.events.model import Event, NewSource
from knelpunt.testing import make_log

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _table(rows: list[tuple[str, str, int]]) -> kp.EventTable:
    """Events (case, activity, hours after T0)."""
    with kp.open_store(":memory:") as store:
        source = store.create_source(NewSource(name="hand", kind="capture")).source_id
        store.append(source, [Event(c, a, T0 + timedelta(hours=h)) for c, a, h in rows])
        return kp.load_events(store)


# Case a: hours 0-10; b: 5-30; c: 20-25; d: 40-50.
SPANS = _table(
    [
        ("a", "Melding", 0),
        ("a", "Besluit", 10),
        ("b", "Melding", 5),
        ("b", "Besluit", 30),
        ("c", "Melding", 20),
        ("c", "Besluit", 25),
        ("d", "Melding", 40),
        ("d", "Besluit", 50),
    ]
)


@pytest.mark.parametrize(
    ("window", "cases", "events"),
    [
        ("contained", ["c"], 2),
        ("intersecting", ["b", "c"], 4),
        ("started", ["c"], 2),
        ("completed", ["b", "c"], 4),
        ("trim", ["b", "c"], 3),  # b keeps only its 30 h event
    ],
)
def test_time_window_modes(window: str, cases: list[str], events: int) -> None:
    found = kp.filter_events(
        SPANS,
        start=T0 + timedelta(hours=12),
        end=T0 + timedelta(hours=35),
        window=window,  # type: ignore[arg-type]
    )
    assert sorted(found.case_ids.tolist()) == cases
    assert len(found) == events
    assert found.filters[0].endswith("2025-03-03 21:00 to 2025-03-04 20:00")


def test_open_ended_window_and_bad_windows() -> None:
    later = kp.filter_events(SPANS, start=T0 + timedelta(hours=20), window="started")
    assert sorted(later.case_ids.tolist()) == ["c", "d"]
    with pytest.raises(FilterError, match="time zone"):
        kp.filter_events(SPANS, start=datetime(2025, 1, 1))
    with pytest.raises(FilterError, match="ends before it starts"):
        kp.filter_events(SPANS, start=T0, end=T0 - timedelta(hours=1))
    with pytest.raises(FilterError, match="Unknown window"):
        kp.filter_events(SPANS, start=T0, window="inside")  # type: ignore[arg-type]


def test_cases_chosen_on_an_attribute() -> None:
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, make_log(cases=30, seed=2), name="demo")
        table = kp.load_events(store)
        attributes = kp.read_case_attributes(store)
    wmo = attributes[attributes["case:scheme"] == "Wmo"]
    assert 0 < len(wmo) < 30
    found = kp.filter_events(table, cases=zip(wmo["source_id"], wmo["case_id"], strict=True))
    assert found.n_cases == len(wmo)
    assert set(found.case_ids.tolist()) == set(wmo["case_id"])
    assert kp.summarise_cases(found)["events"].sum() == len(found)


def test_variant_coverage_and_numbers() -> None:
    table = _table(
        [(f"x{k}", a, h) for k in range(3) for a, h in (("Melding", 0), ("Besluit", 1))]
        + [(f"y{k}", a, h) for k in range(2) for a, h in (("Melding", 0), ("Plan", 1))]
        + [("z", "Plan", 0)]
    )
    assert kp.filter_events(table, variant_coverage=0.5).n_cases == 3  # 3 of 6 cases
    assert kp.filter_events(table, variant_coverage=0.51).n_cases == 5
    assert kp.filter_events(table, variant_coverage=1.0).n_cases == 6
    assert kp.filter_events(table, variants=[3]).case_ids.tolist() == ["z"]
    with pytest.raises(FilterError, match="between 0 and 1"):
        kp.filter_events(table, variant_coverage=80)


def test_leaving_out_an_activity_links_its_neighbours() -> None:
    table = _table([("a", "Melding", 0), ("a", "Check", 1), ("a", "Besluit", 3)])
    found = kp.discover_map(kp.filter_events(table, activities=["Melding", "Besluit"]))
    assert found.edges[["source", "target", "mean_s"]].values.tolist() == [
        ["Melding", "Besluit", 3 * 3600.0]
    ]


def test_activity_share_keeps_the_most_frequent() -> None:
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, make_log(cases=20, seed=5), name="demo")
        table = kp.load_events(store)
    counts = kp.discover_map(table).activities
    found = kp.filter_events(table, activity_share=0.4)  # 2 of 5
    kept = set(kp.discover_map(found).activities["activity"])
    assert kept == set(counts["activity"].head(2))
    assert found.filters == ("the 2 most frequent of 5 activities",)


def test_a_filtered_table_does_not_catch_up() -> None:
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        table = kp.load_events(store)
        with pytest.raises(FilterError, match="cannot catch up"):
            kp.load_events(store, since=kp.filter_events(table, variant_coverage=0.5))


def test_simplify_map_keeps_every_activity_connected() -> None:
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, make_log(cases=200, seed=3), name="demo")
        kp.ingest_log(store, kp.read_events(store).sample(frac=0.5, random_state=1), name="mix")
        full = kp.discover_map(kp.load_events(store))
    assert kp.simplify_map(full, paths=1.0) is full
    small = kp.simplify_map(full, paths=0.1)
    assert len(small.edges) < len(full.edges)
    for column in ("source", "target"):
        assert set(small.edges[column]) == set(full.edges[column])
    # What is kept is unchanged, and the most frequent path is always there.
    merged = small.edges.merge(full.edges, on=["source", "target"], suffixes=("", "_full"))
    assert (merged["count"] == merged["count_full"]).all()
    assert tuple(full.edges.iloc[0][["source", "target"]]) in set(
        zip(small.edges["source"], small.edges["target"], strict=True)
    )


_ROW = st.tuples(st.sampled_from("abcde"), st.sampled_from(["M", "G", "B"]), st.integers(0, 60))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(_ROW, min_size=1, max_size=25),
    st.integers(0, 60),
    st.integers(0, 60),
    st.sampled_from(["contained", "intersecting", "started", "completed", "trim"]),
)
def test_filters_keep_the_table_sound(
    rows: list[tuple[str, str, int]], a: int, b: int, window: str
) -> None:
    table = _table(rows)
    low, high = sorted((a, b))
    found = kp.filter_events(
        table,
        start=T0 + timedelta(hours=low),
        end=T0 + timedelta(hours=high),
        window=window,  # type: ignore[arg-type]
    )
    # Sorted by case, offsets right, every case non-empty.
    assert (np.diff(found.case) >= 0).all()
    assert (np.diff(found.case_start) > 0).all()
    assert found.case_start[-1] == len(found)
    hours = (found.time_us - int(T0.timestamp() * 1e6)) / 3.6e9
    if window == "trim":
        assert ((hours >= low) & (hours < high)).all()
    intersecting = kp.filter_events(
        table, start=T0 + timedelta(hours=low), end=T0 + timedelta(hours=high)
    )
    # Every other mode keeps a subset of the intersecting cases.
    assert set(found.case_ids.tolist()) <= set(intersecting.case_ids.tolist())
    assert kp.discover_map(found).events == len(found)


def test_lifecycle_filter_keeps_completions_and_events_without_one() -> None:
    with kp.open_store(":memory:") as store:
        source = store.create_source(NewSource(name="hand", kind="capture")).source_id
        store.append(
            source,
            [
                Event("a", "Gesprek", T0, lifecycle="start"),
                Event("a", "Gesprek", T0 + timedelta(hours=1), lifecycle="COMPLETE"),
                Event("a", "Besluit", T0 + timedelta(hours=2)),
                Event("b", "Gesprek", T0, lifecycle="schedule"),
            ],
        )
        table = kp.load_events(store)
    done = kp.filter_events(table, lifecycles=["complete"])
    frame = done.to_frame()
    assert frame["activity"].tolist() == ["Gesprek", "Besluit"]
    assert frame["lifecycle"].iloc[0] == "COMPLETE"
    assert frame["lifecycle"].isna().iloc[1]
    assert done.n_cases == 1  # case b had only a schedule event
    assert done.filters == ("lifecycle complete (and events without one)",)
    both = kp.filter_events(table, lifecycles=["start", "complete"])
    assert len(both) == 3


def test_coverage_is_a_share_of_the_window_cases() -> None:
    """With a window first, the variants covering a share are those of the window's
    cases (as the engines choose them), not of the whole log's."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tests.helpers import lifecycle_log

    with kp.open_store(":memory:") as store:
        kp.ingest_log(
            store, lifecycle_log(7, cases=250), name="steps", privacy="off", duplicates="keep"
        )
        events = kp.load_events(store)
    zone = ZoneInfo("Europe/Amsterdam")
    window = {
        "start": datetime(2025, 2, 1, tzinfo=zone),
        "end": datetime(2025, 3, 15, tzinfo=zone),
        "window": "started",
    }
    inside = kp.filter_events(events, **window)  # type: ignore[arg-type]
    both = kp.filter_events(events, **window, variant_coverage=0.6)  # type: ignore[arg-type]
    top = kp.list_variants(inside)
    needed = int((top["cases"].cumsum() / top["cases"].sum() < 0.6 - 1e-12).sum()) + 1
    assert kp.list_variants(both)["activities"].tolist() == top["activities"][:needed].tolist()
    assert both.n_cases >= 0.6 * inside.n_cases
