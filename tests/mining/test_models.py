"""Process models: discovery, BPMN/PNML files written and read back, bad model files."""

from __future__ import annotations

import shutil
from pathlib import Path
from xml.etree import ElementTree

import pandas as pd
import pytest
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt.cli import app
from knelpunt.errors import ModelError, UnsafeInputError, UnsupportedFormatError
from knelpunt.mining.models import ProcessTree
from knelpunt.testing import DEMO_ACTIVITIES, make_log

PROTOCOL = Path(__file__).resolve().parents[1] / "data" / "running_example_protocol.bpmn"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"
FLOW_NODES = (
    "task",
    "userTask",
    "serviceTask",
    "startEvent",
    "endEvent",
    "exclusiveGateway",
    "parallelGateway",
    "inclusiveGateway",
)

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz is installed by scripts/setup-system.sh"
)


@pytest.fixture(scope="module")
def demo() -> kp.EventTable:
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, make_log(cases=30, seed=3), name="demo")
        return kp.load_events(store)


def test_a_sequential_log_gives_a_sequence(demo: kp.EventTable) -> None:
    model = kp.discover_model(demo, noise=0.0)
    assert model.tree == ProcessTree(
        "sequence", children=tuple(ProcessTree(None, label=a) for a in DEMO_ACTIVITIES)
    )
    assert model.activities == frozenset(DEMO_ACTIVITIES)
    assert model.origin == "inductive miner on 1 variant of 30 cases"
    assert str(model.tree).startswith("->( 'Melding ontvangen', 'Keukentafelgesprek'")


def test_nothing_to_model_or_bad_noise_is_refused(demo: kp.EventTable) -> None:
    with pytest.raises(ModelError, match="noise must be"):
        kp.discover_model(demo, noise=1.0)
    nothing = kp.filter_events(demo, activities=["no such step"])
    with pytest.raises(ModelError, match=r"no events to model .*after the filters"):
        kp.discover_model(nothing)


def _check_diagram(path: Path) -> set[str]:
    """What a modeller needs to draw the file; returns the task names."""
    root = ElementTree.parse(path).getroot()
    assert root.tag == f"{BPMN}definitions"
    processes = root.findall(f"{BPMN}process")
    assert len(processes) == 1
    process = processes[0]
    nodes = {e.get("id"): e for kind in FLOW_NODES for e in process.iter(f"{BPMN}{kind}")}
    flows = list(process.iter(f"{BPMN}sequenceFlow"))
    assert nodes
    assert flows
    for flow in flows:  # every flow joins two existing nodes
        assert flow.get("sourceRef") in nodes
        assert flow.get("targetRef") in nodes
    ids = [e.get("id") for e in root.iter() if e.get("id") is not None]
    assert len(ids) == len(set(ids))
    plane = root.find(f"{BPMNDI}BPMNDiagram/{BPMNDI}BPMNPlane")
    assert plane is not None
    assert plane.get("bpmnElement") in {process.get("id")} | {
        c.get("id") for c in root.iter(f"{BPMN}collaboration")
    }
    shapes = {s.get("bpmnElement"): s for s in plane.iter(f"{BPMNDI}BPMNShape")}
    edges = {e.get("bpmnElement"): e for e in plane.iter(f"{BPMNDI}BPMNEdge")}
    for node_id in nodes:  # every node has a place and a size on the canvas
        bounds = shapes[node_id].find(f"{DC}Bounds")
        assert bounds is not None
        assert float(bounds.get("width", "0")) > 0
        assert float(bounds.get("height", "0")) > 0
    for flow in flows:  # every flow is drawn as a line
        assert len(edges[flow.get("id")].findall(f"{DI}waypoint")) >= 2
    return {
        str(e.get("name"))
        for kind in ("task", "userTask", "serviceTask")
        for e in process.iter(f"{BPMN}{kind}")
    }


@needs_dot
def test_bpmn_export_is_a_drawable_diagram_that_reads_back(
    demo: kp.EventTable, tmp_path: Path
) -> None:
    model = kp.discover_model(demo, noise=0.0)
    path = kp.export_model(model, tmp_path / "wmo.bpmn")
    assert _check_diagram(path) == set(DEMO_ACTIVITIES)
    again = kp.read_model(path)
    assert again.activities == model.activities
    assert again.tree is None
    assert again.origin == "wmo.bpmn"
    assert kp.check_conformance(demo, again).fitness == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["wmo.bpmn"]  # no draft left behind


@needs_dot
def test_a_real_log_model_round_trips_through_bpmn_and_pnml(tmp_path: Path) -> None:
    """A model with choices, loops and parallelism keeps its behaviour in both files."""
    from tests.conftest import shared_log

    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, shared_log("running-example.xes"))
        table = kp.load_events(store)
    model = kp.discover_model(table, noise=0.0)
    assert {node.operator for node in _nodes(model.tree)} >= {"sequence", "xor", "loop"}
    for suffix in (".bpmn", ".pnml"):
        path = kp.export_model(model, tmp_path / f"model{suffix}")
        again = kp.read_model(path)
        assert again.activities == model.activities
        # the inductive miner's model fits its log; so must the file's
        assert kp.check_conformance(table, again, sample=None).fitness == 1.0
    _check_diagram(tmp_path / "model.bpmn")


def _nodes(tree: ProcessTree | None) -> list[ProcessTree]:
    assert tree is not None
    return [tree, *(n for child in tree.children for n in _nodes(child))]


def test_a_modeller_file_is_read_with_lanes_and_wrapped_names() -> None:
    model = kp.read_model(PROTOCOL)
    assert model.activities == {
        "register request",  # written over two lines in the file
        "examine casually",
        "examine thoroughly",
        "check ticket",
        "decide",
        "reinitiate request",
        "pay compensation",
        "reject request",
    }
    silent = [t for t in model.net.transitions if t.label is None]
    assert silent, "gateways become silent steps"
    _check_diagram(PROTOCOL)


@pytest.mark.parametrize(
    ("name", "content", "error", "message"),
    [
        ("m.bpmn", b"<definitions><process>", ModelError, r"m\.bpmn, line 1, column 23"),
        (
            "m.bpmn",
            b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "b">]>\n<x/>',
            UnsafeInputError,
            "DTD or entities",
        ),
        ("m.bpmn", b"<definitions/>", ModelError, "not BPMN 2.0 XML"),
        (
            "m.bpmn",
            b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">'
            b'<process id="p"><startEvent id="s"/></process></definitions>',
            ModelError,
            "no named tasks",
        ),
        ("m.vsdx", b"<x/>", UnsupportedFormatError, r"\.bpmn \(BPMN 2\.0\) or \.pnml"),
        ("m.pnml", b"<pnml><net id='n'></net></pnml>", ModelError, "m.pnml"),
    ],
)
def test_bad_model_files_are_refused_clearly(
    tmp_path: Path, name: str, content: bytes, error: type[Exception], message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=message):
        kp.read_model(path)


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such file"):
        kp.read_model(tmp_path / "protocol.bpmn")


def test_unknown_export_format(demo: kp.EventTable, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match="writes process models as"):
        kp.export_model(kp.discover_model(demo), tmp_path / "model.svg")


@needs_dot
def test_cli_discover_writes_a_model(tmp_path: Path) -> None:
    log = tmp_path / "wmo.csv"
    make_log(cases=12, seed=2).to_csv(log, index=False)
    store = str(tmp_path / "k.db")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(log), "--store", store]).exit_code == 0
    out = tmp_path / "wmo.bpmn"
    result = runner.invoke(app, ["discover", "--out", str(out), "--store", store, "--noise", "0"])
    assert result.exit_code == 0, result.output
    assert "5 activities" in result.output
    assert out.exists()
    checked = runner.invoke(app, ["conformance", "--model", str(out), "--store", store])
    assert checked.exit_code == 0, checked.output
    assert "fitness 1.000" in checked.output
    assert "100.0% of 12 cases fit" in checked.output


class TestDiscoveryOnVariantCounts:
    """The miner runs on variants counted elsewhere (an engine, a notebook)."""

    def test_same_model_from_the_variants_frame(self, demo: kp.EventTable) -> None:
        """kp.list_variants' frame, or an engine's result, gives the events' model."""
        expected = kp.discover_model(demo, noise=0.0, lifecycles=None)
        for given in (kp.list_variants(demo), kp.compute_relational(demo)):
            model = kp.discover_model(given, noise=0.0)
            assert (model.tree, model.origin) == (expected.tree, expected.origin)

    def test_a_frame_without_counts_is_refused(self) -> None:
        """A variants frame must say how many cases follow each variant."""
        with pytest.raises(ModelError, match=r"no column 'cases'.*kp\.list_variants"):
            kp.discover_model(pd.DataFrame({"activities": [("a", "b")]}))
        with pytest.raises(ModelError, match="no events to model"):
            kp.discover_model(pd.DataFrame({"activities": [], "cases": []}))
        with pytest.raises(ModelError, match="variants frame, not a str"):
            kp.discover_model("events.parquet")  # type: ignore[arg-type]
