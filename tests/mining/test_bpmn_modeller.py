"""Exported BPMN opens in the bpmn.io family of modellers (bpmn-js, Camunda Modeler).

The files are read by bpmn-moddle, the parser those modellers use, under Node.js
(tests/js/check_bpmn.mjs; `bash scripts/setup-system.sh` installs both). A file passes when
bpmn-moddle reads it without a warning, every reference in it resolves, and every flow
element has a shape or edge in the diagram (bpmn-js silently leaves out what has none).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import knelpunt as kp
from tests.conftest import DATA, REPO, shared_log

JS = REPO / "tests" / "js"
CHECK = JS / "check_bpmn.mjs"
PROTOCOL = DATA / "running_example_protocol.bpmn"
SETUP = "run 'bash scripts/setup-system.sh' (make test does this for you)"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            f"Node.js not found; the BPMN modeller check runs bpmn-moddle under it: {SETUP}."
        )
    if not (JS / "node_modules" / "bpmn-moddle" / "package.json").is_file():
        pytest.fail(f"bpmn-moddle is not installed in {JS / 'node_modules'}: {SETUP}.")
    return node


def read_like_a_modeller(path: Path) -> dict[str, Any]:
    """What bpmn-moddle makes of the file (see tests/js/check_bpmn.mjs for the fields)."""
    done = subprocess.run(
        [_node(), str(CHECK), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"bpmn-moddle cannot read {path.name}: {done.stderr.strip()}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def assert_opens_in_a_modeller(report: dict[str, Any]) -> None:
    assert report["warnings"] == []
    assert report["unresolvedReferences"] == []
    assert report["missingDi"] == []
    assert report["diagramProblems"] == []
    assert report["flowElements"] > 0


def _export(tmp_path: Path, log: str, noise: float) -> dict[str, Any]:
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, shared_log(log))
        table = kp.load_events(store)
    model = kp.discover_model(table, noise=noise)
    return read_like_a_modeller(kp.export_model(model, tmp_path / "model.bpmn"))


@pytest.mark.real_logs
def test_a_model_with_choices_loops_and_parallelism_opens_in_a_modeller(tmp_path: Path) -> None:
    report = _export(tmp_path, "running-example.xes", noise=0.0)
    assert_opens_in_a_modeller(report)
    assert [r["type"] for r in report["rootElements"]] == ["bpmn:Process"]
    kinds = report["flowElementTypes"]
    assert kinds["bpmn:Task"] == 8  # the eight activities of the running example
    assert kinds["bpmn:ExclusiveGateway"] >= 2  # choices and the loop
    assert kinds["bpmn:ParallelGateway"] >= 2
    assert kinds["bpmn:StartEvent"] == kinds["bpmn:EndEvent"] == 1


@pytest.mark.real_logs
def test_a_bigger_model_opens_in_a_modeller(tmp_path: Path) -> None:
    report = _export(tmp_path, "receipt.xes.gz", noise=0.2)
    assert_opens_in_a_modeller(report)
    assert report["flowElementTypes"]["bpmn:Task"] >= 20
    assert report["flowElements"] > 100


def test_a_camunda_modeller_file_passes_the_same_check() -> None:
    report = read_like_a_modeller(PROTOCOL)
    assert_opens_in_a_modeller(report)
    assert [r["type"] for r in report["rootElements"]] == ["bpmn:Collaboration", "bpmn:Process"]
    assert report["flowElementTypes"]["bpmn:UserTask"] == 7


def test_the_check_sees_what_a_modeller_would_trip_over(tmp_path: Path) -> None:
    """The check is not blind: broken references, missing shapes and strange attributes show."""
    xml = PROTOCOL.read_text(encoding="utf-8")
    broken = (
        xml.replace('targetRef="Task_pay"', 'targetRef="Task_gone"')
        .replace(
            '<bpmn:userTask id="Task_decide" name="decide">',
            '<bpmn:userTask id="Task_decide" name="decide" colour="red">',
        )
        .replace(
            '<bpmndi:BPMNShape id="Task_check_di" bpmnElement="Task_check">\n'
            '        <dc:Bounds x="610" y="80" width="100" height="80" />\n'
            "      </bpmndi:BPMNShape>\n",
            "",
        )
        .replace('<di:waypoint x="208" y="120" /><di:waypoint x="250" y="120" />', "")
    )
    assert broken.count("Task_check_di") == 0
    path = tmp_path / "broken.bpmn"
    path.write_text(broken, encoding="utf-8")
    report = read_like_a_modeller(path)
    assert "unresolved reference <Task_gone>" in report["warnings"]
    assert "unknown attribute <colour>" in report["warnings"]
    assert report["unresolvedReferences"] == [
        {"element": "Flow_14", "property": "bpmn:targetRef", "id": "Task_gone"}
    ]
    assert report["missingDi"] == ["Task_check"]
    assert report["diagramProblems"] == ["edge Flow_1_di of Flow_1 has fewer than two waypoints"]


def test_a_file_bpmn_moddle_cannot_read_fails_the_check(tmp_path: Path) -> None:
    path = tmp_path / "cut.bpmn"
    path.write_text(PROTOCOL.read_text(encoding="utf-8")[:2000], encoding="utf-8")
    done = subprocess.run(
        [_node(), str(CHECK), str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert "unparsable content" in json.loads(done.stdout)["error"]
