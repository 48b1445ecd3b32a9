"""Vergelijken: two sets of sources side by side: measures and policy goals with
their bootstrap intervals, the process-map difference and the blocker difference."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, dcc, html

from dashboards.components import context, grid, guarded, number, source_options, workspace
from dashboards.i18n import t

dash.register_page(__name__, path="/vergelijken", name="Vergelijken", order=6)


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            html.H1(id="compare-heading"),
            html.P(id="compare-intro", className="intro"),
            html.Div(
                [
                    html.Div(
                        [
                            html.Label(id="compare-a-label", htmlFor="compare-a"),
                            dcc.Dropdown(id="compare-a", multi=True),
                        ],
                        className="field",
                    ),
                    html.Div(
                        [
                            html.Label(id="compare-b-label", htmlFor="compare-b"),
                            dcc.Dropdown(id="compare-b", multi=True),
                        ],
                        className="field",
                    ),
                ],
                className="fields",
            ),
            dcc.Loading(html.Div(id="compare-body")),
        ],
        className="compare",
    )


@dash.callback(
    Output("compare-heading", "children"),
    Output("compare-intro", "children"),
    Output("compare-a-label", "children"),
    Output("compare-b-label", "children"),
    Output("compare-a", "options"),
    Output("compare-b", "options"),
    Input("ctx", "data"),
)
def _labels(ctx: Any) -> tuple[Any, ...]:
    lang = context(ctx)[0]
    options = source_options()
    return (
        t(lang, "compare.heading"),
        t(lang, "compare.intro"),
        t(lang, "compare.a"),
        t(lang, "compare.b"),
        options,
        options,
    )


@dash.callback(
    Output("compare-body", "children"),
    Input("compare-a", "value"),
    Input("compare-b", "value"),
    Input("ctx", "data"),
)
@guarded
def _draw(a: list[int] | None, b: list[int] | None, ctx: Any) -> Any:
    lang, _sources, profile = context(ctx)
    if not a or not b:
        return html.P(t(lang, "compare.pick"), className="note")
    labels = (
        "A (" + ", ".join(map(str, sorted(a))) + ")",
        "B (" + ", ".join(map(str, sorted(b))) + ")",
    )
    found = workspace().compare(a, b, profile, labels=labels)
    measures = found.to_frame()
    measures = measures.assign(
        interval=[
            f"{number(low, lang, 2)} .. {number(high, lang, 2)}" if low == low else "-"
            for low, high in zip(measures["low"], measures["high"], strict=True)
        ],
        significant=measures["significant"].map(
            {True: t(lang, "criteria.yes"), False: t(lang, "criteria.no")}
        ),
    )
    edges = found.edges[found.edges["status"] != "same"]
    edges = edges.assign(status=[t(lang, f"status.{v}") for v in edges["status"]])
    blockers = found.blockers.assign(
        status=[t(lang, f"status.{v}") for v in found.blockers["status"]],
        category=[t(lang, f"category.{v}") for v in found.blockers["category"]],
    )
    return html.Div(
        [
            html.Section(
                [
                    html.H2(t(lang, "compare.measures")),
                    html.Ul([html.Li(line) for line in found.summary(lang)], id="compare-lines"),
                    grid(
                        "compare-measures",
                        measures,
                        [
                            ("kpi", "column.measure"),
                            ("a", "compare.a"),
                            ("b", "compare.b"),
                            ("delta", "column.delta"),
                            ("interval", "column.interval"),
                            ("significant", "column.significant"),
                        ],
                        lang,
                        height=380,
                        numbers=("a", "b", "delta"),
                    ),
                ],
                className="panel",
            ),
            html.Section(
                [
                    html.H2(t(lang, "compare.edges")),
                    grid(
                        "compare-edges",
                        edges,
                        [
                            ("source", "column.source"),
                            ("target", "column.target"),
                            ("cases_a", "compare.a"),
                            ("cases_b", "compare.b"),
                            ("status", "column.status"),
                        ],
                        lang,
                        height=320,
                    ),
                ],
                className="panel",
            ),
            html.Section(
                [
                    html.H2(t(lang, "compare.blockers")),
                    grid(
                        "compare-blockers",
                        blockers,
                        [
                            ("activity", "common.activity"),
                            ("category", "common.category"),
                            ("rank_a", "compare.a"),
                            ("rank_b", "compare.b"),
                            ("status", "column.status"),
                        ],
                        lang,
                        height=320,
                    ),
                ],
                className="panel",
            ),
        ]
    )
