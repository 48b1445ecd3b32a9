"""Vergelijken: two sets of sources side by side: measures and policy goals with
their bootstrap intervals, the process-map difference and the blocker difference."""

from __future__ import annotations

from typing import Any, Final

import dash
from dash import Input, Output, dcc, html

from dashboards.components import context, grid, guarded, number, source_options, workspace
from dashboards.i18n import t
from knelpunt.mining.organisation import OTHER

dash.register_page(__name__, path="/vergelijken", name="Vergelijken", order=8)

_SIDES: Final = ("a", "b")
_PARTS: Final = ("label", "sources-label", "period-label", "team-label")
# The inputs of one set, and the keys they have in it (see Workspace.compare).
_FIELDS: Final = (
    ("", "value"),
    ("-period", "start_date"),
    ("-period", "end_date"),
    ("-team", "value"),
)
_KEYS: Final = ("sources", "since", "until", "team")


def _label(name: str, chosen: dict[str, Any], lang: str) -> str:
    """A set in words: "A (bronnen 1, 2; 2025-01-01 – 2025-03-31; team jeugd)"."""
    parts = []
    if chosen["sources"]:
        parts.append(t(lang, "compare.sources", ids=", ".join(map(str, sorted(chosen["sources"])))))
    if chosen["since"] or chosen["until"]:
        parts.append(f"{chosen['since'] or '…'} – {chosen['until'] or '…'}")
    if chosen["team"]:
        parts.append(t(lang, "compare.team", team=chosen["team"]))
    return f"{name} ({'; '.join(parts) or t(lang, 'compare.everything')})"


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            html.H1(id="compare-heading"),
            html.P(id="compare-intro", className="intro"),
            html.Div([_set_fields(side) for side in _SIDES], className="row"),
            dcc.Loading(html.Div(id="compare-body")),
        ],
        className="compare",
    )


def _set_fields(side: str) -> html.Fieldset:
    """The choice of one set: sources (none: all), a period the cases started in, a team."""
    return html.Fieldset(
        [
            html.Legend(id=f"compare-{side}-label"),
            html.Div(
                [
                    html.Label(id=f"compare-{side}-sources-label", htmlFor=f"compare-{side}"),
                    dcc.Dropdown(id=f"compare-{side}", multi=True),
                ],
                className="field",
            ),
            html.Div(
                [
                    html.Div(
                        [
                            html.Label(
                                id=f"compare-{side}-period-label",
                                htmlFor=f"compare-{side}-since",
                            ),
                            dcc.DatePickerRange(
                                id=f"compare-{side}-period",
                                start_date_id=f"compare-{side}-since",
                                end_date_id=f"compare-{side}-until",
                                display_format="YYYY-MM-DD",
                                first_day_of_week=1,
                                clearable=True,
                            ),
                        ],
                        className="field",
                    ),
                    html.Div(
                        [
                            html.Label(
                                id=f"compare-{side}-team-label", htmlFor=f"compare-{side}-team"
                            ),
                            dcc.Dropdown(id=f"compare-{side}-team"),
                        ],
                        className="field",
                    ),
                ],
                className="fields",
            ),
        ],
        className="panel set",
    )


@dash.callback(
    Output("compare-heading", "children"),
    Output("compare-intro", "children"),
    *[Output(f"compare-{side}-{part}", "children") for side in _SIDES for part in _PARTS],
    *[Output(f"compare-{side}", "options") for side in _SIDES],
    *[Output(f"compare-{side}-team", "options") for side in _SIDES],
    Input("ctx", "data"),
)
@guarded
def _labels(ctx: Any) -> tuple[Any, ...]:
    lang, _, profile = context(ctx)
    options = source_options()
    teams = workspace().result("teamwork", None, profile).teams["team"]
    known = [team for team in teams if team != OTHER]
    return (
        t(lang, "compare.heading"),
        t(lang, "compare.intro"),
        *[t(lang, f"compare.{side}.{part}") for side in _SIDES for part in _PARTS],
        *[options for _ in _SIDES],
        *[known for _ in _SIDES],
    )


@dash.callback(
    Output("compare-body", "children"),
    *[Input(f"compare-{side}{field}", prop) for side in _SIDES for field, prop in _FIELDS],
    Input("ctx", "data"),
)
@guarded
def _draw(*values: Any) -> Any:
    *chosen, ctx = values
    lang, _sources, profile = context(ctx)
    a, b = (
        {key: value or None for key, value in zip(_KEYS, chosen[i : i + 4], strict=True)}
        for i in (0, 4)
    )
    if not any(a.values()) or not any(b.values()) or a == b:
        return html.P(t(lang, "compare.pick"), className="note")
    labels = (_label("A", a, lang), _label("B", b, lang))
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
