"""``knelpunt blockers``: why cases wait, and whose decision it is."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import typer
from rich.table import Table

from knelpunt.analysis.blockers import Blockers, find_blockers
from knelpunt.analysis.waiting import split_waiting
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
    _calendar,
    _fail,
    _filtered,
    _on_engine,
    _profile,
    _read_groups,
    _resource_hours,
    app,
    out,
    print_part_notes,
    with_filters,
)
from knelpunt.errors import KnelpuntError
from knelpunt.events.store import DEFAULT_STORE

ProfileArgument = Annotated[
    str,
    typer.Option(
        "--profile",
        help="The profile: activity classes, calendar, teams (a YAML file, or generiek / "
        "sociaal-domein). Draft one from the log with 'knelpunt profile draft'.",
    ),
]
LangOption = Annotated[str, typer.Option("--lang", help="Language of the evidence: nl or en.")]


@app.command("blockers")
@with_filters
def blockers(
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    filters: Filters = NO_FILTERS,
    profile: ProfileArgument = "generiek",
    top: TopOption = 15,
    lang: LangOption = "nl",
    as_json: JsonOption = False,
) -> None:
    """Rank what makes cases wait, attributed to protocol, system, steering or client."""
    if lang not in ("nl", "en"):
        raise typer.BadParameter("choose nl or en.", param_hint="'--lang'")
    chosen = _profile(profile)
    events = _filtered(store, source, filters)
    own = _resource_hours(store, source, chosen, events)
    try:
        found = find_blockers(
            split_waiting(events, profile=chosen, resource_calendars=own),
            profile=chosen,
            top=top or None,
            groups=_read_groups(store, source, "org:group"),
        )
    except KnelpuntError as error:
        raise _fail(error) from error
    if as_json:
        out.print_json(json.dumps(_as_dict(found)))
        return
    _print(found, "nl" if lang == "nl" else "en")


@app.command("waiting")
@with_filters
def waiting(
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    filters: Filters = NO_FILTERS,
    calendar: CalendarOption = None,
    profile: ProfileOption = None,
    per_source: Annotated[
        bool,
        typer.Option(
            "--per-source",
            help="Split each source apart (one organisation each), in parallel on Spark; "
            "default: the whole log at once.",
        ),
    ] = False,
    top: TopOption = 15,
    engine: EngineOption = None,
    parquet: ParquetOption = None,
    table: SparkTableOption = None,
    as_json: JsonOption = False,
) -> None:
    """Why cases wait: every wait split into batching, contention, prioritisation,
    unavailability and extraneous time, per activity (Kronos' method).

    The activity instances are paired by DuckDB, or by Spark with --engine spark, from
    the store's events or from --parquet or --table; the split runs per source (one
    Spark task each with --per-source) or over the whole log."""
    from knelpunt.engine import compute_waiting

    hours = _calendar(False, calendar, _profile(profile) if profile else None)
    found, said = _on_engine(
        compute_waiting,
        EngineInput(engine, parquet, table),
        url=store,
        sources=source,
        filters=filters,
        calendar=hours,
        per="source" if per_source else None,
    )
    rows = found.by_activity if top == 0 else found.by_activity.head(top)
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "engine": found.engine,
                    "totals": found.totals().to_dict("records"),
                    "by_activity": rows.to_dict("records"),
                    "notes": {str(k): list(v) for k, v in found.notes.items()},
                    "filters": list(said),
                },
                default=str,
            )
        )
        return
    totals = found.totals()
    shares = ", ".join(
        f"{cause} {share:.0%}"
        for cause, share in zip(totals["cause"], totals["share"], strict=True)
    )
    out.print(
        f"Waiting of {int(found.by_activity['instances'].sum()):,} activity instances "
        f"({found.engine}): {totals['hours'].sum():,.0f} h; {shares}.",
        highlight=False,
    )
    parts = [c for c in rows.columns if c.endswith("_s") and c != "waiting_s"]
    listing = Table(
        *(["source"] if per_source else []),
        "activity",
        "waits",
        "waiting (h)",
        *(c.removesuffix("_s") for c in parts),
        title="Waiting by cause (hours)",
    )
    for row in rows.to_dict("records"):
        listing.add_row(
            *([str(row["source_id"])] if per_source else []),
            str(row["activity"]),
            f"{row['waits']:,}",
            f"{row['waiting_s'] / 3600:,.0f}",
            *(f"{row[c] / 3600:,.0f}" for c in parts),
        )
    out.print(listing)
    print_part_notes(found.notes)


def _print(found: Blockers, lang: Literal["nl", "en"]) -> None:
    if not found.blockers:
        out.print(
            "No waiting found in these events." if lang == "en" else "Geen wachttijd gevonden."
        )
        return
    title = "Blockers, costliest first" if lang == "en" else "Knelpunten, duurste eerst"
    table = Table(
        "#",
        "category",
        "reason",
        "activity",
        "waiting (h)",
        "per case (h)",
        "cases",
        "gain",
        title=title,
    )
    for item in found.blockers:
        table.add_row(
            str(item.rank),
            item.category,
            item.reason,
            item.activity,
            f"{item.waiting_s / 3600:,.0f}",
            f"{item.median_case_s / 3600:,.1f}",
            f"{item.cases:,}",
            f"{item.gain:.1%}",
        )
    out.print(table)
    for item in found.blockers:
        out.print(f"{item.rank}. {item.evidence[lang]}", highlight=False)
    categories = found.by_category()
    hours = dict(zip(categories["category"], categories["waiting_h"].astype(float), strict=True))
    total = sum(hours.values()) or 1.0
    shares = ", ".join(f"{name} {value / total:.0%}" for name, value in hours.items())
    shown = "of the blockers shown" if lang == "en" else "van de getoonde knelpunten"
    out.print(f"Waiting by category ({shown}): {shares}", highlight=False)
    for note in found.notes:
        out.print(f"note: {note}", highlight=False)


def _as_dict(found: Blockers) -> dict[str, Any]:
    return {
        "blockers": [
            {
                "rank": item.rank,
                "category": item.category,
                "reason": item.reason,
                "activity": item.activity,
                "waiting_s": item.waiting_s,
                "waiting_work_s": item.waiting_work_s,
                "work_s": item.work_s,
                "median_case_s": item.median_case_s,
                "median_case_work_s": item.median_case_work_s,
                "cases": item.cases,
                "instances": item.instances,
                "causes": dict(item.causes),
                "cycle_time_s": item.cycle_time_s,
                "cycle_time_without_s": item.cycle_time_without_s,
                "evidence": dict(item.evidence),
                "case_ids": list(item.case_ids[:100]),
            }
            for item in found.blockers
        ],
        "by_category": found.by_category().to_dict("records"),
        "waiting_by_cause": found.split.totals().to_dict("records"),
        "trend": found.trend.to_dict("records"),
        "notes": list(found.notes),
    }
