"""Model discovery and conformance on variant counts computed by Spark: the same model and
the same fitness as from the events.

pm4py's inductive miner needs each variant and its number of cases, nothing else;
Spark counts them where the events are and only the variants come back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import knelpunt as kp
from tests.conftest import shared_log

pytestmark = pytest.mark.spark


def _shape(model: kp.ProcessModel) -> tuple[int, int, int, list[str]]:
    """Places, transitions, arcs and the transitions' labels: pm4py names places and
    silent steps in no fixed order, so nets are compared up to those names."""
    labels = sorted(t.label or "" for t in model.net.transitions)
    return len(model.net.places), len(model.net.transitions), len(model.net.arcs), labels


@pytest.fixture(scope="module", name="receipt")
def _receipt(tmp_path_factory: pytest.TempPathFactory) -> tuple[kp.EventTable, Path]:
    """The receipt log (1,434 cases, completions only), in memory and as partitioned Parquet."""
    folder = tmp_path_factory.mktemp("receipt-models")
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, shared_log("receipt.xes.gz"), privacy="off")
        events = kp.load_events(store)
        exported = kp.export_log(store, folder / "events", partition_by=("source", "year", "month"))
    return events, exported


@pytest.mark.real_logs
@pytest.mark.parametrize("noise", [0.0, 0.2])
def test_receipt_model_from_spark_variants(
    spark: Any, receipt: tuple[kp.EventTable, Path], noise: float
) -> None:
    """From Spark's 116 variant counts, IM and IMf find the model they find from the 8,577
    events: the same tree, places, transitions, arcs and origin."""
    events, exported = receipt
    found = kp.compute_relational(exported, engine="spark", spark=spark)
    assert len(found.variants) == 116
    expected = kp.discover_model(events, noise=noise)
    for given in (found, found.variants[["activities", "cases"]]):
        model = kp.discover_model(given, noise=noise)
        assert model.tree == expected.tree
        assert _shape(model) == _shape(expected)
        assert model.origin == expected.origin
        assert model.origin.endswith("116 variants of 1,434 cases")


@pytest.mark.real_logs
def test_receipt_conformance_on_spark_variants(
    spark: Any, receipt: tuple[kp.EventTable, Path]
) -> None:
    """Token replay of every case and alignments of the same random sample of 200 cases
    give the same fitness from Spark's variants as from the events, and the same
    executions per activity; each case keeps its variant's verdict."""
    events, exported = receipt
    found = kp.compute_relational(exported, engine="spark", spark=spark)
    model = kp.discover_model(events, noise=0.2)
    expected = kp.check_conformance(events, model, sample=200, time_budget=60)
    got = kp.check_conformance(found, model, sample=200, time_budget=60)
    assert got.fitness == pytest.approx(expected.fitness, rel=1e-12)
    assert (got.fitting_share, got.mean_trace_fitness) == pytest.approx(
        (expected.fitting_share, expected.mean_trace_fitness), rel=1e-12
    )
    assert (got.sampled_cases, got.aligned_cases) == (200, expected.aligned_cases)
    assert got.alignment_fitness == pytest.approx(expected.alignment_fitness, rel=1e-12)
    # Which of several equally cheap alignments pm4py returns varies between calls (on
    # the same input too), so where a deviation is counted may move; what is aligned not.
    same = ["activity", "in_model", "in_log", "executions"]
    assert got.activities[same].equals(expected.activities[same])
    key = ["source_id", "case_id"]
    left = got.cases.sort_values(key).reset_index(drop=True)
    right = expected.cases.sort_values(key).reset_index(drop=True)
    assert len(left) == 1434
    assert (
        left[[*key, "variant", "fits"]]
        .astype(str)
        .equals(right[[*key, "variant", "fits"]].astype(str))
    )
