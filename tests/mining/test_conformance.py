"""Conformance against a protocol: hand-computed deviations, and pm4py's numbers on real logs.

The protocol is van der Aalst's running example, drawn as Camunda Modeler
saves it (a pool with lanes, user and service tasks, gateways, a loop, a
task name wrapped over two lines): tests/data/running_example_protocol.bpmn.
"""

from __future__ import annotations

import json
import types
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt.cli import app
from knelpunt.errors import ModelError
from knelpunt.mining import conformance as conformance_module
from knelpunt.mining.models import to_pm4py
from tests.conftest import shared_log

PROTOCOL = Path(__file__).resolve().parents[1] / "data" / "running_example_protocol.bpmn"

# Four cases against the protocol, each with one known kind of deviation.
CASES = {
    "fits": ["register request", "examine casually", "check ticket", "decide", "pay compensation"],
    "skips": ["register request", "examine casually", "decide", "pay compensation"],
    "inserts": [
        "register request",
        "examine thoroughly",
        "check ticket",
        "decide",
        "reject request",
        "send letter",
    ],
    "moves": ["register request", "decide", "examine casually", "check ticket", "pay compensation"],
}


def _table(cases: dict[str, list[str]], *, lifecycle: str | None = None) -> kp.EventTable:
    rows = []
    origin = pd.Timestamp("2025-03-03 09:00", tz="Europe/Amsterdam")
    for case, steps in cases.items():
        for i, activity in enumerate(steps):
            if lifecycle is not None:  # a start event before each completion
                rows.append(
                    {
                        "case:concept:name": case,
                        "concept:name": activity,
                        "time:timestamp": origin + pd.Timedelta(hours=i, minutes=10),
                        "lifecycle:transition": lifecycle,
                    }
                )
            rows.append(
                {
                    "case:concept:name": case,
                    "concept:name": activity,
                    "time:timestamp": origin + pd.Timedelta(hours=i, minutes=30),
                    "lifecycle:transition": "complete",
                }
            )
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, pd.DataFrame(rows), name="cases", privacy="off")
        return kp.load_events(store)


def test_each_kind_of_deviation_is_counted_where_it_happened() -> None:
    found = kp.check_conformance(_table(CASES), kp.read_model(PROTOCOL), sample=None)
    per = found.activities.set_index("activity")
    # "skips" leaves out the ticket check; "moves" decides before examining.
    counted = ["executions", "skipped", "inserted", "out_of_order"]
    assert per.loc["check ticket", counted].tolist() == [3, 1, 0, 0]
    assert per.loc["decide", ["skipped", "inserted", "out_of_order"]].tolist() == [0, 0, 1]
    assert per.loc["send letter"].tolist()[:2] == [False, True]  # in_model, in_log
    assert per.loc["send letter", "inserted"] == 1
    assert per.loc["reinitiate request", "executions"] == 0
    others = per.drop(index=["check ticket", "decide", "send letter"])
    assert others[["skipped", "inserted", "out_of_order"]].to_numpy().sum() == 0
    # Alignment fitness is 1 - cost / (trace length + cheapest model path of 5 steps):
    # one missing step in a 4-step trace, one extra in 6, a moved step (2 moves) in 5.
    by_case = found.cases.merge(found.variants[["variant", "alignment_fitness"]], on="variant")
    fitness = dict(zip(by_case["case_id"], by_case["alignment_fitness"], strict=True))
    assert fitness == pytest.approx({"fits": 1.0, "skips": 8 / 9, "inserts": 10 / 11, "moves": 0.8})
    assert found.alignment_fitness == pytest.approx((1 + 8 / 9 + 10 / 11 + 0.8) / 4)
    assert (found.sampled_cases, found.aligned_cases, found.timed_out) == (4, 4, 0)
    # Token replay ignores an activity the model does not know (pm4py's rule), so the
    # case with the extra letter still fits there; the note says how it is counted.
    fits = dict(zip(found.cases["case_id"], found.cases["fits"], strict=True))
    assert fits == {"fits": True, "skips": False, "inserts": True, "moves": False}
    assert found.fitting_share == 0.5
    assert any("send letter" in note and "inserted" in note for note in found.notes)


def test_start_events_are_left_out_unless_asked() -> None:
    model = kp.read_model(PROTOCOL)
    with_starts = _table({"fits": CASES["fits"]}, lifecycle="start")
    assert kp.check_conformance(with_starts, model).fitness == 1.0
    every = kp.check_conformance(with_starts, model, lifecycles=None)
    assert every.fitness < 1.0
    assert every.activities.set_index("activity").loc["decide", "inserted"] == 1


def test_model_names_must_meet_the_log() -> None:
    table = _table({"x": ["Melding ontvangen", "Beschikking verzonden"]})
    with pytest.raises(ModelError, match="None of the model's 8 activities") as raised:
        kp.check_conformance(table, kp.read_model(PROTOCOL))
    assert "'Melding ontvangen'" in str(raised.value)
    assert "'check ticket'" in str(raised.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [({"sample": 0}, "sample must be at least 1"), ({"time_budget": 0}, "time_budget")],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelError, match=message):
        kp.check_conformance(_table(CASES), kp.read_model(PROTOCOL), **options)


def test_the_time_budget_limits_the_alignments(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a clock that moves 1 s per look, a 2.5 s budget aligns exactly two variants."""
    ticks = iter(range(1000))
    clock = types.SimpleNamespace(perf_counter=lambda: float(next(ticks)))
    monkeypatch.setattr(conformance_module, "time", clock)
    found = kp.check_conformance(_table(CASES), kp.read_model(PROTOCOL), time_budget=2.5)
    assert (found.sampled_cases, found.aligned_cases) == (4, 2)
    assert int(found.variants["aligned"].sum()) == 2
    assert any("covered 2 of 4 sampled cases" in note for note in found.notes)


def test_the_sample_is_drawn_per_case_and_is_repeatable() -> None:
    many = {f"{kind}-{i}": steps for i in range(25) for kind, steps in CASES.items()}
    table = _table(many)
    model = kp.read_model(PROTOCOL)
    first = kp.check_conformance(table, model, sample=40, seed=7)
    again = kp.check_conformance(table, model, sample=40, seed=7)
    assert first.sampled_cases == 40
    assert first.variants["sampled"].tolist() == again.variants["sampled"].tolist()
    assert (first.variants["sampled"] <= first.variants["cases"]).all()
    # Token replay always covers every case, whatever the sample.
    assert len(first.cases) == 100
    assert first.fitting_share == 0.5


def test_cli_conformance_prints_deviations_and_json(tmp_path: Path) -> None:
    rows = [
        {
            "case:concept:name": case,
            "concept:name": activity,
            "time:timestamp": pd.Timestamp("2025-03-03 09:00", tz="UTC") + pd.Timedelta(hours=i),
        }
        for case, steps in CASES.items()
        for i, activity in enumerate(steps)
    ]
    log = tmp_path / "cases.csv"
    pd.DataFrame(rows).to_csv(log, index=False)
    store = str(tmp_path / "k.db")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(log), "--store", store]).exit_code == 0
    shown = runner.invoke(app, ["conformance", "--model", str(PROTOCOL), "--store", store])
    assert shown.exit_code == 0, shown.output
    assert "fitness 0.914" in shown.output
    assert "send letter (not in model)" in shown.output
    as_json = runner.invoke(
        app, ["conformance", "--model", str(PROTOCOL), "--store", store, "--json"]
    )
    data = json.loads(as_json.output)
    assert data["cases"] == 4
    assert data["aligned_cases"] == 4
    per = {row["activity"]: row for row in data["activities"]}
    assert per["decide"]["out_of_order"] == 1
    missing = runner.invoke(
        app, ["conformance", "--model", str(tmp_path / "nope.bpmn"), "--store", store]
    )
    assert missing.exit_code == 3
    assert "no such file" in missing.output


# -- agreement with pm4py on real logs ----------------------------------------

AGREEMENT_LOGS = [
    "running-example.xes",
    "CCC19.xes.gz",
    "receipt.xes.gz",
    "interval_event_log.xes.gz",
    "helpdesk.xes.gz",
    "Sepsis_Cases-Event_Log.xes.gz",
]


def _completions(path: Path) -> pd.DataFrame:
    """The log as pm4py reads it, completions only (and events without a lifecycle)."""
    import pm4py

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pm4py's own deprecation notices
        frame = pm4py.read_xes(str(path), variant="iterparse", return_legacy_log_object=False)
    if "lifecycle:transition" in frame.columns:
        lifecycle = frame["lifecycle:transition"].astype("string").str.lower()
        frame = frame[lifecycle.isna() | (lifecycle == "complete")]
    frame = frame.sort_values(["case:concept:name", "time:timestamp"], kind="stable")
    return frame.reset_index(drop=True)


def _events(path: Path) -> kp.EventTable:
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, path, duplicates="keep", privacy="off")
        return kp.load_events(store)


@pytest.mark.real_logs
@pytest.mark.slow
@pytest.mark.parametrize("name", AGREEMENT_LOGS)
def test_discovery_and_token_replay_agree_with_pm4py(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inductive miner on variants = pm4py's on the whole log; fitness equal to rounding."""
    import pm4py
    from pm4py.util import constants

    from knelpunt.mining.models import _tree_from_pm4py

    monkeypatch.setattr(constants, "SHOW_PROGRESS_BAR", False)
    path = shared_log(name)
    frame = _completions(path)
    table = _events(path)
    for noise in (0.0, 0.2):
        ours = kp.discover_model(table, noise=noise)
        theirs = pm4py.discover_process_tree_inductive(frame, noise_threshold=noise)
        assert ours.tree == _tree_from_pm4py(theirs), noise
    found = kp.check_conformance(table, ours, sample=1)
    net, initial, final = to_pm4py(ours.net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pm4py.fitness_token_based_replay(frame, net, initial, final)
    assert found.fitness == pytest.approx(expected["log_fitness"], rel=1e-12)
    assert found.fitting_share == pytest.approx(expected["perc_fit_traces"] / 100, rel=1e-12)
    assert found.mean_trace_fitness == pytest.approx(expected["average_trace_fitness"], rel=1e-12)
    assert len(found.cases) == frame["case:concept:name"].nunique()


@pytest.mark.real_logs
@pytest.mark.slow
@pytest.mark.parametrize("name", ["running-example.xes", "CCC19.xes.gz", "receipt.xes.gz"])
def test_alignments_agree_with_pm4py(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Alignment fitness and per-activity moves equal pm4py's alignments of every case."""
    import pm4py
    from pm4py.util import constants

    monkeypatch.setattr(constants, "SHOW_PROGRESS_BAR", False)
    path = shared_log(name)
    frame = _completions(path)
    table = _events(path)
    model = (
        kp.read_model(PROTOCOL)
        if name == "running-example.xes"
        else kp.discover_model(table, noise=0.3)
    )
    found = kp.check_conformance(table, model, sample=None, time_budget=600)
    assert found.aligned_cases == len(found.cases)
    net, initial, final = to_pm4py(model.net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aligned = pm4py.conformance_diagnostics_alignments(frame, net, initial, final)
    fitness = [a["fitness"] for a in aligned]
    assert found.alignment_fitness == pytest.approx(sum(fitness) / len(fitness), rel=1e-9)
    # The per-activity counts, from pm4py's alignment of each case on its own.
    # Costs tie between equally cheap alignments, so compare the total cost.
    moves: Counter[str] = Counter()
    for result in aligned:
        for in_log, in_model in result["alignment"]:
            if in_log == ">>" and in_model is not None:
                moves["model"] += 1
            elif in_model == ">>":
                moves["log"] += 1
    ours = found.activities
    assert int(ours["skipped"].sum() + ours["out_of_order"].sum()) == moves["model"]
    assert int(ours["inserted"].sum() + ours["out_of_order"].sum()) == moves["log"]
    assert int(ours["executions"].sum()) == len(frame)


def test_variant_counts_computed_elsewhere_give_the_same_result() -> None:
    """An engine's result, or a bare variants frame, checks as the events do: the same
    fitness and deviations; per case rows come from the result's case table."""
    events = _table(CASES)
    model = kp.read_model(PROTOCOL)
    expected = kp.check_conformance(events, model, sample=None)
    for given in (kp.compute_relational(events), kp.list_variants(events)[["activities", "cases"]]):
        got = kp.check_conformance(given, model, sample=None)
        assert (got.fitness, got.fitting_share, got.alignment_fitness) == (
            expected.fitness,
            expected.fitting_share,
            expected.alignment_fitness,
        )
        assert got.activities.equals(expected.activities)
    assert got.cases.empty  # a bare frame has no cases to name
    engine = kp.check_conformance(kp.compute_relational(events), model, sample=None).cases
    assert engine["case_id"].tolist() == expected.cases["case_id"].tolist()
    assert engine["fits"].tolist() == expected.cases["fits"].tolist() == [True, False, True, False]
