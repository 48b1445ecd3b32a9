"""The dependency direction of docs/architecture.md, read from the imports themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "knelpunt"


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: write imports absolute, as knelpunt.x"
            found.add(node.module or "")
    return found


def _files(part: str) -> list[Path]:
    target = PACKAGE / part
    return sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]


# The core imports only the error tree, the working calendar, the criteria grammar and
# the privacy choices, never a sibling subpackage (eventsourcing's domain never imports
# its persistence).
CORE_ALLOWED = {"knelpunt.errors", "knelpunt.worktime", "knelpunt.policy", "knelpunt.privacy"}


@pytest.mark.parametrize(
    "part", ["events", "schema", "profile", "policy", "privacy", "worktime", "errors"]
)
def test_the_core_imports_no_other_subpackage(part: str) -> None:
    for path in _files(part):
        own = f"knelpunt.{part}"
        wrong = {
            name
            for name in _imports(path)
            if name.startswith("knelpunt")
            and not name.startswith(own)
            and not any(name == a or name.startswith(f"{a}.") for a in CORE_ALLOWED)
        }
        assert not wrong, f"{path.relative_to(PACKAGE.parent)} imports {sorted(wrong)}"


def test_only_mining_imports_pm4py_and_nothing_imports_dashboards() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        names = _imports(path)
        where = path.relative_to(PACKAGE.parent)
        assert not any(n.split(".")[0] == "dashboards" for n in names), where
        if any(n.split(".")[0] == "pm4py" for n in names):
            assert path.parent.name == "mining", f"{where} imports pm4py outside knelpunt/mining"


def test_the_report_draws_results_and_reads_no_files_or_stores() -> None:
    """reports/ draws what analysis returns: it never ingests, simulates or reaches into
    the store's adapters or the command line."""
    for path in _files("reports"):
        wrong = {
            name
            for name in _imports(path)
            if name.startswith(("knelpunt.ingest", "knelpunt.simulate", "knelpunt.cli"))
            or name in ("knelpunt.events.sqlite", "knelpunt.events.postgres")
        }
        assert not wrong, f"{path.relative_to(PACKAGE.parent)} imports {sorted(wrong)}"
