"""Commands that record and manage sources: ingest, sources, rejects, export, purge,
mapping."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from knelpunt import api
from knelpunt.cli._app import (
    JsonOption,
    StoreOption,
    _fail,
    _open,
    _print_result,
    _source_dict,
    app,
    err,
    out,
)
from knelpunt.errors import (
    KnelpuntError,
)
from knelpunt.events.store import DEFAULT_STORE
from knelpunt.ingest.export import export_log
from knelpunt.ingest.pipeline import ingest_log


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
