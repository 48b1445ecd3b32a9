"""Commands that analyse the recorded events: map, variants, activities, discover,
conformance, handovers."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from knelpunt.cli._app import (
    NO_FILTERS,
    CalendarOption,
    EngineInput,
    EngineOption,
    Filters,
    JsonOption,
    ParquetOption,
    ProfileOption,
    SourcesOption,
    SparkTableOption,
    StoreOption,
    TopOption,
    WorkingOption,
    _calendar,
    _duration,
    _fail,
    _filtered,
    _instances_on_engine,
    _profile,
    _read_groups,
    _relational,
    _resource_hours,
    app,
    out,
    with_filters,
)
from knelpunt.engine import RelationalResult, export_relational
from knelpunt.errors import FilterError, KnelpuntError
from knelpunt.events.store import DEFAULT_STORE
from knelpunt.ingest.export import export_table
from knelpunt.mining.conformance import Conformance, check_conformance
from knelpunt.mining.filters import simplify_map
from knelpunt.mining.instances import pair_instances, summarise_activities
from knelpunt.mining.maps import discover_map, list_variants
from knelpunt.mining.models import COMPLETIONS, discover_model, export_model, read_model
from knelpunt.mining.organisation import discover_handovers
from knelpunt.mining.projection import EventTable


@app.command("map")
@with_filters
def process_map(
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    filters: Filters = NO_FILTERS,
    top: TopOption = 25,
    paths: Annotated[
        float,
        typer.Option(
            "--paths", min=0.0, max=1.0, help="Show this share of the paths (kept connected)."
        ),
    ] = 1.0,
    working_time: WorkingOption = False,
    calendar: CalendarOption = None,
    profile: ProfileOption = None,
    instances: Annotated[
        bool,
        typer.Option(
            "--instances",
            help="A map of activity instances (start to complete), as Disco draws logs with "
            "start times: paths show the wait between steps, steps their processing time.",
        ),
    ] = False,
    engine: EngineOption = None,
    parquet: ParquetOption = None,
    table: SparkTableOption = None,
    save: Annotated[
        Path | None,
        typer.Option(
            "--save",
            help="With --engine, --parquet or --table: also write the whole result (map, "
            "variants, case table) to this folder as Parquet; kp.read_relational reads it.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The process map: which step follows which, how often, and how long it takes.

    With --engine, --parquet or --table the map is computed by DuckDB or Spark (the
    same numbers), e.g. on a partitioned Parquet export too large for memory."""
    chosen = _profile(profile) if profile else None
    hours = _calendar(working_time, calendar, chosen)
    on_engine = EngineInput(engine, parquet, table)
    if on_engine.used and instances:
        if save is not None:
            raise typer.BadParameter(
                "--save writes the event map with its variants and cases; leave out "
                "--instances to save it, or --save to draw the instance map.",
                param_hint="'--save'",
            )
        timed, said = _instances_on_engine(
            on_engine, url=store, sources=source, filters=filters, calendar=hours, with_map=True
        )
        assert timed.process_map is not None  # asked for with with_map
        found = timed.process_map
    elif on_engine.used:
        result, said = _relational(
            on_engine, url=store, sources=source, filters=filters, calendar=hours
        )
        found = result.process_map
        if save is not None:
            try:
                export_relational(result, save)
            except KnelpuntError as error:
                raise _fail(error) from error
    else:
        if save is not None:
            raise typer.BadParameter(
                "--save writes what an engine computed: add --engine duckdb (or spark), "
                "--parquet or --table.",
                param_hint="'--save'",
            )
        events = _filtered(store, source, filters)
        said = events.filters
        if instances:
            own = _resource_hours(store, source, chosen, events)
            found = discover_map(pair_instances(events, calendar=hours, resource_calendars=own))
        else:
            found = discover_map(events, calendar=hours)
    if paths < 1:
        found = simplify_map(found, paths=max(paths, 1e-9))
    if as_json:
        edges = found.edges if top == 0 else found.edges.head(top)
        out.print_json(
            json.dumps(
                {
                    "level": found.level,
                    "events": found.events,
                    "cases": found.cases,
                    "durations": "working time" if hours else "calendar time",
                    "notes": list(found.notes),
                    "filters": list(said),
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
    items = "activity instances" if instances else "events"
    out.print(f"{found.events:,} {items} in {found.cases:,} cases.", highlight=False)
    for filtered in said:
        out.print(f"Filter: {filtered}", highlight=False)
    table_out = Table(
        "from",
        "to",
        "count",
        "cases",
        "mean",
        "median",
        "p90",
        "total",
        title=("Paths (wait from one step's end to the next one's start)" if instances else "Paths")
        + (", in working time" if hours else ""),
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
    if instances:
        stem = "_work" if hours else ""
        steps = Table("activity", "instances", "processing (median)", "processing (p90)")
        for row in (found.activities if top == 0 else found.activities.head(top)).to_dict(
            "records"
        ):
            steps.add_row(
                str(row["activity"]),
                f"{row['count']:,}",
                _duration(row[f"processing{stem}_median_s"]),
                _duration(row[f"processing{stem}_p90_s"]),
            )
        out.print(steps)
    for note in found.notes:
        out.print(f"Note: {note}", highlight=False)


@app.command()
@with_filters
def variants(
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    filters: Filters = NO_FILTERS,
    top: TopOption = 10,
    engine: EngineOption = None,
    parquet: ParquetOption = None,
    table: SparkTableOption = None,
    as_json: JsonOption = False,
) -> None:
    """The variants (distinct paths through the process), most frequent first.

    With --engine, --parquet or --table they are computed by DuckDB or Spark."""
    on_engine = EngineInput(engine, parquet, table)
    if on_engine.used:
        found = _relational(on_engine, url=store, sources=source, filters=filters)[0].variants
    else:
        found = list_variants(_filtered(store, source, filters))
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
@with_filters
def activities(
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    filters: Filters = NO_FILTERS,
    top: TopOption = 25,
    working_time: WorkingOption = False,
    calendar: CalendarOption = None,
    profile: ProfileOption = None,
    instances_csv: Annotated[
        Path | None,
        typer.Option(
            "--instances-csv", help="Also write every activity instance to this CSV file."
        ),
    ] = None,
    engine: EngineOption = None,
    parquet: ParquetOption = None,
    table: SparkTableOption = None,
    as_json: JsonOption = False,
) -> None:
    """Per activity: how long cases wait before it and how long it takes (start to complete).

    With --engine, --parquet or --table the instances are paired and timed by DuckDB or
    Spark (the same numbers), and only one row per activity comes back."""
    chosen = _profile(profile) if profile else None
    hours = _calendar(working_time, calendar, chosen)
    on_engine = EngineInput(engine, parquet, table)
    if on_engine.used:
        if (
            hours is not None
            and chosen is not None
            and (chosen.schedules or any(t.calendar for t in chosen.teams))
        ):
            out.print(
                "Note: on the engines every resource's processing counts in the general "
                "calendar; the profile's own hours per resource apply in memory only.",
                highlight=False,
            )
        result, said = _instances_on_engine(
            on_engine,
            url=store,
            sources=source,
            filters=filters,
            calendar=hours,
            instances=instances_csv is not None,
        )
        summary = result.activities
        count, estimated, notes = result.count, result.estimated, result.notes
        rows = result.instances
    else:
        events = _filtered(store, source, filters)
        own = _resource_hours(store, source, chosen, events)
        found = pair_instances(events, calendar=hours, resource_calendars=own)
        summary = summarise_activities(found)
        count, estimated, notes = len(found.instances), found.estimated, found.notes
        rows, said = found.instances, events.filters
    if instances_csv is not None and rows is not None:
        # Opened in a spreadsheet more often than not: formulas are neutralised.
        instances_csv.write_bytes(export_table(rows, format="csv"))
    shown = summary if top == 0 else summary.head(top)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "instances": count,
                    "estimated_starts": estimated,
                    "notes": list(notes),
                    "filters": list(said),
                    "activities": shown.to_dict("records"),
                },
                default=str,
            )
        )
        return
    if count == 0:
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
    for note in notes:
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
@with_filters
def discover(
    out_path: Annotated[
        Path, typer.Option("--out", "-o", help="Write the model here: .bpmn or .pnml.")
    ],
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    filters: Filters = NO_FILTERS,
    noise: NoiseOption = 0.2,
    all_events: AllEventsOption = False,
    engine: EngineOption = None,
    parquet: ParquetOption = None,
    table: SparkTableOption = None,
    as_json: JsonOption = False,
) -> None:
    """Discover a process model (inductive miner) and write it as BPMN or PNML.

    With --engine, --parquet or --table the variants are counted by DuckDB or Spark and
    only they reach the miner: the model costs what the variants cost, not the events."""
    lifecycles = None if all_events else COMPLETIONS
    on_engine = EngineInput(engine, parquet, table)
    if on_engine.used:
        result, said = _relational(
            on_engine, url=store, sources=source, filters=filters, lifecycles=lifecycles
        )
        given: EventTable | RelationalResult = result
    else:
        given = _filtered(store, source, filters)
        said = given.filters
    try:
        model = discover_model(given, noise=noise, lifecycles=lifecycles)
        written = export_model(model, out_path)
    except KnelpuntError as error:
        raise _fail(error) from error
    summary = {
        "model": str(written),
        "origin": model.origin,
        "activities": sorted(model.activities),
        "tree": str(model.tree),
        "filters": list(said),
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
@with_filters
def conformance(
    model_path: Annotated[
        Path | None,
        typer.Option(
            "--model", "-m", help="The protocol: a .bpmn or .pnml file (default: the profile's)."
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="A profile whose 'protocol' is the model to check."),
    ] = None,
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    filters: Filters = NO_FILTERS,
    sample: Annotated[
        int, typer.Option("--sample", min=0, help="Cases to align (0 = all of them).")
    ] = 1000,
    time_budget: Annotated[
        float, typer.Option("--time-budget", min=0.01, help="Seconds the alignments may take.")
    ] = 30.0,
    all_events: AllEventsOption = False,
    engine: EngineOption = None,
    parquet: ParquetOption = None,
    table: SparkTableOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the cases against a protocol: fitness, and per activity what deviates.

    With --engine, --parquet or --table the variants are counted by DuckDB or Spark and
    only they are replayed and (a sample) aligned."""
    if model_path is None:
        model_path = _profile(profile).protocol if profile else None
        if model_path is None:
            raise typer.BadParameter(
                "which protocol? Give --model protocol.bpmn, or --profile with a profile "
                "whose 'protocol' names the model file.",
                param_hint="'--model'",
            )
    lifecycles = None if all_events else COMPLETIONS
    on_engine = EngineInput(engine, parquet, table)
    given: EventTable | RelationalResult
    if on_engine.used:
        given = _relational(
            on_engine, url=store, sources=source, filters=filters, lifecycles=lifecycles
        )[0]
    else:
        given = _filtered(store, source, filters)
    try:
        model = read_model(model_path)
        found = check_conformance(
            given,
            model,
            sample=sample or None,
            time_budget=time_budget,
            lifecycles=lifecycles,
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


class GroupBy(StrEnum):
    """What the nodes of an organisation network are."""

    resource = "resource"
    team = "team"
    role = "role"


GroupByOption = Annotated[
    GroupBy,
    typer.Option(
        "--by",
        help="Between resources, teams or roles. Teams and roles come from --profile, "
        "else from the log's org:group / org:role.",
    ),
]


@app.command()
@with_filters
def handovers(
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    filters: Filters = NO_FILTERS,
    by: GroupByOption = GroupBy.resource,
    profile: Annotated[
        str | None, typer.Option("--profile", help="A profile whose teams and roles to use.")
    ] = None,
    top: TopOption = 25,
    as_json: JsonOption = False,
) -> None:
    """Who hands work over to whom: the handover network, between people, teams or roles."""
    chosen = _profile(profile) if profile else None
    events = _filtered(store, source, filters)
    groups = None
    if by is not GroupBy.resource:
        # As for working hours: the profile's membership first, the log's for the rest.
        attribute = "org:group" if by is GroupBy.team else "org:role"
        listed = chosen.groups("team" if by is GroupBy.team else "role") if chosen else {}
        logged = _read_groups(store, source, attribute)
        if not listed and logged is None:
            raise _fail(
                FilterError(
                    f"No {by.value}s known: the profile lists none and no event carries "
                    f"{attribute}. Add {by.value}s to a profile (knelpunt profile check "
                    "generiek shows the form) and pass --profile."
                )
            )
        groups = {**(logged or {}), **listed}
    network = discover_handovers(
        events, groups=groups, calendar=chosen.calendar if chosen else None
    )
    edges = sorted(
        ({"from": a, "to": b, **data} for a, b, data in network.edges(data=True)),
        key=lambda edge: (-edge["count"], edge["from"], edge["to"]),
    )
    shown = edges if top == 0 else edges[:top]
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "by": by.value,
                    "durations": "working time" if chosen else "calendar time",
                    "nodes": [{"name": n, **d} for n, d in network.nodes(data=True)],
                    "handovers": shown,
                    "filters": list(events.filters),
                },
                default=float,
            )
        )
        return
    if not edges:
        out.print("No handovers: no case passes from one performer to another.")
        return
    table_out = Table(
        "from",
        "to",
        "handovers",
        "cases",
        "share",
        "median time",
        title="Handovers" + (" (time in working hours)" if chosen else ""),
    )
    for edge in shown:
        table_out.add_row(
            str(edge["from"]),
            str(edge["to"]),
            f"{edge['count']:,}",
            f"{edge['cases']:,}",
            f"{edge['share']:.1%}",
            _duration(edge["median_s"]),
        )
    out.print(table_out)
