"""Shared parts of the ``knelpunt`` command: the Typer app, consoles, options and the
error-to-exit-code rule."""

from __future__ import annotations

import functools
import getpass
import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from knelpunt import api
from knelpunt.engine.filters import EventFilter
from knelpunt.errors import (
    AnalysisError,
    CalendarError,
    EventStoreError,
    FilterError,
    KnelpuntError,
    LogSchemaError,
    MappingError,
    ModelError,
    PrivacyError,
    ProfileError,
    ScenarioError,
    UnsafeInputError,
    UnsupportedFormatError,
    UserError,
)
from knelpunt.events.model import RecordResult, Source
from knelpunt.events.store import EventStore, open_store
from knelpunt.mining.filters import filter_events
from knelpunt.mining.projection import EventTable, load_events
from knelpunt.profile import Profile, read_profile
from knelpunt.worktime import WorkCalendar, read_calendar

if TYPE_CHECKING:
    from knelpunt.engine import InstanceResult, RelationalResult
    from knelpunt.engine.backends import Engine

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
        | ProfileError
        | ScenarioError
        | AnalysisError
        | UserError
        | PrivacyError
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
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="Count durations in working time by this profile's calendar (a YAML file, or "
        "generiek / sociaal-domein); for activity instances also by its teams' and "
        "people's own hours.",
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
WhereOption = Annotated[
    list[str] | None,
    typer.Option(
        "--where",
        help="Only cases with this attribute value, KEY=VALUE (repeatable: one key "
        "repeated means any of the values, different keys must all match).",
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


@dataclass(frozen=True, slots=True)
class Filters:
    """The filter options every analysis command takes (see :func:`with_filters`)."""

    since: str | None = None
    until: str | None = None
    window: str = "intersecting"
    coverage: float | None = None
    activity_share: float | None = None
    where: list[str] | None = None


NO_FILTERS = Filters()

# Each filter option, in the order 'knelpunt COMMAND --help' lists them.
_FILTER_OPTIONS: dict[str, object] = {
    "since": FromOption,
    "until": UntilOption,
    "window": WindowOption,
    "where": WhereOption,
    "coverage": CoverageOption,
    "activity_share": ActivityShareOption,
}


def with_filters(command: Callable[..., None]) -> Callable[..., None]:
    """Give an analysis command the filter options once: the command declares a
    ``filters: Filters`` parameter and receives them there."""
    own = inspect.signature(command, eval_str=True)
    kept = [p for p in own.parameters.values() if p.name != "filters"]
    defaults = Filters()
    added = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=getattr(defaults, name),
            annotation=annotation,
        )
        for name, annotation in _FILTER_OPTIONS.items()
    ]
    parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in kept] + added

    @functools.wraps(command)
    def run(**given: Any) -> None:
        chosen = Filters(**{name: given.pop(name) for name in _FILTER_OPTIONS})
        command(filters=chosen, **given)

    run.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    del run.__wrapped__  # Typer reads the new signature, not the wrapped one
    return run


def _filtered(url: str, sources: list[int] | None, filters: Filters) -> EventTable:
    """The projection, with the filters given on the command line."""
    table = _events(url, sources)
    cases = None
    if filters.where:
        wanted: dict[str, list[str]] = {}
        for condition in filters.where:
            key, equals, value = condition.partition("=")
            if not equals or not key.strip():
                raise _fail(
                    FilterError(f"Cannot read --where {condition!r}; write it as KEY=VALUE.")
                )
            wanted.setdefault(key.strip(), []).append(value.strip())
        with _open(url) as store:
            try:
                cases = api.find_cases(store, wanted, sources=sources)
            except KnelpuntError as error:
                raise _fail(error) from error
    try:
        return filter_events(
            table,
            cases=cases,
            start=_moment(filters.since),
            end=_moment(filters.until),
            window=filters.window,  # type: ignore[arg-type]  # checked by filter_events
            variant_coverage=filters.coverage,
            activity_share=filters.activity_share,
        )
    except KnelpuntError as error:
        raise _fail(error) from error


class EngineName(StrEnum):
    """Where ``--engine`` computes the map, the variants and the case table."""

    duckdb = "duckdb"
    spark = "spark"


EngineOption = Annotated[
    EngineName | None,
    typer.Option(
        "--engine",
        help="Compute on this engine (the same definitions): duckdb in this process, or "
        "spark (the active Spark session, else a local one; pip install 'knelpunt[spark]' "
        "and Java 17+). Default: in memory, or duckdb for --parquet, spark for --table.",
    ),
]
ParquetOption = Annotated[
    str | None,
    typer.Option(
        "--parquet",
        help="Analyse this Parquet file or folder instead of the store: what "
        "'knelpunt export --format parquet --partition-by source,year,month' writes "
        "(with --engine spark also a storage URL: abfss://, s3://, dbfs:/).",
    ),
]
SparkTableOption = Annotated[
    str | None,
    typer.Option(
        "--table",
        help="Analyse this table of the Spark session instead of the store "
        "(in the columns knelpunt export writes); implies --engine spark.",
    ),
]


@dataclass(frozen=True, slots=True)
class EngineInput:
    """What an analysis command computes on an engine: events of the store (filtered
    first) or a Parquet path or Spark table, which the store's filters do not reach."""

    engine: EngineName | None = None
    parquet: str | None = None
    table: str | None = None

    @property
    def used(self) -> bool:
        """Whether the command goes through :func:`knelpunt.compute_relational`."""
        return self.engine is not None or self.parquet is not None or self.table is not None

    @property
    def outside_store(self) -> bool:
        """Whether the events come from a Parquet path or a Spark table."""
        return self.parquet is not None or self.table is not None


def _engine_filter(
    filters: Filters, *, sources: list[int] | None, lifecycles: tuple[str, ...] | None
) -> EventFilter:
    """The command line's filters for a Parquet path or Spark table, applied on the engine.

    ``--where`` reads the case attributes kept in the store, which an export does not
    carry as such; it is refused there with what to do instead.
    """
    if filters.where:
        raise typer.BadParameter(
            "--where reads the case attributes of the store, not of --parquet or --table: "
            "export the chosen cases (knelpunt export --where ... --format parquet), or "
            "filter the table in Spark before analysing it.",
            param_hint="'--where'",
        )
    return EventFilter(
        start=_moment(filters.since),
        end=_moment(filters.until),
        window=filters.window,  # type: ignore[arg-type]  # checked by EventFilter.apply
        sources=sources,
        variant_coverage=filters.coverage,
        activity_share=filters.activity_share,
        lifecycles=lifecycles,
    )


def _engine_input(
    chosen: EngineInput,
    *,
    url: str,
    sources: list[int] | None,
    filters: Filters,
    lifecycles: tuple[str, ...] | None = None,
) -> tuple[EngineName, EventTable | None, EventFilter | None]:
    """The engine, and either the store's filtered events or the filters for the engine.

    Events of the store are filtered in memory first, as the other commands do; a
    Parquet path or Spark table is filtered by the engine with the same filters.
    """
    engine = _engine_of(chosen)
    if chosen.outside_store:
        return engine, None, _engine_filter(filters, sources=sources, lifecycles=lifecycles)
    events = _filtered(url, sources, filters)
    if lifecycles is not None:
        events = filter_events(events, lifecycles=lifecycles)
    return engine, events, None


def _where_on_engine(
    chosen: EngineInput, *, filters: Filters, sources: list[int] | None
) -> tuple[Engine, EventFilter]:
    """The engine and the filters for a command that reads --parquet or --table only."""
    engine = _engine_of(chosen)
    return engine.value, _engine_filter(filters, sources=sources, lifecycles=None)


def _engine_of(chosen: EngineInput) -> EngineName:
    """The engine chosen (Spark for a table, else DuckDB, unless --engine says)."""
    if chosen.parquet is not None and chosen.table is not None:
        raise typer.BadParameter(
            "give --parquet or --table, not both: they are two places the events can be.",
            param_hint="'--table'",
        )
    return chosen.engine or (EngineName.spark if chosen.table else EngineName.duckdb)


def _on_engine(
    compute: Callable[..., Any],
    chosen: EngineInput,
    *,
    url: str,
    sources: list[int] | None,
    filters: Filters,
    lifecycles: tuple[str, ...] | None = None,
    **options: Any,
) -> tuple[Any, tuple[str, ...]]:
    """``compute`` (one of ``kp.compute_*``) on the chosen engine, of the store's filtered
    events or of --parquet/--table with the filters for the engine; and the filters
    said."""
    engine, events, where = _engine_input(
        chosen, url=url, sources=sources, filters=filters, lifecycles=lifecycles
    )
    try:
        found = compute(
            events if events is not None else chosen.parquet,
            table=chosen.table,
            engine=engine.value,
            filters=where,
            **options,
        )
    except KnelpuntError as error:
        raise _fail(error) from error
    return found, events.filters if events is not None else found.filters


def _relational(
    chosen: EngineInput,
    *,
    url: str,
    sources: list[int] | None,
    filters: Filters,
    calendar: WorkCalendar | None = None,
    lifecycles: tuple[str, ...] | None = None,
) -> tuple[RelationalResult, tuple[str, ...]]:
    """The map, variants and case table on the chosen engine, and the filters said."""
    from knelpunt.engine import compute_relational

    return _on_engine(
        compute_relational,
        chosen,
        url=url,
        sources=sources,
        filters=filters,
        lifecycles=lifecycles,
        calendar=calendar,
    )


def _instances_on_engine(
    chosen: EngineInput,
    *,
    url: str,
    sources: list[int] | None,
    filters: Filters,
    calendar: WorkCalendar | None = None,
    instances: bool = False,
    with_map: bool = False,
) -> tuple[InstanceResult, tuple[str, ...]]:
    """Activity instances and their times on the chosen engine, and the filters said."""
    from knelpunt.engine import compute_instances

    return _on_engine(
        compute_instances,
        chosen,
        url=url,
        sources=sources,
        filters=filters,
        calendar=calendar,
        instances=instances,
        with_map=with_map,
    )


def print_part_notes(notes: Mapping[int, Sequence[str]]) -> None:
    """Notes per part of a result computed per source (0: the whole log)."""
    for part, said in notes.items():
        for note in said:
            out.print(f"note{f' (source {part})' if part else ''}: {note}", highlight=False)


def _calendar(
    working_time: bool, calendar: Path | None, profile: Profile | None = None
) -> WorkCalendar | None:
    if calendar is not None and profile is not None:
        raise typer.BadParameter(
            "give --calendar or --profile, not both: the profile has a calendar.",
            param_hint="'--calendar'",
        )
    if profile is not None:
        return profile.calendar
    if calendar is not None:
        try:
            return read_calendar(calendar)
        except KnelpuntError as error:
            raise _fail(error) from error
    return WorkCalendar.office_hours() if working_time else None


def _profile(path: str) -> Profile:
    try:
        return read_profile(path)
    except KnelpuntError as error:
        raise _fail(error) from error


def _read_groups(url: str, sources: list[int] | None, attribute: str) -> dict[str, str] | None:
    """Per resource, the value of ``attribute`` in the log, or None when no event has it."""
    with _open(url) as store:
        try:
            return api.read_resource_groups(store, attribute=attribute, sources=sources)
        except MappingError:
            return None
        except KnelpuntError as error:
            raise _fail(error) from error


def _resource_hours(
    url: str, sources: list[int] | None, profile: Profile | None, events: EventTable
) -> dict[str, WorkCalendar]:
    """Each person's own hours by the profile; team hours reach people the profile does
    not list through the log's ``org:group``."""
    if profile is None:
        return {}
    people = [str(r) for r in events.resources]
    groups = None
    if any(t.calendar for t in profile.teams) and set(people) - set(profile.groups("team")):
        groups = _read_groups(url, sources, "org:group")
    return profile.resource_calendars(people, groups=groups)


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


def who(by: str | None = None) -> str:
    """Who runs a command, for the audit log: ``by`` if given, else the login name."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        return "cli"


def audit(
    store: EventStore,
    action: str,
    *,
    target: str,
    details: dict[str, Any],
    by: str | None = None,
) -> None:
    """Write a command's action in the store's audit log, as the dashboard does for its
    own (the command line works on the store directly, so this is a record, not a check).
    The actor is ``by`` when the command was given one, else the login name."""
    from knelpunt.access import record_audit

    record_audit(store, action, actor=who(by), target=target, details={**details, "via": "cli"})
