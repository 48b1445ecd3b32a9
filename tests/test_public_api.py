"""The notebook façade: sorted, complete, and light to import."""

from __future__ import annotations

import subprocess
import sys

import knelpunt


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and names exactly the public objects of the package."""
    assert list(knelpunt.__all__) == sorted(knelpunt.__all__)
    public = {n for n in dir(knelpunt) if not n.startswith("_")}
    modules = {
        "analysis",
        "api",
        "cli",
        "errors",
        "events",
        "frames",
        "ingest",
        "mining",
        "policy",
        "profile",
        "reports",
        "schema",
        "simulate",
        "testing",
        "worktime",
    }
    assert public - modules - {"annotations"} == set(knelpunt.__all__)


def test_import_does_not_load_pm4py_dash_or_the_web_server() -> None:
    """import knelpunt stays light: no pm4py, no Dash, no Flask or waitress, no Plotly
    (the report draws with it when it is written); the command line imports Flask and
    waitress only when 'knelpunt capture serve' runs."""
    for package, modules in (
        ("knelpunt", ("pm4py", "dash", "flask", "waitress", "plotly")),
        ("knelpunt.cli", ("flask", "waitress")),
    ):
        code = f"import sys, {package}; print(*(m in sys.modules for m in {modules!r}))"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.split() == ["False"] * len(modules), package


def test_every_public_function_has_a_runnable_example() -> None:
    """Every function of the façade has a doctest example (run by --doctest-modules)."""
    functions = [name for name in knelpunt.__all__ if name[0].islower()]
    assert functions
    missing = [n for n in functions if ">>>" not in (getattr(knelpunt, n).__doc__ or "")]
    assert missing == []
