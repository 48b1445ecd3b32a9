"""Individueel: per professional, under a pseudonym: workload, handovers, the months
worked, and the policy goals on the cases they hold."""

from __future__ import annotations

from typing import Any, Final

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import html

from dashboards.components import body, draws, empty, graph, grid, panel
from dashboards.i18n import t
from dashboards.workspace import Workspace
from knelpunt.analysis.criteria import UNKNOWN

dash.register_page(__name__, path="/individueel", name="Individueel", order=6)

_PEOPLE_TABLE: Final = (
    ("professional", "people.professional"),
    ("team", "team.team"),
    ("cases", "team.cases"),
    ("cases_per_month", "people.cases_per_month"),
    ("instances", "team.instances"),
    ("processing_h", "team.processing_h"),
    ("handovers_out", "team.handovers_out"),
    ("across_out", "team.across_out"),
    ("handovers_in", "team.handovers_in"),
    ("months", "people.months"),
)


def layout(**_query: Any) -> html.Div:
    return body("people-body", "people")


@draws("people-body")
def _draw(lang: str, sources: list[int] | None, profile: str, ws: Workspace) -> Any:
    work = ws.result("teamwork", sources, profile)
    people = work.professionals()
    if people.empty:
        return empty(lang, "empty.selection")
    goals = ws.result("scorecard", sources, profile)
    return html.Div(
        [
            html.H1(t(lang, "people.heading")),
            html.P(
                t(lang, "people.pseudonymised" if work.pseudonymised else "people.named"),
                className="intro",
                id="people-privacy",
            ),
            panel(
                t(lang, "people.table"),
                grid(
                    "people-table",
                    people,
                    _PEOPLE_TABLE,
                    lang,
                    numbers=[c for c, _ in _PEOPLE_TABLE[2:]],
                ),
                "table",
            ),
            panel(t(lang, "people.months.heading"), _heatmap(work, people, lang), "months"),
            panel(t(lang, "people.goals"), _goals(goals, lang), "goals"),
        ]
    )


def _heatmap(work: Any, people: pd.DataFrame, lang: str) -> html.Div:
    """Hours of work per professional and month, by team."""
    order = people["professional"].tolist()
    hours = (
        work.people_workload.assign(hours=work.people_workload["processing_s"] / 3600)
        .pivot_table(index="professional", columns="period", values="hours", aggfunc="sum")
        .reindex(order)
    )
    fig = go.Figure(
        go.Heatmap(
            z=hours.to_numpy(),
            x=[pd.Timestamp(p) for p in hours.columns],
            y=hours.index.tolist(),
            colorscale="Blues",
            colorbar={"title": t(lang, "team.workload.y")},
            hovertemplate=t(lang, "people.months.hover"),
        )
    )
    fig.update_yaxes(autorange="reversed")
    height = max(300, 22 * len(order) + 100)
    return graph(fig, "people-months", height=height)


def _goals(goals: Any, lang: str) -> Any:
    """Compliance per criterion (columns) and case holder (rows)."""
    per = goals.by("professional")
    per = per[(per["measured"] > 0) & (per["professional"] != UNKNOWN)]
    if per.empty:
        return html.P(t(lang, "people.goals.none"), className="note")
    names = {c.id: c.name for c in goals.criteria}
    table = per.pivot_table(
        index="professional", columns="criterion", values="compliance", aggfunc="first"
    )
    table = (table * 100).round(0).rename(columns=names).reset_index()
    columns = [("professional", "people.professional"), *[(c, "") for c in table.columns[1:]]]
    return grid("people-goals", table, columns, lang, numbers=[c for c, _ in columns[1:]])
