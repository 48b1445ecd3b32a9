"""The ``knelpunt`` command: ingest, sources, rejects, export, map, variants, activities,
discover, conformance, purge, mapping, demo.

Exit codes: 0 success; 2 wrong usage; 3 the input cannot be recorded (bad
file, bad rows, unknown format); 4 the store refused or failed; 1 anything
else.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from knelpunt import api
from knelpunt.errors import (
    CalendarError,
    EventStoreError,
    FilterError,
    KnelpuntError,
    LogSchemaError,
    ModelError,
    UnsafeInputError,
    UnsupportedFormatError,
)
from knelpunt.events.model import RecordResult, Source
from knelpunt.events.store import DEFAULT_STORE, EventStore, open_store
from knelpunt.ingest.export import export_log
from knelpunt.ingest.pipeline import ingest_log
from knelpunt.mining.conformance import Conformance, check_conformance
from knelpunt.mining.filters import filter_events, simplify_map
from knelpunt.mining.instances import pair_instances, summarise_activities
from knelpunt.mining.maps import discover_map, list_variants
from knelpunt.mining.models import COMPLETIONS, discover_model, export_model, read_model
from knelpunt.mining.projection import EventTable, load_events
from knelpunt.testing import make_demo_csv
from knelpunt.worktime import WorkCalendar, read_calendar

__all__ = ["app", "main"]

app = typer.Typer(
    name="knelpunt",
    help="Record event logs in an append-only store and find what blocks the process.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

StoreOption = Annotated[
    str,
    typer.Option(
        "--store",
        envvar="KNELPUNT_STORE",
        help="SQLite file or postgresql:// URL (env KNELPUNT_STORE).",
        show_default=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

EXIT_INPUT = 3
EXIT_STORE = 4


def _fail(error: Exception) -> typer.Exit:
    if isinstance(
        error,
        LogSchemaError
        | UnsafeInputError
        | UnsupportedFormatError
        | CalendarError
        | FilterError
        | ModelError
        | FileNotFoundError,
    ):
        code = EXIT_INPUT
    elif isinstance(error, EventStoreError):
        code = EXIT_STORE
    else:
        code = 1
    err.print(f"[bold red]error:[/] {error}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _open(url: str) -> EventStore:
    try:
        return open_store(url)
    except KnelpuntError as error:
        raise _fail(error) from error


def _source_dict(source: Source) -> dict[str, Any]:
    data = asdict(source)
    data["created_at"] = source.created_at.isoformat()
    return data


def _print_result(result: RecordResult, *, as_json: bool) -> None:
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "source": _source_dict(result.source),
                    "added": result.added,
                    "rejected": result.rejected,
                    "already_recorded": result.already_recorded,
                    "warnings": list(result.warnings),
                    "seconds": round(result.seconds, 3),
                }
            )
        )
        return
    out.print(result.message, highlight=False)
    for warning in result.warnings:
        out.print(f"  note: {warning}", highlight=False)


@app.command()
def ingest(
    file: Annotated[
        Path, typer.Argument(help="CSV, Excel (.xlsx), XES (.xes/.xes.gz) or Parquet.")
    ],
    store: StoreOption = DEFAULT_STORE,
    mapping: Annotated[
        str | None,
        typer.Option(
            help="Columns, e.g. case_id=Zaaknummer,activity=Stap,timestamp=Datum; "
            "fields left out are suggested."
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Name of the source (default: file name).")
    ] = None,
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient/--strict",
            help="Strict refuses the whole file on any bad row; "
            "lenient records the valid rows and keeps the refused ones with reasons.",
        ),
    ] = False,
    keep_duplicates: Annotated[
        bool, typer.Option("--keep-duplicates", help="Record exact copies of rows as real events.")
    ] = False,
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv, xlsx, xes or parquet (default: detect).")
    ] = None,
    timezone: Annotated[str, typer.Option(help="Zone of timestamps without offset.")] = (
        "Europe/Amsterdam"
    ),
    timestamp_format: Annotated[
        str | None, typer.Option(help="strftime format of the timestamps, e.g. '%d-%m-%Y %H:%M'.")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="CSV encoding (default: detect).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detect).")] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel worksheet (default: the first).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record a log file in the store as one new source (all or nothing)."""
    pairs = mapping or ""
    if timestamp_format:
        pairs = (
            f"{pairs},timestamp_format={timestamp_format}"
            if pairs
            else (f"timestamp_format={timestamp_format}")
        )
    with _open(store) as target:
        show = err.is_terminal and not as_json
        with Progress(
            TextColumn("[bold]recording[/] {task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,} rows"),
            TimeRemainingColumn(),
            console=err,
            disable=not show,
            transient=True,
        ) as bar:
            task = bar.add_task(file.name, total=None)

            def progress(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            try:
                result = ingest_log(
                    target,
                    file,
                    name=name,
                    format=file_format,
                    mapping=pairs or None,
                    mode="lenient" if lenient else "strict",
                    duplicates="keep" if keep_duplicates else "reject",
                    timezone=timezone,
                    encoding=encoding,
                    delimiter=delimiter,
                    sheet=int(sheet) if sheet is not None and sheet.isdigit() else sheet,
                    progress=progress,
                )
            except (KnelpuntError, FileNotFoundError) as error:
                raise _fail(error) from error
        _print_result(result, as_json=as_json)


@app.command()
def sources(store: StoreOption = DEFAULT_STORE, as_json: JsonOption = False) -> None:
    """List the sources in the store with their counts."""
    with _open(store) as target:
        found = api.list_sources(target)
    if as_json:
        out.print_json(json.dumps([_source_dict(s) for s in found]))
        return
    if not found:
        out.print(f"No sources in {store} yet; record one with 'knelpunt ingest FILE'.")
        return
    table = Table("id", "name", "kind", "events", "cases", "refused", "recorded (UTC)")
    for s in found:
        cases = s.report.get("cases")
        table.add_row(
            str(s.source_id),
            s.name,
            s.kind,
            f"{s.event_count:,}",
            f"{cases:,}" if isinstance(cases, int) else "-",
            f"{s.reject_count:,}",
            f"{s.created_at:%Y-%m-%d %H:%M}",
        )
    out.print(table)


@app.command()
def rejects(
    source_id: Annotated[int, typer.Argument(help="The source's id (see 'knelpunt sources').")],
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Show the rows refused when a source was recorded in lenient mode."""
    with _open(store) as target:
        try:
            frame = api.read_rejects(target, source_id)
        except KnelpuntError as error:
            raise _fail(error) from error
    if as_json:
        out.print_json(frame.to_json(orient="records"))
        return
    table = Table("line", "column", "value", "reason")
    for row in frame.itertuples(index=False):
        table.add_row(str(row.line), str(row.column or ""), str(row.value or ""), str(row.reason))
    out.print(table if len(frame) else f"Source {source_id} has no refused rows.")


@app.command()
def export(
    file: Annotated[Path, typer.Argument(help="File to write: .xes, .xes.gz, .csv or .parquet.")],
    store: StoreOption = DEFAULT_STORE,
    source: Annotated[
        list[int] | None, typer.Option(help="Only this source id (repeatable).")
    ] = None,
    file_format: Annotated[
        str | None, typer.Option("--format", help="xes, csv or parquet.")
    ] = None,
) -> None:
    """Write events from the store to an XES, CSV or Parquet file."""
    with _open(store) as target:
        try:
            written = export_log(target, file, format=file_format, sources=source)
        except KnelpuntError as error:
            raise _fail(error) from error
    out.print(f"Wrote {written}", highlight=False)


SourcesOption = Annotated[
    list[int] | None, typer.Option("--source", help="Only this source id (repeatable).")
]
TopOption = Annotated[int, typer.Option("--top", min=0, help="Rows to show (0: all).")]
WorkingOption = Annotated[
    bool,
    typer.Option(
        "--working-time",
        help="Count durations in working time: Mon-Fri 09:00-17:00, Dutch public holidays.",
    ),
]
CalendarOption = Annotated[
    Path | None,
    typer.Option(
        "--calendar",
        help="Count durations in working time by this calendar (YAML: hours, holidays, "
        "closed, timezone).",
    ),
]


FromOption = Annotated[
    str | None,
    typer.Option("--from", help="Window start, local time: 2025-01-01 or 2025-01-01T09:00."),
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="Window end (not included), as --from.")
]
WindowOption = Annotated[
    str,
    typer.Option(
        "--window",
        help="Which cases the window keeps: contained, intersecting, started, completed, "
        "or trim (only the events inside).",
    ),
]
CoverageOption = Annotated[
    float | None,
    typer.Option(
        "--coverage", min=0.0, max=1.0, help="Keep the most frequent variants covering this share."
    ),
]
ActivityShareOption = Annotated[
    float | None,
    typer.Option(
        "--activity-share",
        min=0.0,
        max=1.0,
        help="Keep only the most frequent activities, this share of them (e.g. 0.5).",
    ),
]


def _moment(text: str | None, zone: str = "Europe/Amsterdam") -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(
            FilterError(
                f"Cannot read the time {text!r}; write it as 2025-01-31 or 2025-01-31T14:00."
            )
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


def _filtered(
    table: EventTable,
    since: str | None,
    until: str | None,
    window: str,
    coverage: float | None,
    activity_share: float | None,
) -> EventTable:
    try:
        return filter_events(
            table,
            start=_moment(since),
            end=_moment(until),
            window=window,  # type: ignore[arg-type]  # checked by filter_events
            variant_coverage=coverage,
            activity_share=activity_share,
        )
    except KnelpuntError as error:
        raise _fail(error) from error


def _calendar(working_time: bool, calendar: Path | None) -> WorkCalendar | None:
    if calendar is not None:
        try:
            return read_calendar(calendar)
        except KnelpuntError as error:
            raise _fail(error) from error
    return WorkCalendar.office_hours() if working_time else None


def _events(url: str, sources: list[int] | None) -> EventTable:
    """The projection, cached next to a SQLite store file so later commands start fast."""
    cache = None
    if "://" not in url and url != ":memory:":
        cache = Path(f"{url}.projections")
    with _open(url) as store:
        try:
            return load_events(store, sources=sources, cache=cache)
        except KnelpuntError as error:
            raise _fail(error) from error


def _duration(seconds: float) -> str:
    """A duration as people read it: 45s, 12m, 3h 20m, 4d 6h."""
    if seconds != seconds:  # NaN
        return "-"
    minutes, hours, days = seconds / 60, seconds / 3600, seconds / 86400
    if seconds < 60:
        return f"{seconds:.0f}s"
    if minutes < 60:
        return f"{minutes:.0f}m"
    if hours < 24:
        return f"{int(hours)}h {int(minutes % 60)}m"
    return f"{int(days)}d {int(hours % 24)}h"


@app.command("map")
def process_map(
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    since: FromOption = None,
    until: UntilOption = None,
    window: WindowOption = "intersecting",
    coverage: CoverageOption = None,
    activity_share: ActivityShareOption = None,
    top: TopOption = 25,
    paths: Annotated[
        float,
        typer.Option(
            "--paths", min=0.0, max=1.0, help="Show this share of the paths (kept connected)."
        ),
    ] = 1.0,
    working_time: WorkingOption = False,
    calendar: CalendarOption = None,
    as_json: JsonOption = False,
) -> None:
    """The process map: which step follows which, how often, and how long it takes."""
    hours = _calendar(working_time, calendar)
    events = _filtered(_events(store, source), since, until, window, coverage, activity_share)
    found = discover_map(events, calendar=hours)
    if paths < 1:
        found = simplify_map(found, paths=max(paths, 1e-9))
    if as_json:
        edges = found.edges if top == 0 else found.edges.head(top)
        out.print_json(
            json.dumps(
                {
                    "events": found.events,
                    "cases": found.cases,
                    "durations": "working time" if hours else "calendar time",
                    "filters": list(events.filters),
                    "start_activities": found.start_activities,
                    "end_activities": found.end_activities,
                    "activities": found.activities.to_dict("records"),
                    "edges": edges.to_dict("records"),
                }
            )
        )
        return
    if not found.events:
        out.print("No events to map; record a log with 'knelpunt ingest FILE'.")
        return
    out.print(f"{found.events:,} events in {found.cases:,} cases.", highlight=False)
    for said in events.filters:
        out.print(f"Filter: {said}", highlight=False)
    table_out = Table(
        "from",
        "to",
        "count",
        "cases",
        "mean",
        "median",
        "p90",
        "total",
        title="Paths" + (" (durations in working time)" if hours else ""),
    )
    for edge in (found.edges if top == 0 else found.edges.head(top)).to_dict("records"):
        table_out.add_row(
            str(edge["source"]),
            str(edge["target"]),
            f"{edge['count']:,}",
            f"{edge['cases']:,}",
            *(_duration(edge[k]) for k in ("mean_s", "median_s", "p90_s", "total_s")),
        )
    out.print(table_out)
    starts = ", ".join(f"{k} ({v:,})" for k, v in list(found.start_activities.items())[:5])
    ends = ", ".join(f"{k} ({v:,})" for k, v in list(found.end_activities.items())[:5])
    out.print(f"Cases start with: {starts}", highlight=False)
    out.print(f"Cases end with: {ends}", highlight=False)


@app.command()
def variants(
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    since: FromOption = None,
    until: UntilOption = None,
    window: WindowOption = "intersecting",
    coverage: CoverageOption = None,
    activity_share: ActivityShareOption = None,
    top: TopOption = 10,
    as_json: JsonOption = False,
) -> None:
    """The variants (distinct paths through the process), most frequent first."""
    events = _filtered(_events(store, source), since, until, window, coverage, activity_share)
    found = list_variants(events)
    shown = found if top == 0 else found.head(top)
    if as_json:
        records = shown.assign(activities=shown["activities"].map(list)).to_dict("records")
        out.print_json(json.dumps({"variants": len(found), "shown": records}))
        return
    if found.empty:
        out.print("No cases yet; record a log with 'knelpunt ingest FILE'.")
        return
    table_out = Table("#", "cases", "share", "median", "steps", "path", title="Variants")
    for variant in shown.to_dict("records"):
        path = " → ".join(variant["activities"])
        table_out.add_row(
            str(variant["variant"]),
            f"{variant['cases']:,}",
            f"{variant['share']:.1%}",
            _duration(variant["median_s"]),
            str(len(variant["activities"])),
            path if len(path) <= 120 else path[:117] + "...",
        )
    out.print(table_out)
    covered = shown["cases"].sum() / max(found["cases"].sum(), 1)
    out.print(
        f"{len(found):,} variant{'s' if len(found) != 1 else ''}; the {len(shown):,} shown "
        f"cover {covered:.1%} of the cases.",
        highlight=False,
    )


@app.command()
def activities(
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    since: FromOption = None,
    until: UntilOption = None,
    window: WindowOption = "intersecting",
    coverage: CoverageOption = None,
    activity_share: ActivityShareOption = None,
    top: TopOption = 25,
    working_time: WorkingOption = False,
    calendar: CalendarOption = None,
    instances_csv: Annotated[
        Path | None,
        typer.Option("--instances", help="Also write every activity instance to this CSV file."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Per activity: how long cases wait before it and how long it takes (start to complete)."""
    hours = _calendar(working_time, calendar)
    events = _filtered(_events(store, source), since, until, window, coverage, activity_share)
    found = pair_instances(events, calendar=hours)
    summary = summarise_activities(found)
    if instances_csv is not None:
        found.instances.to_csv(instances_csv, index=False)
    shown = summary if top == 0 else summary.head(top)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "instances": len(found.instances),
                    "estimated_starts": found.estimated,
                    "notes": list(found.notes),
                    "activities": shown.to_dict("records"),
                },
                default=str,
            )
        )
        return
    if found.instances.empty:
        out.print("No events yet; record a log with 'knelpunt ingest FILE'.")
        return
    stem = "_work" if hours else ""
    table_out = Table(
        "activity",
        "instances",
        "waiting (median)",
        "waiting (p90)",
        "processing (median)",
        "processing (p90)",
        "start estimated",
        title="Activities" + (" (working time)" if hours else ""),
    )
    for row in shown.to_dict("records"):
        table_out.add_row(
            str(row["activity"]),
            f"{row['instances']:,}",
            _duration(row[f"waiting{stem}_median_s"]),
            _duration(row[f"waiting{stem}_p90_s"]),
            _duration(row[f"processing{stem}_median_s"]),
            _duration(row[f"processing{stem}_p90_s"]),
            f"{row['estimated_share']:.0%}",
        )
    out.print(table_out)
    for note in found.notes:
        out.print(f"Note: {note}", highlight=False)


NoiseOption = Annotated[
    float,
    typer.Option(
        "--noise",
        min=0.0,
        max=0.99,
        help="Leave out infrequent behaviour: IMf's threshold (0 = every case fits).",
    ),
]
AllEventsOption = Annotated[
    bool,
    typer.Option(
        "--all-events",
        help="Use every event, not only completions (start and schedule events too).",
    ),
]


@app.command()
def discover(
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="Write the model here: .bpmn or .pnml.")
    ],
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    since: FromOption = None,
    until: UntilOption = None,
    window: WindowOption = "intersecting",
    coverage: CoverageOption = None,
    activity_share: ActivityShareOption = None,
    noise: NoiseOption = 0.2,
    all_events: AllEventsOption = False,
    as_json: JsonOption = False,
) -> None:
    """Discover a process model (inductive miner) and write it as BPMN or PNML."""
    events = _filtered(_events(store, source), since, until, window, coverage, activity_share)
    try:
        model = discover_model(events, noise=noise, lifecycles=None if all_events else COMPLETIONS)
        written = export_model(model, out_path)
    except KnelpuntError as error:
        raise _fail(error) from error
    summary = {
        "model": str(written),
        "origin": model.origin,
        "activities": sorted(model.activities),
        "tree": str(model.tree),
        "filters": list(events.filters),
    }
    if as_json:
        out.print_json(json.dumps(summary))
        return
    out.print(
        f"Wrote {written} ({len(model.activities)} activities), by the {model.origin}.",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def conformance(
    model_path: Annotated[
        Path, typer.Option("--model", "-m", help="The protocol: a .bpmn or .pnml file.")
    ],
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    since: FromOption = None,
    until: UntilOption = None,
    window: WindowOption = "intersecting",
    coverage: CoverageOption = None,
    activity_share: ActivityShareOption = None,
    sample: Annotated[
        int, typer.Option("--sample", min=0, help="Cases to align (0 = all of them).")
    ] = 1000,
    time_budget: Annotated[
        float, typer.Option("--time-budget", min=0.01, help="Seconds the alignments may take.")
    ] = 30.0,
    all_events: AllEventsOption = False,
    as_json: JsonOption = False,
) -> None:
    """Check the cases against a protocol: fitness, and per activity what deviates."""
    events = _filtered(_events(store, source), since, until, window, coverage, activity_share)
    try:
        model = read_model(model_path)
        found = check_conformance(
            events,
            model,
            sample=sample or None,
            time_budget=time_budget,
            lifecycles=None if all_events else COMPLETIONS,
        )
    except KnelpuntError as error:
        raise _fail(error) from error
    if as_json:
        out.print_json(json.dumps(_conformance_dict(found)))
        return
    out.print(
        f"Model {found.model}: fitness {found.fitness:.3f} (token replay), "
        f"{found.fitting_share:.1%} of {len(found.cases):,} cases fit.",
        highlight=False,
    )
    if found.alignment_fitness is not None:
        out.print(
            f"Alignments on {found.aligned_cases:,} sampled cases: fitness "
            f"{found.alignment_fitness:.3f}.",
            highlight=False,
        )
    table_out = Table(
        "activity", "executions", "skipped", "inserted", "out of order", title="Deviations"
    )
    shown = found.activities.assign(
        deviations=found.activities[["skipped", "inserted", "out_of_order"]].sum(axis=1)
    ).sort_values(["deviations", "activity"], ascending=[False, True])
    for row in shown.to_dict("records"):
        name = row["activity"] + ("" if row["in_model"] else " (not in model)")
        table_out.add_row(
            name,
            f"{row['executions']:,}",
            f"{row['skipped']:,}",
            f"{row['inserted']:,}",
            f"{row['out_of_order']:,}",
        )
    out.print(table_out)
    for note in found.notes:
        out.print(f"Note: {note}", highlight=False)


def _conformance_dict(found: Conformance) -> dict[str, Any]:
    variants = found.variants.assign(
        activities=found.variants["activities"].map(list),
        alignment_fitness=found.variants["alignment_fitness"].map(
            lambda v: None if v != v else float(v)
        ),
    )
    return {
        "model": found.model,
        "fitness": found.fitness,
        "fitting_share": found.fitting_share,
        "mean_trace_fitness": found.mean_trace_fitness,
        "cases": len(found.cases),
        "alignment_fitness": found.alignment_fitness,
        "sampled_cases": found.sampled_cases,
        "aligned_cases": found.aligned_cases,
        "timed_out": found.timed_out,
        "activities": found.activities.to_dict("records"),
        "variants": variants.to_dict("records"),
        "filters": list(found.filters),
        "notes": list(found.notes),
    }


@app.command()
def purge(
    source_id: Annotated[int, typer.Argument(help="The source to remove.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the purge log).")],
    store: StoreOption = DEFAULT_STORE,
    by: Annotated[str | None, typer.Option(help="Who asks for the purge.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Remove a whole source: the one exception to append-only, and it is logged."""
    with _open(store) as target:
        try:
            found = target.source(source_id)
        except KnelpuntError as error:
            raise _fail(error) from error
        if not yes and not typer.confirm(
            f"Remove source {source_id} ('{found.name}', {found.event_count:,} events) for good?"
        ):
            raise typer.Exit(1)
        try:
            record = api.purge_source(target, source_id, reason=reason, purged_by=by)
        except KnelpuntError as error:
            raise _fail(error) from error
    if as_json:
        data = asdict(record)
        data["purged_at"] = record.purged_at.isoformat()
        out.print_json(json.dumps(data))
        return
    out.print(
        f"Purged source {source_id} ('{record.source_name}'): {record.events_removed:,} events "
        f"removed; logged as purge {record.purge_id}.",
        highlight=False,
    )


@app.command("mapping")
def show_mapping(
    file: Annotated[Path, typer.Argument(help="The file to look at.")],
    as_json: JsonOption = False,
) -> None:
    """Suggest which columns hold the case, activity, timestamp, ... (nothing is recorded)."""
    try:
        suggestion = api.suggest_mapping(file)
    except (KnelpuntError, FileNotFoundError) as error:
        raise _fail(error) from error
    chosen = asdict(suggestion.mapping) if suggestion.mapping else {}
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "mapping": chosen,
                    "missing": list(suggestion.missing),
                    "reasons": dict(suggestion.reasons),
                }
            )
        )
        return
    for field, column in chosen.items():
        if column is not None:
            why = suggestion.reasons.get(field, "")
            out.print(f"{field:>16} = {column}   [dim]{why}[/]", highlight=False)
    for field in suggestion.missing:
        out.print(f"{field:>16} = ?  (no candidate; map it with --mapping {field}=COLUMN)")


@app.command()
def demo(store: StoreOption = DEFAULT_STORE) -> None:
    """Record the demo log (a generated Wmo case log, Dutch Excel CSV) and summarise the store."""
    with tempfile.TemporaryDirectory(prefix="knelpunt-demo-") as folder, _open(store) as target:
        csv = make_demo_csv(Path(folder) / "wmo_demo.csv")
        try:
            result = ingest_log(target, csv, name="Demo: Wmo-meldingen (gegenereerd)")
        except KnelpuntError as error:
            raise _fail(error) from error
        out.print(result.message, highlight=False)
        log = api.read_events(target, sources=[result.source.source_id])
        found = api.list_sources(target)
    times = log["time:timestamp"]
    out.print(
        f"\nStore: {target.url}  ({len(found)} source(s), "
        f"{sum(s.event_count for s in found):,} events)",
        highlight=False,
    )
    out.print(
        f"Demo source: {log['case:concept:name'].nunique():,} cases, {len(log):,} events, "
        f"{log['concept:name'].nunique()} activities, "
        f"{times.min():%d-%m-%Y} to {times.max():%d-%m-%Y}",
        highlight=False,
    )
    table = Table("activity", "events", "cases")
    counts = log.groupby("concept:name", sort=False).agg(
        events=("concept:name", "size"), cases=("case:concept:name", "nunique")
    )
    for activity, row in counts.iterrows():
        table.add_row(str(activity), f"{row['events']:,}", f"{row['cases']:,}")
    out.print(table)
    out.print(
        "Next: 'knelpunt map' and 'knelpunt variants' show how the cases flow; "
        "'knelpunt ingest FILE' records your own export; 'knelpunt sources' lists what is "
        "recorded.",
        highlight=False,
    )


def main() -> None:
    """Entry point of the ``knelpunt`` console script."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted; nothing was half-written (each recording is one transaction)")
        sys.exit(130)


if __name__ == "__main__":
    main()
