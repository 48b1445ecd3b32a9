"""Zaken en varianten: the variants and the cases in searchable grids, and the
timeline of a chosen case. The cases stay on the server: their grid asks for them a
block at a time (:func:`dashboards.components.served_grid`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Final

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
    served_grid,
    serves,
    shown_store,
    workspace,
)
from dashboards.i18n import t
from dashboards.workspace import Workspace

dash.register_page(__name__, path="/zaken", name="Zaken en varianten", order=4)


CASE_COLUMNS: Final = (
    ("source_id", "column.source_id"),
    ("case_id", "column.case_id"),
    ("events", "column.events"),
    ("start", "column.start"),
    ("end", "column.end"),
    ("days", "column.days"),
    ("resources", "column.resources"),
    ("handovers", "column.handovers"),
    ("variant", "column.variant"),
)
CASE_NUMBERS: Final = ("events", "days", "resources", "handovers", "variant")

# The cases as their grid shows them, by the workspace's cases table they come from
# (the workspace keeps that one per store state): each block asks for them again.
_SHOWN: OrderedDict[int, tuple[pd.DataFrame, pd.DataFrame]] = OrderedDict()
_SHOWN_LOCK: Final = threading.Lock()
_SHOWN_KEPT: Final = 4


def case_rows(sources: list[int] | None, profile: str, ws: Workspace) -> pd.DataFrame:
    """The cases of these sources in the fields of the cases grid."""
    cases = ws.result("cases", sources, profile)
    with _SHOWN_LOCK:
        kept = _SHOWN.get(id(cases))
        if kept is not None and kept[0] is cases:
            _SHOWN.move_to_end(id(cases))
            return kept[1]
    shown: pd.DataFrame = cases.assign(
        start=cases["start"].dt.strftime("%Y-%m-%d %H:%M"),
        end=cases["end"].dt.strftime("%Y-%m-%d %H:%M"),
        days=cases["duration_s"] / 86_400,
        case_id=cases["case_id"].astype(str),
    )[[field for field, _ in CASE_COLUMNS]]
    with _SHOWN_LOCK:
        _SHOWN[id(cases)] = (cases, shown)  # the table itself kept: its id stays its own
        while len(_SHOWN) > _SHOWN_KEPT:
            _SHOWN.popitem(last=False)
    return shown


# The spinner shows while the page is drawn, not for each block of cases.
_DRAWING: Final[Any] = {"cases-body": "children"}

serves("cases-grid", case_rows, search_id="cases-search", count_key="cases.count")


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            dcc.Loading(html.Div(id="cases-body"), target_components=_DRAWING),
            shown_store("cases-body"),
            html.Div(id="case-timeline", className="panel"),
        ],
        className="cases",
    )


# The grid fetches its own rows: drawn whole for another choice, not in place.
@draws("cases-body", in_place=False)
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
                    served_grid(
                        "cases-grid",
                        case_rows(sources, profile, ws).head(0),
                        CASE_COLUMNS,
                        lang,
                        row_id=("source_id", "case_id"),
                        numbers=CASE_NUMBERS,
                    ),
                ],
                className="panel",
            ),
        ]
    )


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
