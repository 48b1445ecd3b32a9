"""compute_relational on DuckDB (Spark: tests/spark/), its inputs, and its errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

import knelpunt as kp
from knelpunt.engine import backends
from knelpunt.errors import EngineError, MappingError, UnsupportedFormatError
from knelpunt.testing import make_log


@pytest.fixture(name="store")
def _store() -> kp.EventStore:
    store = kp.open_store(":memory:")
    kp.ingest_log(store, make_log(cases=12, seed=5), name="demo")
    return store


def test_duckdb_gives_the_in_memory_numbers(store: kp.EventStore) -> None:
    """The Ibis definitions on DuckDB give what discover_map, list_variants and
    summarise_cases give."""
    events = kp.load_events(store)
    found = kp.compute_relational(events)
    pd.testing.assert_frame_equal(
        found.process_map.edges, kp.discover_map(events).edges, check_dtype=False, rtol=1e-9
    )
    pd.testing.assert_frame_equal(found.variants, kp.list_variants(events), check_dtype=False)
    pd.testing.assert_frame_equal(found.cases, kp.summarise_cases(events), check_dtype=False)


def test_an_empty_log_gives_empty_results() -> None:
    """No events: no edges, no variants, no cases, on DuckDB as in memory."""
    with kp.open_store(":memory:") as store:
        found = kp.compute_relational(kp.load_events(store))
    assert (found.process_map.events, found.process_map.cases) == (0, 0)
    assert [len(found.process_map.edges), len(found.variants), len(found.cases)] == [0, 0, 0]


def test_parquet_without_positions_is_refused(store: kp.EventStore, tmp_path: Path) -> None:
    """A single-file export has no store positions; the message says how to write them."""
    written = kp.export_log(store, tmp_path / "events.parquet")
    with pytest.raises(MappingError, match="--partition-by source"):
        kp.compute_relational(written)


def test_a_table_name_needs_spark(store: kp.EventStore) -> None:
    """Named tables live in a Spark session; on DuckDB the message says what to pass."""
    with pytest.raises(MappingError, match='engine="spark"'):
        kp.compute_relational(table="events")


def test_a_storage_url_needs_spark(store: kp.EventStore) -> None:
    """abfss://, s3://, dbfs:/ are a cluster's storage: on DuckDB the message says to pass
    engine="spark" or copy the folder here (a local path is still checked as one)."""
    for url in ("abfss://c@account.dfs.core.windows.net/events", "dbfs:/knelpunt/events"):
        with pytest.raises(
            MappingError, match='storage URLs are read on Spark: pass engine="spark"'
        ):
            kp.compute_relational(url)


def test_unknown_partition_is_refused(store: kp.EventStore, tmp_path: Path) -> None:
    """Only source, year, month and day partition an export."""
    with pytest.raises(UnsupportedFormatError, match="choose from source, year, month, day"):
        kp.export_log(store, tmp_path / "events", partition_by=("activity",))


def test_without_pyspark_spark_says_how_to_install(
    store: kp.EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """engine="spark" without pyspark raises the project's error, naming the extra."""
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(EngineError, match=r"pip install 'knelpunt\[spark\]'"):
        kp.compute_relational(kp.load_events(store), engine="spark")


def test_without_java_spark_says_how_to_install(
    store: kp.EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """engine="spark" without Java (and no running session) names Java 17 and the package."""
    sql = pytest.importorskip("pyspark.sql", reason="pyspark is not installed")
    monkeypatch.setattr(sql.SparkSession, "getActiveSession", classmethod(lambda cls: None))
    monkeypatch.setattr(backends, "_java_found", lambda: False)
    with pytest.raises(EngineError, match="needs Java") as caught:
        kp.compute_relational(kp.load_events(store), engine="spark")
    assert "Java 17 or newer" in str(caught.value)


def test_a_failed_partitioned_export_leaves_nothing(
    store: kp.EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dataset is written beside its folder and moved into place: a failure half-way
    leaves neither the folder nor a scratch copy; a later export writes it whole."""
    import pyarrow.dataset as ds

    real = ds.write_dataset

    def fail_half_way(table: object, folder: object, **options: object) -> None:
        real(table, folder, **options)  # type: ignore[arg-type]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ds, "write_dataset", fail_half_way)
    with pytest.raises(OSError, match="No space left"):
        kp.export_log(store, tmp_path / "events", partition_by=("source",))
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(ds, "write_dataset", real)
    written = kp.export_log(store, tmp_path / "events", partition_by=("source",))
    assert [p.name for p in tmp_path.iterdir()] == ["events"]
    assert len(kp.compute_relational(written).cases) == 12


def test_a_written_result_reads_back_and_refuses_what_it_is_not(
    store: kp.EventStore, tmp_path: Path
) -> None:
    """export_relational and read_relational round-trip; a foreign folder is not replaced,
    an incomplete one not read, each with what to do; working time is said in the notes."""
    found = kp.compute_relational(kp.load_events(store), calendar=kp.WorkCalendar.office_hours())
    where = kp.export_relational(found, tmp_path / "result")
    again = kp.read_relational(kp.export_relational(found, where))  # replaced in place
    pd.testing.assert_frame_equal(again.cases, found.cases)
    pd.testing.assert_frame_equal(again.variants, found.variants)
    assert "working time" in again.process_map.notes[-1]
    (tmp_path / "other").mkdir()
    with pytest.raises(UnsupportedFormatError, match="holds no knelpunt result"):
        kp.export_relational(found, tmp_path / "other")
    (where / "cases.parquet").unlink()
    with pytest.raises(UnsupportedFormatError, match=r"missing cases\.parquet.*export_relational"):
        kp.read_relational(where)
