"""``knelpunt criteria`` and ``knelpunt compare``: policy goals per case, and two sets
of cases side by side."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

import pandas as pd
import typer
from rich.table import Table

from knelpunt import api
from knelpunt.analysis.compare import Comparison, compare, select_cases
from knelpunt.analysis.criteria import UNKNOWN, CriteriaResult, evaluate_criteria
from knelpunt.cli._app import (
    NO_FILTERS,
    EngineInput,
    EngineOption,
    Filters,
    JsonOption,
    ParquetOption,
    SourcesOption,
    SparkTableOption,
    StoreOption,
    TopOption,
    _events,
    _fail,
    _filtered,
    _moment,
    _open,
    _profile,
    _read_groups,
    _where_on_engine,
    app,
    out,
    print_part_notes,
    with_filters,
)
from knelpunt.cli.blockers import LangOption, ProfileArgument
from knelpunt.errors import FilterError, KnelpuntError
from knelpunt.events.store import DEFAULT_STORE
from knelpunt.mining.projection import EventTable
from knelpunt.profile import Profile

CriterionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--criterion",
        help="Only this criterion of the profile (its id; repeat for more).",
    ),
]
NoBlockersOption = Annotated[
    bool,
    typer.Option("--no-blockers", help="Do not trace breaches to blockers (faster)."),
]
LevelOption = Annotated[
    str,
    typer.Option(
        "--level",
        help="system (all cases), team, or individual (per professional, pseudonymised).",
    ),
]
NamesOption = Annotated[
    bool,
    typer.Option(
        "--real-names",
        help="Show professionals by the names in the log, not pseudonyms (only where "
        "this is allowed).",
    ),
]
_LEVELS = {"team": "team", "individual": "professional", "month": "month", "source": "source"}


@app.command("criteria")
@with_filters
def criteria(
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    filters: Filters = NO_FILTERS,
    profile: ProfileArgument = "generiek",
    criterion: CriterionOption = None,
    level: LevelOption = "system",
    lang: LangOption = "nl",
    no_blockers: NoBlockersOption = False,
    real_names: NamesOption = False,
    top: TopOption = 3,
    engine: EngineOption = None,
    parquet: ParquetOption = None,
    table: SparkTableOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check the profile's policy criteria per case: compliance against the target, the
    cases that cannot be measured and why, and the blockers behind the breaches.

    With --parquet or --table (and --engine spark) the cases are judged where the events
    are, each source by its own task with --level source: the scorecard per source and
    over all, without the blockers (judge one source's store for those)."""
    if lang not in ("nl", "en"):
        raise typer.BadParameter("choose nl or en.", param_hint="'--lang'")
    if level not in ("system", *_LEVELS):
        raise typer.BadParameter(
            "choose system, team, individual, month or source.", param_hint="'--level'"
        )
    on_engine = EngineInput(engine, parquet, table)
    if on_engine.used:
        _criteria_on_engine(
            on_engine, profile, criterion, level, source=source, filters=filters,
            as_json=as_json,
        )  # fmt: skip
        return
    chosen = _profile(profile)
    if not chosen.criteria and criterion is None:
        raise _fail(
            FilterError(
                f"The profile {profile!r} holds no criteria; add a 'criteria:' section "
                "(see docs/profiles.md) or use --profile sociaal-domein or generiek."
            )
        )
    events = _filtered(store, source, filters)
    groups = _read_groups(store, source, "org:group")
    with _open(store) as opened:
        try:
            found = evaluate_criteria(
                events,
                profile=chosen,
                criteria=criterion,
                store=opened,
                groups=groups,
                blockers=not no_blockers,
                pseudonymise=not real_names,
            )
        except KnelpuntError as error:
            raise _fail(error) from error
    language: Literal["nl", "en"] = "nl" if lang == "nl" else "en"
    grouped = found.by(_LEVELS[level]) if level != "system" else None  # type: ignore[arg-type]
    if as_json:
        out.print_json(json.dumps(_criteria_dict(found, grouped, language), default=_plain))
        return
    _print_criteria(found, grouped, language, top=top)


def _criteria_on_engine(
    chosen: EngineInput,
    profile: str,
    criterion: list[str] | None,
    level: str,
    *,
    source: list[int] | None,
    filters: Filters,
    as_json: bool,
) -> None:
    """The criteria judged by DuckDB or Spark where the events are; the scorecard over
    all (the whole log judged as one) or per source (each in its own task)."""
    from knelpunt.engine import compute_criteria

    if not chosen.outside_store:
        raise typer.BadParameter(
            "criteria on the engines read a Parquet export or a Spark table: add --parquet "
            "FOLDER (knelpunt export FOLDER --format parquet --partition-by source) or "
            "--table, or leave out --engine to judge the store's events here.",
            param_hint="'--engine'",
        )
    if level not in ("system", "source"):
        raise typer.BadParameter(
            "on the engines the criteria are judged per source or over all: use --level "
            "source or system (team, individual and month need the store's events).",
            param_hint="'--level'",
        )
    engine, where = _where_on_engine(chosen, filters=filters, sources=source)
    try:
        found = compute_criteria(
            chosen.parquet,
            table=chosen.table,
            engine=engine,
            profile=_profile(profile),
            criteria=criterion,
            filters=where,
            per="source" if level == "source" else None,
        )
    except KnelpuntError as error:
        raise _fail(error) from error
    shown = found.totals() if level == "system" else found.by_source
    if as_json:
        out.print_json(
            json.dumps(
                {
                    "engine": found.engine,
                    "scorecard": _records(shown),
                    "totals": _records(found.totals()),
                    "notes": {str(k): list(v) for k, v in found.notes.items()},
                    "filters": list(found.filters),
                },
                default=_plain,
            )
        )
        return
    table = _scorecard_table(
        _records(shown),
        nl=False,
        title=f"Policy criteria ({found.engine})",
        by_source=level == "source",
    )
    out.print(table)
    print_part_notes(found.notes)


def _scorecard_table(rows: list[dict[str, Any]], *, nl: bool, title: str, by_source: bool) -> Table:
    """A scorecard's rows as a table, with their source first when ``by_source``."""
    table = Table(
        *(["bron" if nl else "source"] if by_source else []),
        "criterium" if nl else "criterion",
        "gemeten" if nl else "measured",
        "voldoet" if nl else "compliance",
        "doel" if nl else "target",
        "gehaald" if nl else "met",
        "niet meetbaar" if nl else "not measurable",
        title=title,
    )
    for row in rows:
        table.add_row(
            *([str(row["source_id"])] if by_source else []),
            str(row["criterion"]),
            f"{row['measured']:,}",
            _percent(row["compliance"]),
            f"{'≤' if row['direction'] == 'at_most' else '≥'} {_percent(row['target'])}",
            _met(row["met"], nl),
            f"{row['not_measurable']:,}",
        )
    return table


def _print_criteria(
    found: CriteriaResult, grouped: pd.DataFrame | None, lang: Literal["nl", "en"], *, top: int
) -> None:
    nl = lang == "nl"
    title = "Beleidsdoelen" if nl else "Policy criteria"
    table = _scorecard_table(_records(found.scorecard(lang)), nl=nl, title=title, by_source=False)
    out.print(table)
    for line in found.summary(lang, top=top):
        out.print(f"- {line}", highlight=False)
    if grouped is not None and not grouped.empty:
        column = grouped.columns[1]
        table = Table(
            "criterium" if nl else "criterion",
            str(column),
            "zaken" if nl else "cases",
            "gemeten" if nl else "measured",
            "voldoet" if nl else "compliance",
        )
        for row in _records(grouped):
            table.add_row(
                str(row["criterion"]),
                "(onbekend)" if nl and row[column] == UNKNOWN else str(row[column]),
                f"{row['cases']:,}",
                f"{row['measured']:,}",
                _percent(row["compliance"]),
            )
        out.print(table)
    for note in found.notes:
        out.print(f"note: {note}", highlight=False)


def _criteria_dict(
    found: CriteriaResult, grouped: pd.DataFrame | None, lang: Literal["nl", "en"]
) -> dict[str, Any]:
    return {
        "scorecard": _records(found.scorecard(lang)),
        "links": _records(found.links),
        "groups": None if grouped is None else _records(grouped),
        "summary": found.summary(lang),
        "notes": list(found.notes),
    }


# -- compare ------------------------------------------------------------------------


SetArgument = Annotated[
    str,
    typer.Argument(
        help="A set of cases: comma-separated source=ID or name, from=DATE, until=DATE "
        "(cases that started then), team=NAME; a bare number is a source. Example: "
        "'source=1,from=2024-01-01'.",
        show_default=False,
    ),
]


@app.command("compare")
def compare_sets(
    a: SetArgument,
    b: SetArgument,
    store: StoreOption = DEFAULT_STORE,
    profile: ProfileArgument = "generiek",
    criterion: CriterionOption = None,
    lang: LangOption = "nl",
    no_blockers: NoBlockersOption = False,
    resamples: Annotated[
        int, typer.Option("--resamples", min=100, help="Bootstrap resamples.")
    ] = 1000,
    top: TopOption = 10,
    as_json: JsonOption = False,
) -> None:
    """Compare two sets of cases (two sources, two periods, two teams): measures and
    criteria with bootstrap intervals, the process-map and the blocker difference."""
    if lang not in ("nl", "en"):
        raise typer.BadParameter("choose nl or en.", param_hint="'--lang'")
    chosen = _profile(profile)
    groups = _read_groups(store, None, "org:group")
    events = _events(store, None)
    with _open(store) as opened:
        known = {s.name: s.source_id for s in api.list_sources(opened)}
        sets = [_select(events, text, known, chosen, groups) for text in (a, b)]
        try:
            found = compare(
                *sets,
                labels=(a, b),
                profile=chosen,
                criteria=criterion,
                store=opened,
                groups=groups,
                blockers=not no_blockers,
                resamples=resamples,
            )
        except KnelpuntError as error:
            raise _fail(error) from error
    language: Literal["nl", "en"] = "nl" if lang == "nl" else "en"
    if as_json:
        out.print_json(json.dumps(_comparison_dict(found, language), default=_plain))
        return
    _print_comparison(found, language, top=top)


def _select(
    events: EventTable,
    text: str,
    known: dict[str, int],
    profile: Profile,
    groups: dict[str, str] | None,
) -> EventTable:
    """The cases one set argument describes."""
    sources: list[int] = []
    since = until = team = None
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, equals, value = part.partition("=")
        if not equals:
            key, value = "source", part
        key, value = key.strip().lower(), value.strip()
        if key == "source":
            if value.isdigit():
                sources.append(int(value))
            elif value in known:
                sources.append(known[value])
            else:
                raise _fail(
                    FilterError(
                        f"No source {value!r} in the store; 'knelpunt sources' lists them "
                        "by number and name."
                    )
                )
        elif key == "from":
            since = _moment(value)
        elif key == "until":
            until = _moment(value)
        elif key == "team":
            team = value
        else:
            raise _fail(
                FilterError(
                    f"Cannot read {part!r} in the set {text!r}; use source=, from=, until= "
                    "or team=, separated by commas."
                )
            )
    try:
        return select_cases(
            events,
            sources=sources or None,
            since=since,
            until=until,
            team=team,
            profile=profile,
            groups=groups,
        )
    except KnelpuntError as error:
        raise _fail(error) from error


def _print_comparison(found: Comparison, lang: Literal["nl", "en"], *, top: int) -> None:
    nl = lang == "nl"
    for line in found.summary(lang):
        out.print(f"- {line}", highlight=False)
    changed = found.edges[found.edges["status"] != "same"]
    changed = changed.head(top or len(changed))
    if not changed.empty:
        table = Table(
            "van" if nl else "from",
            "naar" if nl else "to",
            "zaken A" if nl else "cases A",
            "zaken B" if nl else "cases B",
            "mediaan A (u)" if nl else "median A (h)",
            "mediaan B (u)" if nl else "median B (h)",
            "status",
            title="Proceskaart: verschillen" if nl else "Process map: differences",
        )
        for row in _records(changed):
            table.add_row(
                str(row["source"]),
                str(row["target"]),
                f"{row['share_a']:.0%}",
                f"{row['share_b']:.0%}",
                _hours(row["median_a_h"]),
                _hours(row["median_b_h"]),
                _status(row["status"], nl),
            )
        out.print(table)
    if not found.blockers.empty:
        table = Table(
            "categorie" if nl else "category",
            "oorzaak" if nl else "reason",
            "activiteit" if nl else "activity",
            "rang A" if nl else "rank A",
            "rang B" if nl else "rank B",
            "per zaak A (u)" if nl else "per case A (h)",
            "per zaak B (u)" if nl else "per case B (h)",
            "status",
            title="Knelpunten: verschillen" if nl else "Blockers: differences",
        )
        for row in _records(found.blockers.head(top or len(found.blockers))):
            table.add_row(
                str(row["category"]),
                str(row["reason"]),
                str(row["activity"]),
                _rank(row["rank_a"]),
                _rank(row["rank_b"]),
                _hours(row["per_case_a_h"]),
                _hours(row["per_case_b_h"]),
                _status(row["status"], nl),
            )
        out.print(table)


def _comparison_dict(found: Comparison, lang: Literal["nl", "en"]) -> dict[str, Any]:
    return {
        "labels": list(found.labels),
        "resamples": found.resamples,
        "confidence": found.confidence,
        "kpis": _records(found.kpis),
        "criteria": _records(found.criteria),
        "edges": _records(found.edges),
        "blockers": _records(found.blockers),
        "summary": found.summary(lang),
    }


# -- formatting ---------------------------------------------------------------------


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows as dicts, missing values as None (JSON null, not NaN)."""
    return [
        {str(key): None if _missing(value) else value for key, value in row.items()}
        for row in frame.to_dict("records")
    ]


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and dicts are not missing
        return False


def _plain(value: Any) -> Any:
    """JSON for what pandas and numpy hand over: numbers, NaN as null, the rest as text."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, int | float | bool | str) or value is None:
        return value
    return str(value)


_STATUS_NL = {
    "appeared": "nieuw",
    "disappeared": "verdwenen",
    "changed": "gewijzigd",
    "same": "gelijk",
    "new": "nieuw",
    "gone": "verdwenen",
    "worse": "erger",
    "better": "beter",
}


def _status(value: Any, nl: bool) -> str:
    return _STATUS_NL.get(str(value), str(value)) if nl else str(value)


def _percent(value: Any) -> str:
    return "-" if value is None or value != value else f"{float(value):.1%}"


def _hours(value: Any) -> str:
    return "-" if value is None or value != value else f"{float(value):,.1f}"


def _rank(value: Any) -> str:
    return "-" if value is None or value != value else str(int(value))


def _met(value: Any, nl: bool) -> str:
    if value is None or value != value:
        return "-"
    if nl:
        return "ja" if value else "nee"
    return "yes" if value else "no"
