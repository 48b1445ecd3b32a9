"""What the browser sends is never a path: upload names, upload ids, profiles and
scenarios; requests and uploads have a size limit.

The checks run in a fresh process with its own dashboard app: a second app that
served a request in the test process would take the pages' callbacks from the
browser tests' app (see tests/dashboards/conftest.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

NAMES = [
    "../../etc/passwd",
    "/etc/passwd.csv",
    "..\\..\\windows\\win.ini.csv",
    "..",
    "log\x00.csv",
    "x" * 5000 + ".csv",
    "C:\\Users\\a\\export.csv",
    "%2e%2e%2fetc%2fpasswd.csv",
]

_SCRIPT = """
import base64, json, os, sys, tempfile
from pathlib import Path
tempfile.tempdir = sys.argv[2]  # uploads and jobs go here, and only here
import dashboards.app as shell
import dashboards.limits as limits
shell.MAX_REQUEST = 4096  # small, so that a too large request is cheap to make
app = shell.create_app(sys.argv[1])
# The pages as Dash imported them (importing them again would register them twice).
upload, simulation = sys.modules["pages.upload"], sys.modules["pages.simulation"]
from dashboards.components import context
import knelpunt as kp
out = {}
client = app.server.test_client()
out["too_large"] = client.post("/_dash-update-component", data=b"x" * 5000,
    content_type="application/json").status_code
out["max_content_length"] = app.server.config["MAX_CONTENT_LENGTH"]
csv = b"case;activity;timestamp\\n1;A;2024-01-01 10:00\\n1;B;2024-01-02 10:00\\n"
data = "data:text/csv;base64," + base64.b64encode(csv).decode()
results = []
with app.server.app_context():
    ws = app.server.config["KNELPUNT_WORKSPACE"]
    for name in json.loads(sys.argv[3]):
        kept = upload._keep(data, name)
        row = {"name": name, "kept": kept}
        if "upload" in kept:
            path = ws.upload_path(kept["upload"])
            row["file"] = path.name
            row["folder_is_uploads"] = path.parent == ws._uploads
            found = kp.check_log(path, name=kept["name"])
            row["rows"] = found.rows
        results.append(row)
    out["names"] = results
    out["bad_ids"] = []
    for bad in ["../../etc/passwd", "*", "", "0" * 31 + "/", "A" * 32, ["x"]]:
        try:
            ws.upload_path(bad)
            out["bad_ids"].append("found")
        except kp.KnelpuntError as error:
            out["bad_ids"].append("refused")
        except Exception as error:
            out["bad_ids"].append(type(error).__name__)
    big = "data:text/csv;base64," + "A" * (-(-limits.MAX_UPLOAD // 3) * 4 + 4)
    out["big_upload"] = upload._keep(big, "groot.csv")
    out["damaged"] = upload._keep("data:text/csv;base64,@@@@", "kapot.csv")
    out["profiles"] = [
        context({"profile": p})[2]
        for p in ["generiek", "/etc/passwd", "../../knelpunt/profiles/generiek", "/dev/zero"]
    ]
    scenarios = []
    for s in ["baseline", "/etc/passwd", "../scenarios/baseline"]:
        try:
            scenarios.append(simulation._shipped(s))
        except kp.KnelpuntError as error:
            scenarios.append("refused: " + str(error)[:40])
    out["scenarios"] = scenarios
out["left_in_tmp"] = sorted(
    str(p.relative_to(sys.argv[2])) for p in Path(sys.argv[2]).rglob("*")
    if not str(p.relative_to(sys.argv[2])).startswith(("knelpunt-uploads-", "knelpunt-jobs-"))
)
print(json.dumps(out))
"""


@pytest.fixture(scope="module", name="found")
def _found(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("inputs")
    temp = folder / "tmp"
    temp.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(folder / "k.db"), str(temp), json.dumps(NAMES)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_a_request_larger_than_the_largest_upload_is_refused(found: dict[str, Any]) -> None:
    assert found["max_content_length"] == 4096
    assert found["too_large"] == 413


def test_upload_names_only_name(found: dict[str, Any]) -> None:
    """Each hostile name: the file is kept under a 32-hex id in the uploads folder, the
    name only names the source (cleaned), and the file reads."""
    for row in found["names"]:
        name, kept = row["name"], row["kept"]
        if not name.endswith(".csv"):
            assert "not a log file" in kept["error"], row  # no known suffix: refused
            continue
        assert "upload" in kept, row
        assert row["folder_is_uploads"], row
        stem, _, suffix = row["file"].partition(".")
        assert re.fullmatch("[0-9a-f]{32}", stem), row
        assert suffix == "csv", row
        assert "\x00" not in kept["name"], row
        assert "/" not in kept["name"], row
        assert len(kept["name"]) <= 200, row
        assert row["rows"] == 2, row
    assert found["left_in_tmp"] == []


def test_upload_ids_are_looked_up_not_joined(found: dict[str, Any]) -> None:
    assert found["bad_ids"] == ["refused"] * 6


def test_uploads_have_a_size_limit_on_the_server(found: dict[str, Any]) -> None:
    assert "larger than 512 MB" in found["big_upload"]["error"]
    assert "knelpunt ingest" in found["big_upload"]["error"]
    assert "arrived damaged" in found["damaged"]["error"]


def test_profiles_and_scenarios_are_names_not_paths(found: dict[str, Any]) -> None:
    """A profile or scenario the browser sends is one of the shipped ones (or the
    workspace's), never a file read from the server."""
    assert found["profiles"] == ["generiek", "", "", ""]
    assert found["scenarios"][0] == "baseline"
    assert all(s.startswith("refused: No shipped scenario") for s in found["scenarios"][1:])
