"""``knelpunt map|variants|discover --engine spark``: Spark from the command line prints
what the in-memory path prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from knelpunt.cli import app
from tests.helpers import cli_json, edge_rows, exported_demo

pytestmark = pytest.mark.spark

runner = CliRunner()


@pytest.fixture(scope="module", name="demo")
def _demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A store with the demo log and its partitioned Parquet export."""
    return exported_demo(tmp_path_factory.mktemp("spark-cli"), seed=7)


_json = cli_json
_edges = edge_rows


def test_map_from_the_store_parquet_and_a_table(spark: Any, demo: tuple[str, Path]) -> None:
    """--engine spark on the store, on the Parquet export and on a Spark table (the
    session the command finds active) gives the in-memory map."""
    store, exported = demo
    memory = _json("map", "--store", store, "--top", "0")
    spark.read.parquet(str(exported)).createOrReplaceTempView("knelpunt_cli_events")
    for via in (
        ["--engine", "spark"],
        ["--engine", "spark", "--parquet", str(exported)],
        ["--table", "knelpunt_cli_events"],
    ):
        found = _json("map", "--store", store, "--top", "0", *via)
        assert (found["events"], found["cases"]) == (memory["events"], memory["cases"]), via
        assert _edges(found) == _edges(memory), via
        assert found["end_activities"] == memory["end_activities"], via


def test_variants_and_discover(spark: Any, demo: tuple[str, Path], tmp_path: Path) -> None:
    """The variants, and the model discovered from Spark's variant counts."""
    store, exported = demo
    memory = _json("variants", "--store", store, "--top", "0")
    found = _json("variants", "--top", "0", "--engine", "spark", "--parquet", str(exported))
    assert [(v["activities"], v["cases"]) for v in found["shown"]] == [
        (v["activities"], v["cases"]) for v in memory["shown"]
    ]
    model = _json("discover", "--store", store, "-o", str(tmp_path / "m.bpmn"))
    on_spark = _json(
        "discover", "--store", store, "-o", str(tmp_path / "s.bpmn"), "--engine", "spark"
    )
    assert (on_spark["tree"], on_spark["origin"]) == (model["tree"], model["origin"])


def test_activities_filtered_in_working_time(spark: Any, demo: tuple[str, Path]) -> None:
    """``knelpunt activities --table`` with a window and working time: Spark filters,
    pairs and times the instances as the store's events give them."""
    store, exported = demo
    spark.read.parquet(str(exported)).createOrReplaceTempView("knelpunt_cli_steps")
    args = ("activities", "--store", store, "--top", "0", "--working-time")
    args += ("--from", "2025-01-08", "--window", "started")
    memory = _json(*args)
    found = _json(*args, "--table", "knelpunt_cli_steps")
    assert (found["instances"], found["notes"]) == (memory["instances"], memory["notes"])
    assert 0 < found["instances"] < _json("activities", "--store", store)["instances"]
    assert [(a["activity"], a["instances"], round(a["waiting_work_median_s"], 6)) for a in
            found["activities"]] == [
        (a["activity"], a["instances"], round(a["waiting_work_median_s"], 6))
        for a in memory["activities"]
    ]  # fmt: skip


def test_unknown_table(spark: Any, demo: tuple[str, Path]) -> None:
    """A table the session does not have: the tables it has are named."""
    store, _ = demo
    spark.range(1).createOrReplaceTempView("knelpunt_cli_other")
    result = runner.invoke(app, ["variants", "--table", "nope", "--store", store])
    assert result.exit_code == 1
    assert "Spark has no table 'nope'" in result.stderr
    assert "knelpunt_cli_other" in result.stderr
