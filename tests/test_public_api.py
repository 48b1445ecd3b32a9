"""The notebook façade: sorted, complete, and light to import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import knelpunt


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and names exactly the public objects of the package."""
    assert list(knelpunt.__all__) == sorted(knelpunt.__all__)
    public = {n for n in dir(knelpunt) if not n.startswith("_")}
    modules = {
        "access",
        "analysis",
        "api",
        "cli",
        "engine",
        "errors",
        "events",
        "frames",
        "ingest",
        "mining",
        "policy",
        "privacy",
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


# Records and inputs: a row of something, not a result to look at as a table.
_RECORDS = {
    "Blocker", "ColumnMapping", "Criterion", "Event", "EventFilter", "EventStore", "InputLimits",
    "KnelpuntError", "NewSource", "PrivacyChoices", "Profile", "Report", "Scenario", "Source",
    "WorkCalendar",
}  # fmt: skip


def test_every_result_converts_to_a_frame_and_shows_itself_in_a_notebook(tmp_path: Path) -> None:
    """The classes the façade returns as results have to_frame() and _repr_html_(), and
    both work on a real (small) flow."""
    import pandas as pd

    import knelpunt as kp
    from knelpunt.testing import make_log

    results = {n for n in kp.__all__ if n[0].isupper() and n not in _RECORDS}
    for name in sorted(results):
        kind = getattr(kp, name)
        assert callable(getattr(kind, "to_frame", None)), name
        assert callable(getattr(kind, "_repr_html_", None)), name
    with kp.open_store(":memory:") as store:
        recorded = kp.ingest_log(store, make_log(cases=30, seed=4), name="demo")
        events = kp.load_events(store)
        facts = kp.load_store_facts(store)
        run = kp.simulate_scenario(store, "baseline", seed=1, overrides=["days=20"])
        exported = kp.export_log(store, tmp_path / "events", partition_by=("source",))
    steps = kp.pair_instances(events)
    model = kp.discover_model(events)
    shown = [
        recorded, events, steps, kp.discover_map(steps), model, run,
        kp.check_conformance(events, model), kp.summarise_log(events),
        kp.check_profile(kp.read_profile("generiek"), activities=["a"], resources=["r"]),
        kp.draft_profile(events), kp.detect_personal_data(make_log(cases=3, seed=4)), facts,
        kp.compute_relational(events), kp.compute_instances(events), kp.compute_waiting(events),
        kp.compute_criteria(exported, profile="sociaal-domein"),
    ]  # fmt: skip
    assert {type(r).__name__ for r in shown} | {
        "Blockers", "Comparison", "CriteriaResult", "LogCheck", "TeamWork", "WaitingSplit",
        "WhatIf",  # shown in their own modules' tests and doctests
    } >= results  # fmt: skip
    for result in shown:
        assert isinstance(result.to_frame(), pd.DataFrame), type(result).__name__
        html = result._repr_html_()
        assert isinstance(html, str), type(result).__name__
        assert html.startswith("<"), type(result).__name__
