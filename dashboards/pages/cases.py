"""Zaken en varianten: the variants and the cases in searchable grids, and the
timeline of a chosen case."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html

import knelpunt as kp
from dashboards.components import (
    context,
    draws,
    empty,
    graph,
    grid,
    guarded,
    workspace,
)
from dashboards.i18n import t
from dashboards.workspace import Workspace

dash.register_page(__name__, path="/zaken", name="Zaken en varianten", order=4)


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            dcc.Loading(html.Div(id="cases-body")),
            html.Div(id="case-timeline", className="panel"),
        ],
        className="cases",
    )


@draws("cases-body")
def _draw(lang: str, sources: list[int] | None, profile: str, ws: Workspace) -> Any:
    variants = ws.result("variants", sources, profile)
    cases = ws.result("cases", sources, profile)
    if cases.empty:
        return empty(lang, "empty.selection")
    variant_rows = variants.assign(
        activities=variants["activities"].map(" → ".join),
        share=variants["share"] * 100,
        median_days=variants["median_s"] / 86_400,
    )
    case_rows = cases.assign(
        start=cases["start"].dt.strftime("%Y-%m-%d %H:%M"),
        end=cases["end"].dt.strftime("%Y-%m-%d %H:%M"),
        days=cases["duration_s"] / 86_400,
        case_id=cases["case_id"].astype(str),
    )
    return html.Div(
        [
            html.H1(t(lang, "cases.heading")),
            html.Section(
                [
                    html.H2(t(lang, "cases.variants")),
                    grid(
                        "variants-grid",
                        variant_rows,
                        [
                            ("variant", "column.variant"),
                            ("cases", "kpi.cases"),
                            ("share", "column.share"),
                            ("median_days", "column.median_days"),
                            ("activities", "column.activities"),
                        ],
                        lang,
                        height=320,
                        numbers=("variant", "cases", "share", "median_days"),
                    ),
                ],
                className="panel",
            ),
            html.Section(
                [
                    html.H2(t(lang, "cases.cases")),
                    html.Label(t(lang, "cases.search"), htmlFor="cases-search"),
                    dcc.Input(
                        id="cases-search",
                        type="search",
                        placeholder=t(lang, "cases.search"),
                        debounce=True,
                        className="search",
                    ),
                    grid(
                        "cases-grid",
                        case_rows,
                        [
                            ("source_id", "column.source_id"),
                            ("case_id", "column.case_id"),
                            ("events", "column.events"),
                            ("start", "column.start"),
                            ("end", "column.end"),
                            ("days", "column.days"),
                            ("resources", "column.resources"),
                            ("handovers", "column.handovers"),
                            ("variant", "column.variant"),
                        ],
                        lang,
                        numbers=("events", "days", "resources", "handovers", "variant"),
                    ),
                ],
                className="panel",
            ),
        ]
    )


@dash.callback(
    Output("cases-grid", "dashGridOptions"),
    Input("cases-search", "value"),
    State("cases-grid", "dashGridOptions"),
    prevent_initial_call=True,
)
def _search(text: str | None, options: dict[str, Any] | None) -> dict[str, Any]:
    return {**(options or {}), "quickFilterText": text or ""}


@dash.callback(
    Output("case-timeline", "children"),
    Input("cases-grid", "selectedRows"),
    State("ctx", "data"),
)
@guarded
def _timeline(rows: Any, ctx: Any) -> Any:
    lang, sources, _profile = context(ctx)
    if not rows:
        return html.P(t(lang, "cases.pick"), className="note")
    row = rows[0]
    table = workspace().events(sources)
    one = kp.filter_events(table, cases=[(int(row["source_id"]), str(row["case_id"]))])
    frame = one.to_frame()
    frame["time"] = pd.to_datetime(frame["time_us"], unit="us", utc=True)
    fig = go.Figure(
        go.Scatter(
            x=frame["time"],
            y=frame["activity"],
            mode="markers+lines",
            marker={"size": 10, "color": "#0072B2"},
            text=frame["resource"].fillna(""),
            hovertemplate="%{y}<br>%{x}<br>%{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title=t(lang, "common.activity"))
    return [
        html.H2(t(lang, "cases.timeline", case=row["case_id"])),
        graph(
            fig,
            "case-timeline-graph",
            height=max(260, 26 * frame["activity"].nunique() + 80),
        ),
    ]
