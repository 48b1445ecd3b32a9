"""compute_criteria: each source's cases judged as evaluate_criteria judges them, from
the Parquet export (Spark: tests/spark/test_criteria.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import knelpunt as kp
from knelpunt.errors import AnalysisError, MappingError

_PROFILE = "sociaal-domein"


@pytest.fixture(scope="module", name="simulated")
def _simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[kp.EventStore, Path]:
    """Two simulated municipalities' case handling, and their export."""
    store = kp.open_store(":memory:")
    kp.simulate_scenario(store, "baseline", seed=1, overrides=["days=60"])
    kp.simulate_scenario(store, "baseline", seed=2, overrides=["days=45"])
    folder = tmp_path_factory.mktemp("criteria") / "events"
    kp.export_log(store, folder, partition_by=("source", "month"))
    return store, folder


def scorecard(store: kp.EventStore, sources: list[int]) -> pd.DataFrame:
    events = kp.load_events(store, sources=sources)
    return kp.evaluate_criteria(events, profile=_PROFILE, store=store, blockers=False).scorecard()


def test_each_source_judged_as_in_memory(simulated: tuple[kp.EventStore, Path]) -> None:
    """Every scorecard column per source (counts, compliance, median, the reasons cases
    were not measurable), and the sums over the sources are the whole log's counts."""
    store, folder = simulated
    found = kp.compute_criteria(folder, profile=_PROFILE)
    assert sorted(found.by_source["source_id"].unique()) == [1, 2]
    for source in (1, 2):
        mine = found.by_source[found.by_source["source_id"] == source]
        pd.testing.assert_frame_equal(
            mine.drop(columns="source_id").reset_index(drop=True),
            scorecard(store, [source]),
            check_dtype=False,
        )
    # Summed over the sources, the whole log's counts, but where a household spans
    # both sources (the simulations number households alike): it counts once per source.
    whole = scorecard(store, [1, 2]).set_index("criterion")
    totals = found.totals().set_index("criterion")
    columns = ["cases", "measured", "passed", "breached", "not_measurable"]
    apart = totals.index != "een-regisseur"
    pd.testing.assert_frame_equal(totals.loc[apart, columns], whole.loc[apart, columns])
    assert totals.loc["een-regisseur", "passed"] > whole.loc["een-regisseur", "passed"]
    assert (totals["sources"] == 2).all()


def test_the_whole_log_as_one(simulated: tuple[kp.EventStore, Path]) -> None:
    """per=None judges every source together, as evaluate_criteria judges a whole store:
    households across sources count once."""
    store, folder = simulated
    found = kp.compute_criteria(folder, profile=_PROFILE, per=None)
    assert set(found.by_source["source_id"]) == {0}
    pd.testing.assert_frame_equal(
        found.by_source.drop(columns="source_id"), scorecard(store, [1, 2]), check_dtype=False
    )
    whole = scorecard(store, [1, 2])
    assert found.totals()["compliance"].tolist() == whole["compliance"].tolist()


def test_chosen_criteria_and_filters(simulated: tuple[kp.EventStore, Path]) -> None:
    """Chosen criteria only; a filter keeps one source."""
    _, folder = simulated
    found = kp.compute_criteria(
        folder,
        profile=_PROFILE,
        criteria=["wmo-onderzoek"],
        filters=kp.EventFilter(sources=[2]),
    )
    assert found.by_source[["source_id", "criterion"]].values.tolist() == [[2, "wmo-onderzoek"]]
    assert found.filters == ("source(s) 2",)
    assert "criteria judged" in found._repr_html_()


def test_refused_with_what_to_do(simulated: tuple[kp.EventStore, Path]) -> None:
    """An unknown criterion is said before the engine runs; an event table in memory
    belongs to evaluate_criteria."""
    store, folder = simulated
    with pytest.raises(AnalysisError, match="No criterion 'wachttijd'"):
        kp.compute_criteria(folder, profile=_PROFILE, criteria=["wachttijd"])
    with pytest.raises(MappingError, match=r"use kp\.evaluate_criteria"):
        kp.compute_criteria(kp.load_events(store), profile=_PROFILE)  # type: ignore[arg-type]
