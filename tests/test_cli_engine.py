"""``--engine``, ``--parquet`` and ``--table`` on map, variants and discover (DuckDB here;
Spark in tests/spark/test_cli_spark.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt.cli import app
from tests.helpers import cli_json, edge_rows, exported_demo

runner = CliRunner()


@pytest.fixture(scope="module", name="demo")
def _demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A store with the demo log and its partitioned Parquet export."""
    return exported_demo(tmp_path_factory.mktemp("engine-cli"))


_json = cli_json
_edges = edge_rows


def _shape(path: Path) -> tuple[int, int, int, list[str]]:
    """A written net's places, transitions, arcs and labels (pm4py names places and
    silent steps in no fixed order, so the files differ in those names only)."""
    net = kp.read_model(path).net
    labels = sorted(t.label or "" for t in net.transitions)
    return len(net.places), len(net.transitions), len(net.arcs), labels


class TestSameNumbers:
    """On DuckDB, from the store or from the Parquet export, the commands print what the
    in-memory path prints."""

    def test_map(self, demo: tuple[str, Path]) -> None:
        """Every edge's count, cases and median, and the start and end activities."""
        store, exported = demo
        memory = _json("map", "--store", store, "--top", "0")
        for via in (["--engine", "duckdb"], ["--parquet", str(exported)]):
            found = _json("map", "--store", store, "--top", "0", *via)
            assert (found["events"], found["cases"]) == (memory["events"], memory["cases"])
            assert _edges(found) == _edges(memory)
            assert found["start_activities"] == memory["start_activities"]
            assert found["end_activities"] == memory["end_activities"]

    def test_map_with_filters_and_working_time(self, demo: tuple[str, Path]) -> None:
        """Filters and working time apply to the store's events before the engine runs."""
        store, _ = demo
        args = ("map", "--store", store, "--top", "0", "--coverage", "0.5", "--working-time")
        memory = _json(*args)
        found = _json(*args, "--engine", "duckdb")
        assert found["filters"] == memory["filters"] != []
        assert _edges(found) == _edges(memory)

    def test_filters_and_working_time_on_parquet(self, demo: tuple[str, Path]) -> None:
        """On a Parquet export the engine filters (window, source, coverage, activity
        share) and counts working hours itself: the store's numbers and words."""
        store, exported = demo
        args = ("map", "--store", store, "--top", "0", "--working-time", "--source", "1")
        args += ("--from", "2025-01-08", "--window", "started", "--activity-share", "0.7")
        memory = _json(*args)
        found = _json(*args, "--parquet", str(exported))
        # The store reads the source alone; the engine filters it, and says so.
        assert found["filters"][1] == "source(s) 1"
        assert found["filters"][:1] + found["filters"][2:] == memory["filters"] != []
        assert (found["events"], found["cases"]) == (memory["events"], memory["cases"])
        assert 0 < found["events"] < _json("map", "--store", store)["events"]
        assert _edges(found) == _edges(memory)

    def test_instance_map(self, demo: tuple[str, Path]) -> None:
        """The map of activity instances (waits between steps) from the engine, as from
        the store, in working time."""
        store, exported = demo
        args = ("map", "--store", store, "--top", "0", "--instances", "--working-time")
        memory = _json(*args)
        assert memory["level"] == "instance"
        for via in (["--engine", "duckdb"], ["--parquet", str(exported)]):
            found = _json(*args, *via)
            assert (found["level"], found["events"]) == ("instance", memory["events"])
            assert _edges(found) == _edges(memory)
            assert found["notes"] == memory["notes"]

    def test_waiting(self, demo: tuple[str, Path]) -> None:
        """Every wait split into its causes: over the whole store as split_waiting splits
        it, and per source from the Parquet export as compute_waiting gives it."""
        store, exported = demo
        with kp.open_store(store) as opened:
            events = kp.load_events(opened)
        whole = kp.split_waiting(kp.pair_instances(events, calendar=kp.WorkCalendar.office_hours()))
        found = _json("waiting", "--store", store, "--top", "0")
        expected = whole.by_activity().set_index("activity")
        for row in found["by_activity"]:
            assert row["waiting_s"] == pytest.approx(expected.loc[row["activity"], "waiting_s"])
            assert row["contention_s"] == pytest.approx(
                expected.loc[row["activity"], "contention_s"]
            )
        assert [t["seconds"] for t in found["totals"]] == pytest.approx(
            whole.totals()["seconds"].tolist()
        )
        per_source = _json("waiting", "--parquet", str(exported), "--per-source", "--top", "0")
        assert per_source["by_activity"] == pd.DataFrame(
            kp.compute_waiting(exported).by_activity
        ).to_dict("records")

    def test_criteria(self, demo: tuple[str, Path]) -> None:
        """The criteria judged from the Parquet export: over all as the store's criteria
        command judges them, and per source."""
        store, exported = demo
        memory = _json("criteria", "--store", store, "--no-blockers")
        found = _json("criteria", "--parquet", str(exported))
        columns = ("criterion", "cases", "measured", "passed", "breached", "not_measurable")
        assert [tuple(r[c] for c in columns) for r in found["scorecard"]] == [
            tuple(r[c] for c in columns) for r in memory["scorecard"]
        ]
        per_source = _json("criteria", "--parquet", str(exported), "--level", "source")
        assert {r["source_id"] for r in per_source["scorecard"]} == {1}

    def test_activities(self, demo: tuple[str, Path], tmp_path: Path) -> None:
        """Waiting and processing per activity, in working time, from the engine as from
        the store; the instances to CSV alike."""
        store, exported = demo
        args = ("activities", "--store", store, "--top", "0", "--working-time")
        memory = _json(*args, "--instances-csv", str(tmp_path / "memory.csv"))
        for via in (["--engine", "duckdb"], ["--parquet", str(exported)]):
            found = _json(*args, *via, "--instances-csv", str(tmp_path / "engine.csv"))
            assert found["instances"] == memory["instances"] > 0
            assert found["notes"] == memory["notes"]
            assert (
                pd.DataFrame(found["activities"])
                .round(6)
                .equals(pd.DataFrame(memory["activities"]).round(6))
            )
            written = pd.read_csv(tmp_path / "engine.csv")
            expected = pd.read_csv(tmp_path / "memory.csv")
            assert written[["case_id", "activity", "start", "waiting_s"]].equals(
                expected[["case_id", "activity", "start", "waiting_s"]]
            )

    def test_variants(self, demo: tuple[str, Path]) -> None:
        """Every variant's path and cases, from the store and from Parquet."""
        store, exported = demo
        memory = _json("variants", "--store", store, "--top", "0")
        for via in (["--engine", "duckdb"], ["--parquet", str(exported)]):
            found = _json("variants", "--store", store, "--top", "0", *via)
            assert found["variants"] == memory["variants"]
            assert [(v["activities"], v["cases"]) for v in found["shown"]] == [
                (v["activities"], v["cases"]) for v in memory["shown"]
            ]

    def test_discover(self, demo: tuple[str, Path], tmp_path: Path) -> None:
        """The model from the engine's variant counts is the in-memory one: completions
        by default from the store, every event from Parquet (--all-events)."""
        store, exported = demo
        for extra in ([], ["--all-events"]):
            memory = _json("discover", "--store", store, "-o", str(tmp_path / "m.pnml"), *extra)
            found = _json(
                "discover", "--store", store, "-o", str(tmp_path / "e.pnml"),
                "--engine", "duckdb", *extra,
            )  # fmt: skip
            assert (found["tree"], found["origin"]) == (memory["tree"], memory["origin"])
        parquet = _json(
            "discover", "-o", str(tmp_path / "p.pnml"), "--parquet", str(exported), "--all-events"
        )
        assert (parquet["tree"], parquet["origin"]) == (memory["tree"], memory["origin"])
        assert _shape(tmp_path / "p.pnml") == _shape(tmp_path / "m.pnml")

    def test_conformance(self, demo: tuple[str, Path], tmp_path: Path) -> None:
        """Conformance on the engine's variant counts: the same fitness and sample."""
        store, exported = demo
        model = tmp_path / "m.pnml"
        _json("discover", "--store", store, "-o", str(model), "--all-events", "--noise", "0")
        memory = _json("conformance", "--store", store, "-m", str(model), "--all-events")
        for via in (["--engine", "duckdb"], ["--parquet", str(exported)]):
            found = _json("conformance", "--store", store, "-m", str(model), "--all-events", *via)
            assert found["fitness"] == memory["fitness"] == 1.0
            assert (found["cases"], found["sampled_cases"]) == (12, memory["sampled_cases"])
            assert found["alignment_fitness"] == memory["alignment_fitness"]

    def test_save_and_read_back(self, demo: tuple[str, Path], tmp_path: Path) -> None:
        """--save writes the whole result; kp.read_relational gives it back as computed."""
        _, exported = demo
        saved = tmp_path / "result"
        _json("map", "--parquet", str(exported), "--save", str(saved))
        again = kp.read_relational(saved)
        found = kp.compute_relational(exported)
        assert again.engine == "duckdb"
        assert (again.process_map.events, again.process_map.cases) == (120, 12)
        pd.testing.assert_frame_equal(again.process_map.edges, found.process_map.edges)
        pd.testing.assert_frame_equal(again.process_map.activities, found.process_map.activities)
        pd.testing.assert_frame_equal(again.variants, found.variants)
        pd.testing.assert_frame_equal(again.cases, found.cases)
        assert again.process_map.start_activities == found.process_map.start_activities
        assert again.process_map.end_activities == found.process_map.end_activities
        model = kp.discover_model(again, noise=0.0)
        assert model.tree == kp.discover_model(found, noise=0.0).tree

    def test_table_output(self, demo: tuple[str, Path]) -> None:
        """The tables read as without an engine."""
        _, exported = demo
        shown = runner.invoke(app, ["map", "--parquet", str(exported)])
        assert shown.exit_code == 0, shown.output
        assert "120 events in 12 cases" in shown.stdout
        listed = runner.invoke(app, ["variants", "--parquet", str(exported)])
        assert "the 1 shown cover 100.0% of the cases" in listed.stdout


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (["map", "--parquet", "P", "--table", "t"], 2, "give --parquet or --table, not both"),
        (["map", "--parquet", "P", "--where", "scheme=Wmo"], 2, "export the chosen cases"),
        (["activities", "--parquet", "P", "--where", "a=b"], 2, "--where reads the case"),
        (["map", "--engine", "duckdb", "--instances", "--save", "o"], 2, "leave out --instances"),
        (["map", "--save", "out"], 2, "--save writes what an engine computed"),
        (["criteria", "--engine", "duckdb"], 2, "criteria on the engines read a Parquet"),
        (["criteria", "--parquet", "P", "--level", "team"], 2, "use --level source or"),
        (
            ["map", "--table", "t", "--engine", "duckdb"],
            3,
            'read on Spark only: pass engine="spark"',
        ),
        (["variants", "--parquet", "missing"], 3, "knelpunt export --format parquet"),
        (["map", "--engine", "flink"], 2, "'flink' is not one of"),
    ],
)
def test_refused_with_what_to_do(
    demo: tuple[str, Path], tmp_path: Path, args: list[str], code: int, said: str
) -> None:
    """Combinations the engines cannot answer are refused, saying what to do instead."""
    store, exported = demo
    given = [
        str(exported) if a == "P" else str(tmp_path / a) if a == "missing" else a for a in args
    ]
    result = runner.invoke(app, [*given, "--store", store])
    assert result.exit_code == code, result.output
    # Typer draws usage errors in a box: its borders are left out before reading.
    assert said in " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split()), result.output
