"""Model discovery on variant counts computed by Spark: the same model as from the events.

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
