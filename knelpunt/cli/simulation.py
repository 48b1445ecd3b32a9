"""Commands that run the simulator: simulate, scenarios, demo."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from knelpunt.cli._app import JsonOption, StoreOption, _fail, _open, app, audit, out
from knelpunt.errors import KnelpuntError
from knelpunt.events.store import DEFAULT_STORE, EventStore
from knelpunt.simulate.runs import (
    KPIS,
    SimulationRun,
    WhatIf,
    compare_scenarios,
    simulate_scenario,
)
from knelpunt.simulate.scenario import SHIPPED_SCENARIOS, read_scenario

_KPI_LABELS = {
    "decision_days_median": "melding → beschikking, median days",
    "within_term_share": "within 8 weeks (Wmo 2.3.2 + 2.3.5), share",
    "closure_days_median": "melding → afsluiting, median days",
    "handovers_per_case": "handovers per case",
    "protocol_hours_per_case": "working hours on protocol steps per case",
    "waiting_days_per_case": "waiting days per case (ground truth)",
}


@app.command()
def simulate(
    scenario: Annotated[
        str,
        typer.Argument(help="A shipped scenario (see 'knelpunt scenarios') or a YAML file."),
    ],
    runs: Annotated[int, typer.Option(min=1, max=1000, help="Runs, on seeds S, S+1, ...")] = 1,
    seed: Annotated[
        int | None, typer.Option(min=0, help="First seed (default: the scenario's own).")
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Change a setting: steering.caseload_cap=25, protocol.team_meeting=off, "
            "arrivals.per_week=90 (repeatable).",
        ),
    ] = None,
    both: Annotated[
        list[str] | None,
        typer.Option(
            "--both",
            help="A setting for every run, both versions of a what-if (e.g. days=90).",
        ),
    ] = None,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare/--no-compare",
            help="With --set and 2+ runs: also run the scenario as written on the same seeds "
            "and show the difference with its 95% confidence interval.",
        ),
    ] = True,
    truth: Annotated[
        Path | None,
        typer.Option(help="Write each run's ground truth here as Parquet (never in the store)."),
    ] = None,
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Run a scenario of a social team and record its events in the store (in one
    transaction once the run has ended: a run stopped half-way leaves nothing)."""
    changes = list(settings or [])
    shared = list(both or [])
    try:
        checked, _ = read_scenario(scenario, overrides=[*shared, *changes])
    except KnelpuntError as error:
        raise _fail(error) from error
    first = checked.seed if seed is None else seed
    seeds = list(range(first, first + runs))
    done: list[SimulationRun] = []
    with _open(store) as target, _progress(as_json) as progress:
        total = runs * (2 if changes and compare and runs > 1 else 1)
        task = progress.add_task(f"simulating {checked.name}", total=total)

        def step(run: SimulationRun) -> None:
            done.append(run)
            _audit_run(target, run, scenario)
            progress.advance(task)

        try:
            if changes and compare and runs > 1:
                what_if = compare_scenarios(
                    scenario, changes, seeds=seeds, overrides=shared, store=target, on_run=step
                )
            else:
                what_if = None
                for s in seeds:
                    run = simulate_scenario(target, scenario, seed=s, overrides=[*shared, *changes])
                    step(run)
        except KnelpuntError as error:
            raise _fail(error) from error
    if truth is not None:
        truth.mkdir(parents=True, exist_ok=True)
        for run in done:
            label = f"source-{run.source.source_id}" if run.source else f"seed-{run.seed}"
            run.truth.to_parquet(truth / f"{label}-truth.parquet", index=False)
    if as_json:
        out.print_json(json.dumps(_as_dict(done, what_if), default=str))
        return
    _show_runs(done, store)
    if what_if is not None:
        _show_what_if(what_if)
    elif len(done) > 1:
        _show_spread(done)
    else:
        _show_truth(done[0])


def _audit_run(store: EventStore, run: SimulationRun, scenario: str) -> None:
    """Write a run this command recorded in the audit log: which source, from which
    scenario, seed and settings, by whom (a run recorded before adds no entry)."""
    if run.source is None or not run.added:
        return
    audit(
        store,
        "simulate",
        target=f"source {run.source.source_id} ({run.source.name})",
        details={
            "scenario": scenario,
            "seed": run.seed,
            "overrides": list(run.source.details.get("overrides", [])),
            "events": run.added,
        },
    )


@app.command()
def scenarios() -> None:
    """List the shipped scenarios and the blockers each one switches on."""
    table = Table("scenario", "blockers on", "name")
    for name in SHIPPED_SCENARIOS:
        checked, _ = read_scenario(name)
        table.add_row(name, ", ".join(checked.blockers.enabled()), checked.name)
    out.print(table)
    out.print(
        "Run one with 'knelpunt simulate NAME'; copy baseline.yaml (knelpunt/simulate/"
        "scenarios/) to write your own.",
        highlight=False,
    )


@app.command()
def demo(store: StoreOption = DEFAULT_STORE) -> None:
    """Record the demo data (a simulated year of a social team) and summarise it."""
    with _open(store) as target:
        try:
            run = simulate_scenario(target, "demo")
        except KnelpuntError as error:
            raise _fail(error) from error
        _audit_run(target, run, "demo")
        found = target.sources()
    assert run.source is not None
    if run.added:
        out.print(
            f"Recorded source {run.source.source_id}: {run.added:,} events of {run.cases:,} "
            f"cases, simulated in {run.seconds:.1f} s.",
            highlight=False,
        )
    else:
        out.print(
            f"The demo run is already recorded as source {run.source.source_id}; 0 events added.",
            highlight=False,
        )
    out.print(
        f"\nStore: {target.url}  ({len(found)} source(s), "
        f"{sum(s.event_count for s in found):,} events)",
        highlight=False,
    )
    _show_runs([run], store)
    counts = run.events.groupby("activity", sort=False).agg(
        events=("activity", "size"), cases=("case_id", "nunique")
    )
    table = Table("activity", "events", "cases")
    for activity, row in counts.iterrows():
        table.add_row(str(activity), f"{row['events']:,}", f"{row['cases']:,}")
    out.print(table)
    out.print(
        "Next: 'knelpunt map' and 'knelpunt variants' show how the cases flow; "
        "'knelpunt simulate team-meeting' runs a scenario with one planted blocker; "
        "'knelpunt ingest FILE' records your own export.",
        highlight=False,
    )


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        disable=quiet,
    )


def _show_runs(runs: list[SimulationRun], store: str) -> None:
    table = Table("source", "seed", "cases", "closed", "events", "added", "seconds")
    for run in runs:
        table.add_row(
            str(run.source.source_id) if run.source else "-",
            str(run.seed),
            f"{run.cases:,}",
            f"{run.closed:,}",
            f"{len(run.events):,}",
            f"{run.added:,}",
            f"{run.seconds:.1f}",
        )
    out.print(table)
    blockers = ", ".join(runs[0].scenario.blockers.enabled()) or "none"
    out.print(f"{runs[0].scenario.name}; blockers on: {blockers}; store: {store}", highlight=False)


def _show_truth(run: SimulationRun) -> None:
    out.print(_kpi_table({"this run": run.kpis()}))
    table = Table(
        "blocker (ground truth)", "cause", "days", "days per case", "cases", "share of waiting"
    )
    for row in run.truth_by_blocker().to_dict(orient="records"):
        table.add_row(
            str(row["blocker"]),
            str(row["cause"]),
            f"{row['days']:,.0f}",
            f"{row['days_per_case']:.2f}",
            f"{row['cases']:,}",
            f"{row['share']:.1%}",
        )
    out.print(table)


def _show_spread(runs: list[SimulationRun]) -> None:
    values = [run.kpis() for run in runs]
    table = Table("KPI", "mean", "sd", "min", "max")
    for kpi in KPIS:
        series = [v[kpi] for v in values if not math.isnan(v[kpi])]
        if not series:
            continue
        mean = sum(series) / len(series)
        sd = math.sqrt(sum((x - mean) ** 2 for x in series) / max(len(series) - 1, 1))
        table.add_row(_KPI_LABELS[kpi], _fmt(mean), _fmt(sd), _fmt(min(series)), _fmt(max(series)))
    out.print(table)


def _show_what_if(what_if: WhatIf) -> None:
    frame = what_if.to_frame()
    table = Table("KPI", "as written", "changed", "difference (95% CI)", "verdict")
    for row in frame.to_dict(orient="records"):
        better = (row["difference"] < 0) == (row["better"] == "lower")
        verdict = ("better" if better else "worse") if row["clear"] else "within noise"
        table.add_row(
            _KPI_LABELS[str(row["kpi"])],
            f"{_fmt(row['as_written_mean'])} ± {_fmt(row['as_written_sd'])}",
            f"{_fmt(row['changed_mean'])} ± {_fmt(row['changed_sd'])}",
            f"{_fmt(row['difference'])} ({_fmt(row['ci_low'])} to {_fmt(row['ci_high'])})",
            verdict,
        )
    out.print(table)
    out.print(
        f"Changes: {', '.join(what_if.changes)}. ± is the standard deviation over "
        f"{frame.shape[0] and len(what_if.runs) // 2} seeds; both versions ran on the same "
        "seeds, so the difference is paired.",
        highlight=False,
    )


def _kpi_table(columns: dict[str, dict[str, float]]) -> Table:
    table = Table("KPI", *columns)
    for kpi in KPIS:
        table.add_row(_KPI_LABELS[kpi], *(_fmt(c[kpi]) for c in columns.values()))
    return table


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{float(value):,.2f}"


def _as_dict(runs: list[SimulationRun], what_if: WhatIf | None) -> dict[str, Any]:
    return {
        "runs": [
            {
                "source_id": run.source.source_id if run.source else None,
                "seed": run.seed,
                "cases": run.cases,
                "closed": run.closed,
                "events": len(run.events),
                "added": run.added,
                "seconds": round(run.seconds, 3),
                "kpis": run.kpis(),
                "truth": run.truth_by_blocker().to_dict(orient="records"),
            }
            for run in runs
        ],
        "what_if": None if what_if is None else what_if.to_frame().to_dict(orient="records"),
    }
