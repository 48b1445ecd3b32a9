"""The knelpunt command, as a consultant types it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from knelpunt.cli import app
from knelpunt.testing import make_demo_csv

runner = CliRunner()


def test_ingest_sources_export_purge(tmp_path: Path) -> None:
    """The full command-line round: record, list, export, purge."""
    store = str(tmp_path / "k.db")
    csv = make_demo_csv(tmp_path / "demo.csv", cases=4)
    first = runner.invoke(app, ["ingest", str(csv), "--store", store, "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["added"] == 40
    again = runner.invoke(app, ["ingest", str(csv), "--store", store])
    assert again.exit_code == 0
    assert "Already recorded" in again.stdout
    listed = json.loads(runner.invoke(app, ["sources", "--store", store, "--json"]).stdout)
    assert [(s["source_id"], s["event_count"]) for s in listed] == [(1, 40)]
    out = tmp_path / "out.xes"
    assert runner.invoke(app, ["export", str(out), "--store", store]).exit_code == 0
    assert out.read_text().count("<event>") == 40
    purged = runner.invoke(app, ["purge", "1", "--reason", "test", "--yes", "--store", store])
    assert purged.exit_code == 0
    assert "40 events removed" in purged.stdout


def test_bad_input_exit_code_and_message(tmp_path: Path) -> None:
    """Bad rows exit with 3 and a message naming the line; --lenient records the rest."""
    path = tmp_path / "bad.csv"
    path.write_text("case;activity;timestamp\n1;A;01-01-2024 10:00\n1;B;99-99-2024\n")
    store = str(tmp_path / "k.db")
    result = runner.invoke(app, ["ingest", str(path), "--store", store])
    assert result.exit_code == 3
    assert "bad.csv, line 3, column 'timestamp'" in result.stderr
    lenient = runner.invoke(app, ["ingest", str(path), "--store", store, "--lenient"])
    assert lenient.exit_code == 0
    assert "1 rows refused" in lenient.stdout
    rejects = runner.invoke(app, ["rejects", "1", "--store", store, "--json"])
    assert json.loads(rejects.stdout)[0]["line"] == 3


def test_store_from_environment(tmp_path: Path) -> None:
    """KNELPUNT_STORE chooses the store when --store is absent."""
    store = tmp_path / "env.db"
    csv = make_demo_csv(tmp_path / "demo.csv", cases=2)
    result = runner.invoke(app, ["ingest", str(csv)], env={"KNELPUNT_STORE": str(store)})
    assert result.exit_code == 0
    assert store.exists()


def test_mapping_suggestion(tmp_path: Path) -> None:
    """'knelpunt mapping' shows the suggested columns without recording."""
    csv = make_demo_csv(tmp_path / "demo.csv", cases=2)
    result = runner.invoke(app, ["mapping", str(csv), "--json"])
    mapping = json.loads(result.stdout)["mapping"]
    assert (mapping["case_id"], mapping["start_timestamp"], mapping["timestamp"]) == (
        "Zaaknummer",
        "Begin",
        "Eind",
    )


def test_unknown_source_exit_code(tmp_path: Path) -> None:
    """A store error exits with 4 and lists what exists."""
    result = runner.invoke(app, ["rejects", "9", "--store", str(tmp_path / "k.db")])
    assert result.exit_code == 4
    assert "No source 9" in result.stderr


def test_map_and_variants(tmp_path: Path) -> None:
    """The map and variants commands, as tables and as JSON; the projection is cached."""
    store = str(tmp_path / "k.db")
    csv = make_demo_csv(tmp_path / "demo.csv", cases=6)
    assert runner.invoke(app, ["ingest", str(csv), "--store", store]).exit_code == 0
    shown = runner.invoke(app, ["map", "--store", store])
    assert shown.exit_code == 0, shown.output
    assert "60 events in 6 cases" in shown.stdout
    found = json.loads(runner.invoke(app, ["map", "--store", store, "--json", "--top", "0"]).stdout)
    assert found["cases"] == 6
    assert sum(e["count"] for e in found["edges"]) == 60 - 6  # per case: one edge fewer than events
    assert (tmp_path / "k.db.projections").is_dir()
    variants = json.loads(runner.invoke(app, ["variants", "--store", store, "--json"]).stdout)
    assert sum(v["cases"] for v in variants["shown"]) <= 6
    table = runner.invoke(app, ["variants", "--store", store, "--top", "2"])
    assert table.exit_code == 0
    assert "1 variant; the 1 shown cover 100.0% of the cases" in table.stdout
    empty = runner.invoke(app, ["map", "--store", str(tmp_path / "empty.db")])
    assert "No events to map" in empty.stdout
    # The demo log has start and complete events: 30 instances, 4 paths per case.
    steps = runner.invoke(app, ["map", "--store", store, "--instances", "--json", "--top", "0"])
    found = json.loads(steps.stdout)
    assert (found["level"], found["events"]) == ("instance", 30)
    assert sum(e["count"] for e in found["edges"]) == 30 - 6
    assert all(a["processing_median_s"] > 0 for a in found["activities"])
    shown = runner.invoke(app, ["map", "--store", store, "--instances"])
    assert "30 activity instances in 6 cases" in shown.stdout
    assert "processing (median)" in shown.stdout


def test_activities_and_working_time(tmp_path: Path) -> None:
    """'knelpunt activities' splits waiting and processing; --working-time and --calendar."""
    store = str(tmp_path / "k.db")
    csv = make_demo_csv(tmp_path / "demo.csv", cases=6)
    assert runner.invoke(app, ["ingest", str(csv), "--store", store]).exit_code == 0
    shown = runner.invoke(app, ["activities", "--store", store, "--working-time"])
    assert shown.exit_code == 0, shown.output
    assert "Activities (working time)" in shown.stdout
    instances = tmp_path / "instances.csv"
    found = json.loads(
        runner.invoke(
            app, ["activities", "--store", store, "--json", "--instances-csv", str(instances)]
        ).stdout
    )
    assert found["instances"] == 30  # a start and an end per row: 5 activities x 6 cases
    assert found["estimated_starts"] == 0
    assert instances.read_text().count("\n") == 31
    # A calendar file: the map's durations in working time are at most the calendar ones.
    calendar = tmp_path / "calendar.yaml"
    calendar.write_text("calendar:\n  hours: {mon: '09:00-17:00', tue: '09:00-12:00'}\n")
    timed = json.loads(runner.invoke(app, ["map", "--store", store, "--json"]).stdout)
    worked = json.loads(
        runner.invoke(app, ["map", "--store", store, "--json", "--calendar", str(calendar)]).stdout
    )
    assert worked["durations"] == "working time"
    total = {(e["source"], e["target"]): e["total_s"] for e in timed["edges"]}
    assert all(e["total_s"] <= total[(e["source"], e["target"])] for e in worked["edges"])
    assert any(e["total_s"] < total[(e["source"], e["target"])] for e in worked["edges"])
    calendar.write_text("hours: {mon: '9-17'}\n")
    bad = runner.invoke(app, ["map", "--store", store, "--calendar", str(calendar)])
    assert bad.exit_code == 3
    assert "calendar.yaml" in bad.output
    assert "09:00-17:00" in bad.output


def test_filters_on_the_command_line(tmp_path: Path) -> None:
    """--from/--until/--window, --coverage, --activity-share and --paths; bad times refused."""
    store = str(tmp_path / "k.db")
    csv = make_demo_csv(tmp_path / "demo.csv", cases=40)
    assert runner.invoke(app, ["ingest", str(csv), "--store", store]).exit_code == 0
    whole = json.loads(runner.invoke(app, ["map", "--store", store, "--json"]).stdout)
    args = ["map", "--store", store, "--json", "--from", "2025-01-13", "--window", "started"]
    part = json.loads(runner.invoke(app, [*args, "--activity-share", "0.4"]).stdout)
    assert 0 < part["cases"] < whole["cases"]
    assert len(part["activities"]) == 2
    assert part["filters"][0].startswith("cases started within 2025-01-13 00:00")
    few = json.loads(
        runner.invoke(app, ["map", "--store", store, "--json", "--paths", "0.1"]).stdout
    )
    assert len(few["edges"]) < len(whole["edges"])
    variants = runner.invoke(app, ["variants", "--store", store, "--coverage", "0.5"])
    assert variants.exit_code == 0
    bad = runner.invoke(app, ["map", "--store", store, "--from", "13-01-2025"])
    assert bad.exit_code == 3
    assert "2025-01-31" in bad.output


def test_where_chooses_cases_by_attribute(tmp_path: Path) -> None:
    """--where KEY=VALUE keeps the cases with that attribute value; a key repeated means
    any of its values; an unknown attribute is refused with the ones that exist."""
    import knelpunt as kp
    from knelpunt.testing import make_log

    store = str(tmp_path / "k.db")
    log = make_log(cases=30, seed=2)
    with kp.open_store(store) as opened:
        kp.ingest_log(opened, log, name="demo", privacy="off")
    schemes = log.groupby("case:concept:name")["case:scheme"].first().value_counts()

    def cases(*where: str) -> int:
        args = ["map", "--store", store, "--json"]
        for condition in where:
            args += ["--where", condition]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        return int(json.loads(result.stdout)["cases"])

    assert cases("case:scheme=Wmo") == schemes["Wmo"]
    assert cases("case:scheme=Wmo", "case:scheme=Jeugdwet") == schemes[["Wmo", "Jeugdwet"]].sum()
    unknown = runner.invoke(app, ["variants", "--store", store, "--where", "regeling=Wmo"])
    assert unknown.exit_code == 3
    assert "No case carries the attribute 'regeling'" in unknown.stderr
    assert "case:scheme" in unknown.stderr
    wrong = runner.invoke(app, ["map", "--store", store, "--where", "Wmo"])
    assert wrong.exit_code == 3
    assert "KEY=VALUE" in wrong.stderr


def test_find_cases_all_attributes_must_match(tmp_path: Path) -> None:
    """Values of one attribute: any; different attributes: all; numbers as numbers."""
    import knelpunt as kp

    log = pd.DataFrame(
        {
            "case:concept:name": ["1", "2", "3", "4"],
            "concept:name": ["Melding"] * 4,
            "time:timestamp": pd.to_datetime(
                ["2025-01-06 09:00", "2025-01-06 10:00", "2025-01-06 11:00", "2025-01-06 12:00"]
            ).tz_localize("UTC"),
            "case:scheme": ["Wmo", "Wmo", "Jeugdwet", "Participatiewet"],
            "case:age": [34, 70, 12, 70],
        }
    )
    with kp.open_store(str(tmp_path / "k.db")) as store:
        kp.ingest_log(store, log, name="attrs", privacy="off")
        assert [c for _, c in kp.find_cases(store, {"case:scheme": "Wmo"})] == ["1", "2"]
        both = kp.find_cases(store, {"case:scheme": ["Wmo", "Participatiewet"], "case:age": 70})
        assert [c for _, c in both] == ["2", "4"]
        assert [c for _, c in kp.find_cases(store, {"case:age": "12"})] == ["3"]
        assert kp.find_cases(store, {"case:scheme": "Wmo", "case:age": [12, 34.0]}) == [(1, "1")]
