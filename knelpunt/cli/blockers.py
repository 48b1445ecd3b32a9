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
    Filters,
    JsonOption,
    SourcesOption,
    StoreOption,
    TopOption,
    _fail,
    _filtered,
    _profile,
    _read_groups,
    _resource_hours,
    app,
    out,
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
