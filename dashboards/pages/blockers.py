"""Knelpunten (system level): the blockers ranked by cost and grouped by category,
each with its evidence, its counterfactual gain and its trend; why cases wait."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboards.components import (
    CATEGORIES,
    CATEGORY_COLOURS,
    body,
    draws,
    empty,
    graph,
    number,
)
from dashboards.i18n import t
from dashboards.workspace import Workspace
from knelpunt.reports import figures

dash.register_page(__name__, path="/knelpunten", name="Knelpunten", order=2)

# The blockers shown per category (the costliest).
_PER_CATEGORY = 5


def layout(**_query: Any) -> html.Div:
    return body("blockers-body", "blockers")


@draws("blockers-body")
def _draw(lang: str, sources: list[int] | None, profile: str, ws: Workspace) -> Any:
    found = ws.result("blockers", sources, profile)
    if not found.blockers:
        return empty(lang, "empty.selection")
    groups = []
    for category in CATEGORIES:
        mine = [b for b in found.blockers if b.category == category][:_PER_CATEGORY]
        if not mine:
            continue
        groups.append(
            html.Section(
                [
                    html.H2(
                        [
                            html.Span(className="swatch", style=_swatch(category)),
                            t(lang, f"category.{category}"),
                        ],
                    ),
                    html.Ol([_blocker(b, lang) for b in mine], className="blocker-list"),
                ],
                className=f"panel category category-{category}",
                id=f"category-{category}",
            )
        )
    causes = found.split.totals()
    totals = found.by_category()
    cards = html.Div(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(className="swatch", style=_swatch(str(row["category"]))),
                            " ",
                            t(lang, f"category.{row['category']}"),
                        ],
                        className="card-label",
                    ),
                    html.Div(
                        f"{number(row['waiting_h'], lang, 0)} {t(lang, 'common.hours')}",
                        className="card-value",
                    ),
                ],
                className="card",
                id=f"total-{row['category']}",
            )
            for row in totals.to_dict("records")
        ],
        className="cards",
    )
    return html.Div(
        [
            html.H1(t(lang, "blockers.heading")),
            html.P(t(lang, "blockers.intro"), className="intro"),
            cards,
            html.Div(groups, className="categories"),
            html.Div(
                [
                    html.Section(
                        [html.H2(t(lang, "blockers.causes")), _causes(causes, lang)],
                        className="panel",
                    ),
                    html.Section(
                        [html.H2(t(lang, "blockers.trend")), _trend(found, lang)],
                        className="panel",
                    ),
                ],
                className="row",
            ),
            html.Details(
                [
                    html.Summary(t(lang, "blockers.notes")),
                    html.Ul([html.Li(n) for n in found.notes]),
                ],
                className="notes",
            ),
        ]
    )


def _swatch(category: str) -> dict[str, str]:
    return {"backgroundColor": CATEGORY_COLOURS[category]}


def _blocker(blocker: Any, lang: str) -> html.Li:
    before = blocker.cycle_time_s / 86_400
    after = blocker.cycle_time_without_s / 86_400
    return html.Li(
        [
            html.Div(html.Strong(blocker.activity), className="blocker-title"),
            html.Div(
                t(
                    lang,
                    "blockers.cost",
                    hours=number(blocker.waiting_work_s / 3600, lang, 0),
                    cases=number(blocker.cases, lang, 0),
                ),
                className="blocker-cost",
            ),
            html.P(
                blocker.evidence.get(lang) or blocker.evidence.get("en", ""), className="evidence"
            ),
            html.P(
                t(lang, "blockers.gain", before=number(before, lang), after=number(after, lang)),
                className="gain",
            ),
        ],
        className="blocker",
        id=f"blocker-{blocker.rank}",
    )


def _causes(causes: Any, lang: str) -> html.Div:
    names = {cause: t(lang, f"cause.{cause}") for cause in causes["cause"]}
    return graph(
        figures.causes(causes, names=names, hours=t(lang, "common.hours")), "blockers-causes"
    )


def _trend(found: Any, lang: str) -> html.Div:
    fig = figures.blocker_trend(
        found,
        ranks=sorted(int(r) for r in found.trend["rank"].unique())[:_PER_CATEGORY],
        categories={c: t(lang, f"category.{c}") for c in CATEGORIES},
        hours=t(lang, "common.hours"),
    )
    return graph(fig, "blockers-trend")
