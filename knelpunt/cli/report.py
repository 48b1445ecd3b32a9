"""``knelpunt report``: the findings as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from knelpunt import api
from knelpunt.analysis.blockers import find_blockers
from knelpunt.analysis.waiting import split_waiting
from knelpunt.cli._app import (
    NO_FILTERS,
    Filters,
    SourcesOption,
    StoreOption,
    _events,
    _fail,
    _filtered,
    _open,
    _profile,
    _read_groups,
    _resource_hours,
    app,
    audit,
    out,
    with_filters,
)
from knelpunt.cli.blockers import LangOption, ProfileArgument
from knelpunt.cli.criteria import _select
from knelpunt.errors import KnelpuntError
from knelpunt.events.store import DEFAULT_STORE
from knelpunt.reports.html import report

OutOption = Annotated[
    Path, typer.Option("--out", "-o", help="The HTML file to write.", dir_okay=False)
]
CompareOption = Annotated[
    tuple[str, str] | None,
    typer.Option(
        "--compare",
        help="Also compare two sets of cases, as 'knelpunt compare' takes them (e.g. "
        "--compare source=1 source=2).",
        show_default=False,
    ),
]
TitleOption = Annotated[str | None, typer.Option("--title", help="The report's title.")]


@app.command("report")
@with_filters
def write_report(
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    filters: Filters = NO_FILTERS,
    profile: ProfileArgument = "generiek",
    lang: LangOption = "nl",
    title: TitleOption = None,
    compare: CompareOption = None,
    output: OutOption = Path("report.html"),
) -> None:
    """Write the findings (summary, blockers, policy goals, process map and, with
    --compare, a comparison) as one HTML file that works offline."""
    if lang not in ("nl", "en"):
        raise typer.BadParameter("choose nl or en.", param_hint="'--lang'")
    chosen = _profile(profile)
    events = _filtered(store, source, filters)
    groups = _read_groups(store, source, "org:group")
    # The blockers as 'knelpunt blockers' finds them: with each person's own hours.
    own = _resource_hours(store, source, chosen, events)
    with _open(store) as opened:
        sources = api.list_sources(opened)
        versus = None
        labels = ("A", "B")
        if compare is not None and all(compare):
            # The two sets as 'knelpunt compare' draws them: from the whole store.
            whole = _events(store, None)
            teams = _read_groups(store, None, "org:group")
            known = {s.name: s.source_id for s in sources}
            versus = (
                _select(whole, compare[0], known, chosen, teams),
                _select(whole, compare[1], known, chosen, teams),
            )
            labels = compare
        try:
            found = None
            if len(events):
                split = split_waiting(events, profile=chosen, resource_calendars=own)
                found = find_blockers(split, profile=chosen, groups=groups)
            written = report(
                events,
                profile=chosen,
                lang=lang,
                title=title,
                store=opened,
                groups=groups,
                blockers=found,
                versus=versus,
                labels=labels,
                source_names={s.source_id: s.name for s in sources},
                out=output,
            )
        except KnelpuntError as error:
            raise _fail(error) from error
        # A report carries the findings out of the store: audited as an export, as the
        # dashboard's report download is.
        audit(
            opened,
            "export",
            target=output.name,
            details={
                "what": "report",
                "sources": list(source or []),
                "events": len(events),
                "compare": list(compare) if versus is not None and compare else None,
            },
        )
    out.print(f"{written.path}: {len(written.html.encode('utf-8')) / 1e6:.1f} MB")
