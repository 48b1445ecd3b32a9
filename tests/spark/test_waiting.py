"""The waiting split on Spark: instances computed by Spark, each source split by an
executor task, every part as split_waiting gives it per source."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import knelpunt as kp
from knelpunt.testing import make_log
from tests.helpers import lifecycle_log, split_per_source

pytestmark = pytest.mark.spark


def test_each_source_split_by_an_executor(spark: Any, tmp_path_factory: Any) -> None:
    """Two sources from a partitioned Parquet folder: Spark's split, per source and
    activity, is the in-memory one, and so are the notes of each source."""
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, make_log(cases=40, seed=2), name="completions")
        kp.ingest_log(
            store, lifecycle_log(5, cases=80), name="steps", privacy="off", duplicates="keep"
        )
        folder = tmp_path_factory.mktemp("spark-waiting") / "events"
        kp.export_log(store, folder, partition_by=("source", "year", "month"))
        events = kp.load_events(store)
    found = kp.compute_waiting(folder, engine="spark", spark=spark)
    assert found.engine == "spark"
    pd.testing.assert_frame_equal(found.by_activity, split_per_source(events), check_dtype=False)
    assert found.notes == kp.compute_waiting(folder).notes
