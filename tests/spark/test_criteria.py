"""The policy criteria on Spark: each source judged by an executor task, every
scorecard number as evaluate_criteria gives it per source."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import knelpunt as kp

pytestmark = pytest.mark.spark


def test_each_source_judged_by_an_executor(spark: Any, tmp_path_factory: Any) -> None:
    """Two simulated municipalities from a partitioned folder: Spark's scorecards are
    DuckDB's, and so are the notes and the totals."""
    with kp.open_store(":memory:") as store:
        kp.simulate_scenario(store, "baseline", seed=3, overrides=["days=40"])
        kp.simulate_scenario(store, "baseline", seed=4, overrides=["days=30"])
        folder = tmp_path_factory.mktemp("spark-criteria") / "events"
        kp.export_log(store, folder, partition_by=("source", "month"))
    found = kp.compute_criteria(folder, engine="spark", spark=spark, profile="sociaal-domein")
    reference = kp.compute_criteria(folder, profile="sociaal-domein")
    assert found.engine == "spark"
    pd.testing.assert_frame_equal(found.by_source, reference.by_source, check_dtype=False)
    pd.testing.assert_frame_equal(found.totals(), reference.totals())
    assert found.notes == reference.notes
