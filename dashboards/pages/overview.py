"""Overzicht: cases, events, period, throughput times, the policy terms, the trend by
month and a dotted chart."""

from __future__ import annotations

from typing import Any, Final

import dash
import pandas as pd
from dash import html

from dashboards.components import (
    body,
    card,
    draws,
    empty,
    graph,
    number,
    panel,
    percent,
)
from dashboards.i18n import t
from dashboards.workspace import Workspace
from knelpunt.reports import figures

dash.register_page(__name__, path="/", name="Overzicht", order=0)

# At most this many cases in the dotted chart (a fixed, evenly spread sample).
_DOTTED_CASES: Final = 300


def layout(**_query: Any) -> html.Div:
    return body("overview-body", "overview")


@draws("overview-body")
def _draw(lang: str, sources: list[int] | None, profile: str, ws: Workspace) -> Any:
    summary = ws.result("summary", sources, profile)
    if summary.cases == 0:
        return empty(lang, "empty.selection")
    scorecard = ws.result("scorecard", sources, profile).scorecard(lang)
    q = summary.quantiles()
    zone = summary.zone
    period = (
        f"{pd.Timestamp(summary.start).tz_convert(zone):%d-%m-%Y} – "
        f"{pd.Timestamp(summary.end).tz_convert(zone):%d-%m-%Y}"
    )
    cards = html.Div(
        [
            card(t(lang, "kpi.cases"), number(summary.cases, lang, 0), "kpi-cases"),
            card(t(lang, "kpi.events"), number(summary.events, lang, 0), "kpi-events"),
            card(t(lang, "kpi.period"), period, "kpi-period"),
            card(
                t(lang, "kpi.median"),
                t(lang, "kpi.days", value=number(q["median"], lang)),
                "kpi-median",
            ),
            card(t(lang, "kpi.p90"), t(lang, "kpi.days", value=number(q["p90"], lang)), "kpi-p90"),
        ],
        className="cards",
    )
    return html.Div(
        [
            cards,
            html.Div(
                [
                    panel(t(lang, "overview.throughput"), _throughput(summary, lang), "hist"),
                    panel(t(lang, "overview.terms"), _terms(scorecard, lang), "terms"),
                ],
                className="row",
            ),
            panel(t(lang, "overview.trend"), _trend(summary, lang), "trend"),
            panel(t(lang, "overview.dotted"), _dotted(ws, sources, summary.cases, lang), "dotted"),
        ]
    )


def _throughput(summary: Any, lang: str) -> html.Div:
    fig = figures.throughput(
        summary, x_title=t(lang, "overview.throughput.x"), y_title=t(lang, "overview.throughput.y")
    )
    return graph(fig, "overview-histogram")


def _terms(scorecard: pd.DataFrame, lang: str) -> Any:
    measured = scorecard[scorecard["measured"] > 0]
    if measured.empty:
        return html.P(t(lang, "overview.terms.none"))
    fig = figures.compliance(
        scorecard,
        shown=lambda value: percent(value, lang),
        compliance_name=t(lang, "common.compliance"),
        target_name=t(lang, "common.target"),
    )
    return graph(fig, "overview-terms", height=max(260, 28 * len(measured) + 80))


def _trend(summary: Any, lang: str) -> html.Div:
    fig = figures.months(
        summary,
        started=t(lang, "overview.trend.started"),
        ended=t(lang, "overview.trend.ended"),
        median=t(lang, "overview.trend.median"),
        cases=t(lang, "common.cases"),
    )
    return graph(fig, "overview-trend")


def _dotted(ws: Workspace, sources: list[int] | None, cases: int, lang: str) -> html.Div:
    table = ws.events(sources)
    fig = figures.dotted(
        table,
        cases=_DOTTED_CASES,
        y_title=t(lang, "overview.dotted.y"),
        other=t(lang, "overview.dotted.other"),
    )
    return html.Div(
        [
            graph(fig, "overview-dotted", height=380),
            html.P(
                t(
                    lang,
                    "overview.dotted.note",
                    shown=number(min(_DOTTED_CASES, table.n_cases), lang, 0),
                    cases=number(cases, lang, 0),
                ),
                className="note",
                id="overview-dotted-note",
            ),
        ]
    )
