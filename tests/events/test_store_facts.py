"""Store-wide facts caught up step by step equal the facts read at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import knelpunt as kp

_START = datetime(2025, 1, 6, 9, tzinfo=UTC)
_CASES = ["a", "b", "c", "d"]
_PEOPLE = ["Anouk", "Bram", "Chris"]
_TEAMS = ["Wmo", "Jeugd"]

# One event: its case, its resource (or none), its team (or none) and a case
# attribute (or none): the scheme, or a cost.
_event = st.tuples(
    st.sampled_from(_CASES),
    st.none() | st.sampled_from(_PEOPLE),
    st.none() | st.sampled_from(_TEAMS),
    st.none() | st.sampled_from(["Wmo", "Jeugdwet"]),
    st.none() | st.floats(min_value=0, max_value=1e4, allow_nan=False),
)


def _events(drawn: list[tuple[object, ...]], offset: int) -> list[kp.Event]:
    out = []
    for i, (case, person, team, scheme, cost) in enumerate(drawn):
        attributes = {
            k: v
            for k, v in (("org:group", team), ("case:scheme", scheme), ("case:cost", cost))
            if v is not None
        }
        out.append(
            kp.Event(
                str(case),
                "Gesprek",
                _START + timedelta(hours=offset + i),
                resource=None if person is None else str(person),
                attributes=attributes,
            )
        )
    return out


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[sorted(frame.columns)].reset_index(drop=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(
        st.tuples(st.integers(0, 1), st.lists(_event, max_size=6)), min_size=1, max_size=5
    )
)
def test_facts_caught_up_in_steps_equal_the_facts_read_at_once(
    batches: list[tuple[int, list[tuple[object, ...]]]],
) -> None:
    with kp.open_store(":memory:") as store:
        sources = [store.create_source(kp.NewSource(f"s{i}", "capture")).source_id for i in (1, 2)]
        facts = kp.load_store_facts(store)
        for step, (which, drawn) in enumerate(batches):
            kp.append_events(store, sources[which], _events(drawn, offset=10 * step))
            facts = kp.load_store_facts(store, since=facts)
        whole = kp.load_store_facts(store)
        assert facts.high == whole.high == store.last_position()
        assert facts.groups == whole.groups
        if "org:group" in kp.read_events(store).columns:
            assert facts.groups == kp.read_resource_groups(store)
        pd.testing.assert_frame_equal(
            _sorted(facts.attributes), _sorted(whole.attributes), check_dtype=False
        )


def test_a_purge_reads_the_facts_anew() -> None:
    with kp.open_store(":memory:") as store:
        one = store.create_source(kp.NewSource("een", "capture")).source_id
        two = store.create_source(kp.NewSource("twee", "capture")).source_id
        kp.append_events(store, one, _events([("a", "Anouk", "Wmo", "Wmo", None)], 0))
        kp.append_events(store, two, _events([("b", "Bram", "Jeugd", None, 5.0)], 1))
        facts = kp.load_store_facts(store)
        assert facts.groups == {"Anouk": "Wmo", "Bram": "Jeugd"}
        kp.purge_source(store, one, reason="test")
        after = kp.load_store_facts(store, since=facts)
        assert after.groups == {"Bram": "Jeugd"}
        assert after.attributes["case_id"].tolist() == ["b"]
