"""Beleidsdoelen: a scorecard per criterion (compliance against the target, what was
not measurable), the findings with the blockers behind the breaches, and the trend."""

from __future__ import annotations

from typing import Any

import dash
from dash import html

from dashboards.components import (
    body,
    draws,
    empty,
    graph,
    number,
    percent,
    table,
)
from dashboards.i18n import t
from dashboards.workspace import Workspace
from knelpunt.reports import figures

dash.register_page(__name__, path="/beleidsdoelen", name="Beleidsdoelen", order=3)


def layout(**_query: Any) -> html.Div:
    return body("criteria-body", "criteria")


@draws("criteria-body")
def _draw(lang: str, sources: list[int] | None, profile: str, ws: Workspace) -> Any:
    found = ws.result("criteria", sources, profile)
    card = found.scorecard(lang)
    if card.empty:
        return empty(lang, "overview.terms.none")
    header = html.Tr(
        [
            html.Th(t(lang, key), scope="col")
            for key in (
                "criteria.criterion",
                "criteria.measured",
                "common.compliance",
                "common.target",
                "criteria.met",
                "criteria.not_measurable",
                "criteria.reference",
            )
        ]
    )
    rows = []
    for row in card.to_dict("records"):
        met = row["met"]
        state = "met" if met is True else ("missed" if met is False else "unknown")
        rows.append(
            html.Tr(
                [
                    html.Td(row["name"]),
                    html.Td(number(row["measured"], lang, 0), className="num"),
                    html.Td(percent(row["compliance"], lang), className="num"),
                    html.Td(
                        ("≤ " if row["direction"] == "at_most" else "≥ ")
                        + percent(row["target"], lang),
                        className="num",
                    ),
                    html.Td(
                        t(lang, "criteria.yes")
                        if met is True
                        else (t(lang, "criteria.no") if met is False else "-"),
                        className=f"state state-{state}",
                    ),
                    html.Td(
                        number(row["not_measurable"], lang, 0),
                        title="; ".join(
                            f"{n}: {why}" for why, n in row["not_measurable_reasons"].items()
                        ),
                        className="num",
                    ),
                    html.Td(row.get("reference") or "", className="reference"),
                ],
                id=f"criterion-{row['criterion']}",
            )
        )
    return html.Div(
        [
            html.H1(t(lang, "criteria.heading")),
            html.P(t(lang, "criteria.intro"), className="intro"),
            html.Section(
                table(header, rows),
                className="panel",
            ),
            html.Section(
                [
                    html.H2(t(lang, "criteria.findings")),
                    html.Ul([html.Li(line) for line in found.summary(lang)], className="findings"),
                ],
                className="panel",
            ),
            html.Section(
                [html.H2(t(lang, "criteria.trend")), _trend(found, lang)], className="panel"
            ),
        ]
    )


def _trend(found: Any, lang: str) -> html.Div:
    fig = figures.criteria_trend(found, compliance_name=t(lang, "common.compliance"))
    return graph(fig, "criteria-trend", height=380)
