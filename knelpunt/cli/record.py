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
    audit,
    err,
    out,
)
from knelpunt.errors import KnelpuntError, PrivacyError
from knelpunt.events.store import DEFAULT_STORE
from knelpunt.ingest.check import detect_personal_data
from knelpunt.ingest.export import export_log
from knelpunt.ingest.limits import DEFAULT_LIMITS, InputLimits, parse_size
from knelpunt.ingest.pipeline import ingest_log
from knelpunt.privacy import PrivacyChoices, load_key, parse_choices, pseudonym

_DROP_HELP = "Drop this column before recording (repeatable)."
_PSEUDONYMISE_HELP = "Replace this column's values by pseudonyms (repeatable)."
_KEEP_HELP = (
    "Record this column as it is, also when it holds personal data (repeatable; the "
    "source's details record the choice)."
)
_KEY_HELP = (
    "The pseudonym key file (default: $KNELPUNT_PSEUDONYM_KEY_FILE, else "
    "~/.config/knelpunt/pseudonym.key; made on first use). Use the same key for "
    "sources you want to join."
)
_PROFILE_HELP = "Take the privacy choices from this profile's 'privacy' section."
ColumnsOption = list[str] | None


def _privacy(
    *,
    profile: str | None,
    drop: ColumnsOption,
    pseudonymise: ColumnsOption,
    keep: ColumnsOption,
    on: bool,
    key_file: Path | None,
) -> PrivacyChoices:
    """The profile's privacy choices with the command line's over them."""
    base = PrivacyChoices()
    if profile is not None:
        from knelpunt.profile import read_profile

        base = read_profile(profile).privacy
    chosen = parse_choices(drop=drop or (), pseudonymise=pseudonymise or (), keep=keep or ())
    choices = PrivacyChoices(
        pseudonymise=base.pseudonymise and on,
        columns={**base.columns, **chosen},
        key_file=key_file,
    )
    if not choices.pseudonymise:
        err.print(
            "[bold yellow]warning:[/] pseudonymisation is off: case ids, resources and any "
            "personal data found are recorded as they are. Only do this for data without "
            "real people in it (a simulation, a test).",
            markup=True,
            highlight=False,
            soft_wrap=True,
        )
    return choices


@app.command()
def ingest(
    file: Annotated[
        Path,
        typer.Argument(help="CSV (.csv/.csv.gz), Excel (.xlsx), XES (.xes/.xes.gz) or Parquet."),
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
    drop: Annotated[ColumnsOption, typer.Option("--drop", help=_DROP_HELP)] = None,
    pseudonymise_columns: Annotated[
        ColumnsOption, typer.Option("--pseudonymise", help=_PSEUDONYMISE_HELP)
    ] = None,
    keep: Annotated[ColumnsOption, typer.Option("--keep", help=_KEEP_HELP)] = None,
    no_pseudonymise: Annotated[
        bool,
        typer.Option(
            "--no-pseudonymise",
            help="Record case ids, resources and personal data as they are: for data "
            "without real people in it only (prints a warning).",
        ),
    ] = False,
    key_file: Annotated[Path | None, typer.Option("--key-file", help=_KEY_HELP)] = None,
    profile: Annotated[str | None, typer.Option("--profile", help=_PROFILE_HELP)] = None,
    max_unpacked: Annotated[
        str | None,
        typer.Option(
            "--max-unpacked",
            envvar="KNELPUNT_MAX_UNPACKED",
            help="Most a compressed file (.gz, Excel, Parquet) may unpack to, e.g. 40GB "
            "(default 16GiB).",
        ),
    ] = None,
    max_ratio: Annotated[
        float | None,
        typer.Option(
            "--max-ratio",
            envvar="KNELPUNT_MAX_RATIO",
            help="Most bytes a compressed file may unpack to per compressed byte, past "
            "16 MiB (default 200; decompression bombs reach about 1,000).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record a log file in the store as one new source (all or nothing).

    Case ids and resources are pseudonymised, and columns with personal data
    (BSN, names, e-mail, phone, postcode, date of birth) are pseudonymised or
    dropped, unless chosen otherwise; 'knelpunt privacy FILE' shows what is found.
    """
    try:
        limits = InputLimits(
            max_unpacked=parse_size(max_unpacked) if max_unpacked else DEFAULT_LIMITS.max_unpacked,
            max_ratio=max_ratio if max_ratio is not None else DEFAULT_LIMITS.max_ratio,
        )
    except KnelpuntError as error:
        raise _fail(error) from error
    pairs = mapping or ""
    if timestamp_format:
        pairs = (
            f"{pairs},timestamp_format={timestamp_format}"
            if pairs
            else (f"timestamp_format={timestamp_format}")
        )
    try:
        choices = _privacy(
            profile=profile,
            drop=drop,
            pseudonymise=pseudonymise_columns,
            keep=keep,
            on=not no_pseudonymise,
            key_file=key_file,
        )
    except KnelpuntError as error:
        raise _fail(error) from error
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
                    privacy=choices,
                    progress=progress,
                    limits=limits,
                )
            except (KnelpuntError, FileNotFoundError) as error:
                raise _fail(error) from error
        if not result.already_recorded:
            audit(
                target,
                "record",
                target=str(result.source.source_id),
                details={"name": result.source.name, "file": file.name},
            )
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
    file: Annotated[
        Path, typer.Argument(help="File to write: .xes, .xes.gz, .csv, .xlsx or .parquet.")
    ],
    store: StoreOption = DEFAULT_STORE,
    source: Annotated[
        list[int] | None, typer.Option(help="Only this source id (repeatable).")
    ] = None,
    file_format: Annotated[
        str | None, typer.Option("--format", help="xes, csv, xlsx or parquet.")
    ] = None,
    keep_formulas: Annotated[
        bool,
        typer.Option(
            "--keep-formulas",
            help="In a CSV or Excel file, write text that starts with = + - @, a tab or a "
            "carriage return as it is (for programs; in Excel still as text). By default it "
            "gets an apostrophe, as OWASP advises against CSV injection, so a spreadsheet "
            "shows it and does not run it.",
        ),
    ] = False,
    partition_by: Annotated[
        str | None,
        typer.Option(
            "--partition-by",
            help="Write Parquet as a hive-partitioned folder, split by these, comma "
            "separated: source, year, month, day (e.g. source,year,month); FILE is the "
            "folder. Spark (engine spark) and DuckDB read it.",
        ),
    ] = None,
) -> None:
    """Write events from the store to an XES, CSV, Excel or Parquet file, or a Parquet
    folder (--partition-by).

    In a CSV or Excel file, text a spreadsheet would run as a formula starts with an
    apostrophe (OWASP's advice against CSV injection); --keep-formulas writes it as it
    is. XES and Parquet keep every value.
    """
    parts = tuple(p.strip() for p in partition_by.split(",") if p.strip()) if partition_by else ()
    with _open(store) as target:
        try:
            written = export_log(
                target,
                file,
                format=file_format,
                sources=source,
                formulas="keep" if keep_formulas else "quote",
                partition_by=parts,
            )
        except KnelpuntError as error:
            raise _fail(error) from error
        audit(
            target,
            "export",
            target=Path(written).name,
            details={
                "sources": list(source or []),
                **({"partition_by": list(parts)} if parts else {}),
            },
        )
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


@app.command("privacy")
def show_privacy(
    file: Annotated[Path, typer.Argument(help="The file to look at.")],
    mapping: Annotated[
        str | None, typer.Option(help="Columns, as for 'knelpunt ingest --mapping'.")
    ] = None,
    drop: Annotated[ColumnsOption, typer.Option("--drop", help=_DROP_HELP)] = None,
    pseudonymise_columns: Annotated[
        ColumnsOption, typer.Option("--pseudonymise", help=_PSEUDONYMISE_HELP)
    ] = None,
    keep: Annotated[ColumnsOption, typer.Option("--keep", help=_KEEP_HELP)] = None,
    profile: Annotated[str | None, typer.Option("--profile", help=_PROFILE_HELP)] = None,
    sheet: Annotated[str | None, typer.Option(help="Excel worksheet (default: the first).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the personal data in a file and what 'knelpunt ingest' would do with each
    column (nothing is recorded; no key is needed)."""
    try:
        choices = _privacy(
            profile=profile,
            drop=drop,
            pseudonymise=pseudonymise_columns,
            keep=keep,
            on=True,
            key_file=None,
        )
        found = detect_personal_data(
            file,
            mapping=mapping,
            privacy=choices,
            sheet=int(sheet) if sheet is not None and sheet.isdigit() else sheet,
        )
    except (KnelpuntError, FileNotFoundError) as error:
        raise _fail(error) from error
    frame = found.to_frame()
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "file": found.file,
                    "rows": found.rows,
                    "columns": json.loads(frame.to_json(orient="records")),
                    "warnings": list(found.warnings),
                }
            )
        )
        return
    table = Table("column", "found", "rows", "example", "recorded as", title=found.file)
    for row in found.decisions:
        seen = f"{row.finding.matched:,} of {row.finding.rows:,}" if row.finding else "-"
        action = row.action + ("" if row.chosen else " (default)")
        table.add_row(
            row.column, row.kind or "-", seen, row.finding.example if row.finding else "", action
        )
    out.print(table)
    out.print(
        f"Read the first {found.rows:,} rows. Change a choice with --drop, --pseudonymise or "
        "--keep COLUMN on 'knelpunt ingest', or in the profile's privacy section.",
        highlight=False,
    )
    for warning in found.warnings:
        out.print(f"  note: {warning}", highlight=False)


@app.command("pseudonym")
def show_pseudonym(
    values: Annotated[list[str], typer.Argument(help="Values, e.g. a professional's name.")],
    kind: Annotated[
        str, typer.Option(help="case, resource or value: the pseudonym's prefix (c-, r-, p-).")
    ] = "resource",
    key_file: Annotated[Path | None, typer.Option("--key-file", help=_KEY_HELP)] = None,
) -> None:
    """Print the pseudonyms recording gives these values (with the same key), e.g. to name
    people in a profile's teams by their pseudonym."""
    prefixes = {"case": "c-", "resource": "r-", "value": "p-"}
    if kind not in prefixes:
        raise _fail(PrivacyError(f"--kind {kind!r}: choose case, resource or value."))
    try:
        key = load_key(key_file, create=False)
    except KnelpuntError as error:
        raise _fail(error) from error
    for value in values:
        out.print(
            f"{value}\t{pseudonym(value.strip(), key=key, prefix=prefixes[kind])}", highlight=False
        )
