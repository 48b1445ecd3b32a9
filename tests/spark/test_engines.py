"""DuckDB and Spark compute the same map, variants and case table as the in-memory path.

Every number is compared: each edge's count, cases and six duration statistics
(relative tolerance 1e-9), the activities, start and end activities, every
variant's trace, number and cases exactly (its duration statistics to 1e-9), and
the case table exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import knelpunt as kp
from knelpunt.engine import RelationalResult
from knelpunt.errors import MappingError
from tests.conftest import shared_log

pytestmark = pytest.mark.spark

_ACTIVITIES = ("Melding", "Gesprek", "Onderzoek", "Besluit", "Plan")
_RESOURCES = (None, "an", "bo", "cy")


def _generated(seed: int, *, cases: int) -> pd.DataFrame:
    """A log with what makes ordering hard: events of a case at the same minute, repeated
    activities, missing resources, cases over a month end."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    start = pd.Timestamp("2025-01-20 08:00", tz="UTC")
    for k in range(cases):
        at = start + pd.Timedelta(minutes=int(rng.integers(0, 60 * 24 * 30)))
        for _ in range(int(rng.integers(1, 9))):
            at += pd.Timedelta(minutes=int(rng.choice([0, 0, 7, 60, 60 * 24 * 3])))
            rows.append(
                {
                    "case:concept:name": f"z{k}",
                    "concept:name": str(rng.choice(_ACTIVITIES)),
                    "time:timestamp": at,
                    "org:resource": _RESOURCES[int(rng.integers(len(_RESOURCES)))],
                }
            )
    return pd.DataFrame(rows)


def _same_frame(left: pd.DataFrame, right: pd.DataFrame, *, rtol: float = 0.0) -> None:
    """Equal column by column: floats to ``rtol`` (exactly when 0), everything else exactly."""
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right)
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(a) and pd.api.types.is_float_dtype(b):
            assert np.allclose(a.to_numpy(), b.to_numpy(), rtol=rtol, atol=0.0), column
        else:
            assert a.tolist() == b.tolist(), column


def _same_results(found: RelationalResult, events: kp.EventTable) -> None:
    """``found`` holds exactly what the in-memory NumPy/Polars path gives for ``events``."""
    expected = kp.discover_map(events)
    got = found.process_map
    assert (got.events, got.cases) == (expected.events, expected.cases)
    assert got.start_activities == expected.start_activities
    assert got.end_activities == expected.end_activities
    _same_frame(got.activities, expected.activities)
    _same_frame(got.edges, expected.edges, rtol=1e-9)
    _same_frame(found.variants, kp.list_variants(events), rtol=1e-9)
    _same_frame(found.cases, kp.summarise_cases(events))


def _export(store: kp.EventStore, folder: Path) -> Path:
    return kp.export_log(store, folder, partition_by=("source", "year", "month"))


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[kp.EventTable, Path]:
    """Two sources (the same case ids in both), as a projection and as partitioned Parquet."""
    folder = tmp_path_factory.mktemp("generated")
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, _generated(1, cases=300), name="a", privacy="off", duplicates="keep")
        kp.ingest_log(store, _generated(2, cases=200), name="b", privacy="off", duplicates="keep")
        return kp.load_events(store), _export(store, folder / "events")


@pytest.fixture(scope="module")
def receipt(tmp_path_factory: pytest.TempPathFactory) -> tuple[kp.EventTable, Path]:
    """The receipt phase of a Dutch municipality's permit process (1,434 cases)."""
    path = shared_log("receipt.xes.gz")
    folder = tmp_path_factory.mktemp("receipt")
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, path, privacy="off")
        return kp.load_events(store), _export(store, folder / "events")


class TestGeneratedLog:
    """A generated log with ties, rework and missing resources, on both engines."""

    def test_partitioned_by_source_and_month(self, generated: tuple[kp.EventTable, Path]) -> None:
        """The export is a hive-partitioned folder: one per source and month."""
        _, folder = generated
        parts = {p.parent.relative_to(folder).as_posix() for p in folder.rglob("*.parquet")}
        assert {"source=1/year=2025/month=1", "source=2/year=2025/month=2"} <= parts

    def test_duckdb_on_the_projection_and_on_parquet(
        self, generated: tuple[kp.EventTable, Path]
    ) -> None:
        """DuckDB gives the in-memory numbers, from the projection and from Parquet."""
        events, folder = generated
        _same_results(kp.compute_relational(events), events)
        _same_results(kp.compute_relational(folder, engine="duckdb"), events)

    def test_spark_on_parquet(self, spark: Any, generated: tuple[kp.EventTable, Path]) -> None:
        """Spark reads the partitioned folder and gives the same numbers."""
        events, folder = generated
        found = kp.compute_relational(folder, engine="spark", spark=spark)
        assert found.engine == "spark"
        _same_results(found, events)

    def test_spark_on_a_storage_url(
        self, spark: Any, generated: tuple[kp.EventTable, Path]
    ) -> None:
        """A URL (here file://, on a cluster abfss://, s3://, dbfs:/) is read as Spark reads
        it, not as a local path; one Spark cannot read says what to check."""
        events, folder = generated
        _same_results(kp.compute_relational(folder.as_uri(), engine="spark", spark=spark), events)
        with pytest.raises(MappingError, match="Spark cannot read file:///nonexistent"):
            kp.compute_relational("file:///nonexistent/events", engine="spark", spark=spark)

    def test_spark_on_a_named_table(
        self, spark: Any, generated: tuple[kp.EventTable, Path]
    ) -> None:
        """A table of the Spark session gives the same numbers."""
        events, folder = generated
        spark.read.parquet(str(folder)).createOrReplaceTempView("knelpunt_test_events")
        _same_results(
            kp.compute_relational(table="knelpunt_test_events", engine="spark", spark=spark),
            events,
        )

    def test_spark_in_working_time(self, spark: Any, generated: tuple[kp.EventTable, Path]) -> None:
        """With a working calendar (events in memory), Spark counts working seconds alike."""
        events, _ = generated
        office = kp.WorkCalendar.office_hours()
        found = kp.compute_relational(events, engine="spark", spark=spark, calendar=office)
        _same_frame(
            found.process_map.edges, kp.discover_map(events, calendar=office).edges, rtol=1e-9
        )
        _same_frame(found.variants, kp.list_variants(events, calendar=office), rtol=1e-9)
        _same_frame(found.cases, kp.summarise_cases(events, calendar=office))


@pytest.mark.real_logs
def test_receipt_on_both_engines(spark: Any, receipt: tuple[kp.EventTable, Path]) -> None:
    """The real receipt log: DuckDB and Spark, from the same Parquet, give every number of
    the in-memory path (and so of each other)."""
    events, folder = receipt
    duckdb = kp.compute_relational(folder)
    on_spark = kp.compute_relational(folder, engine="spark", spark=spark)
    _same_results(duckdb, events)
    _same_results(on_spark, events)
    assert (on_spark.process_map.cases, on_spark.process_map.events) == (1434, 8577)
    assert len(on_spark.variants) == 116
