"""Cluster: results computed where a national log lives (Spark, or DuckDB on a Parquet
export), brought back as a result folder: the process map, the variants, the
activities' waiting and processing, the waiting by cause per source and the
criteria per source. The folder of folders is ``knelpunt-dashboard --results``."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Final

import dash
from dash import Input, Output, dcc, html
from flask import current_app

import knelpunt as kp
from dashboards.components import card, context, empty, guarded, number, panel, percent, table
from dashboards.i18n import t
from knelpunt.analysis.waiting import PARTS
from knelpunt.reports.figures import map_svg

dash.register_page(__name__, path="/cluster", name="Cluster", order=11)

# The main paths of a national map: a map of every path is unreadable at that size.
_PATHS: Final = 0.8
_VARIANTS: Final = 10


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            html.H1(id="cluster-heading"),
            html.P(id="cluster-intro", className="note"),
            html.Label(id="cluster-folder-label", htmlFor="cluster-folder"),
            dcc.Dropdown(id="cluster-folder", clearable=False, style={"maxWidth": "40rem"}),
            dcc.Loading(html.Div(id="cluster-body")),
        ],
        className="cluster",
    )


def _home() -> Path | None:
    folder = current_app.config.get("KNELPUNT_RESULTS")
    return Path(folder) if folder else None


@dash.callback(
    Output("cluster-heading", "children"),
    Output("cluster-intro", "children"),
    Output("cluster-folder-label", "children"),
    Output("cluster-folder", "options"),
    Output("cluster-folder", "value"),
    Input("ctx", "data"),
)
@guarded
def _folders(ctx: Any) -> tuple[Any, ...]:
    lang = context(ctx)[0]
    home = _home()
    found = kp.find_results(home) if home is not None else []
    options = [{"label": p.name, "value": str(p)} for p in found]
    return (
        t(lang, "cluster.heading"),
        t(lang, "cluster.intro"),
        t(lang, "cluster.folder"),
        options,
        options[-1]["value"] if options else None,
    )


@dash.callback(
    Output("cluster-body", "children"),
    Input("ctx", "data"),
    Input("cluster-folder", "value"),
)
@guarded
def _draw(ctx: Any, folder: str | None) -> Any:
    lang = context(ctx)[0]
    home = _home()
    if folder is None or home is None or Path(folder) not in kp.find_results(home):
        return empty(lang, "cluster.none" if home is None else "cluster.empty")
    found = kp.read_relational(folder)
    return [
        _summary(found, lang),
        _map(found, lang),
        _variants(found, lang),
        *([] if found.activity_times is None else [_times(found, lang)]),
        *([] if found.waiting is None else [_waiting(found, lang)]),
        *([] if found.criteria is None else [_criteria(found, lang)]),
    ]


def _summary(found: kp.RelationalResult, lang: str) -> html.Div:
    shown = found.process_map
    filters = "; ".join(found.filters) or t(lang, "cluster.all")
    return html.Div(
        [
            html.Div(
                [
                    card(t(lang, "cluster.engine"), found.engine, "cluster-engine"),
                    card(t(lang, "cluster.events"), number(shown.events, lang, 0), "c-events"),
                    card(t(lang, "cluster.cases"), number(shown.cases, lang, 0), "c-cases"),
                    card(
                        t(lang, "cluster.variants"),
                        number(len(found.variants), lang, 0),
                        "cluster-variants",
                    ),
                ],
                className="cards",
            ),
            html.P(t(lang, "cluster.filters", filters=filters), className="note"),
            *[html.P(note, className="note") for note in shown.notes],
        ]
    )


def _map(found: kp.RelationalResult, lang: str) -> html.Section:
    main = kp.simplify_map(found.process_map, paths=_PATHS)
    drawn = map_svg(main, label=lambda n: number(n, lang, 0))
    source = "data:image/svg+xml;base64," + base64.b64encode(drawn.encode()).decode()
    return panel(
        t(lang, "cluster.map", share=percent(_PATHS, lang)),
        html.Img(src=source, alt=t(lang, "cluster.map.alt"), className="cluster-map"),
        "cluster-map",
    )


def _header(lang: str, keys: list[str], *, raw: tuple[str, ...] = ()) -> html.Tr:
    return html.Tr(
        [html.Th(t(lang, k), scope="col") for k in keys] + [html.Th(r, scope="col") for r in raw]
    )


def _variants(found: kp.RelationalResult, lang: str) -> html.Section:
    rows = [
        html.Tr(
            [
                html.Td(str(row["variant"])),
                html.Td(" → ".join(row["activities"])),
                html.Td(number(row["cases"], lang, 0), className="num"),
                html.Td(percent(row["share"], lang), className="num"),
                html.Td(number(row["median_s"] / 86_400, lang, 1), className="num"),
            ]
        )
        for row in found.variants.head(_VARIANTS).to_dict("records")
    ]
    keys = ["cluster.variant", "cluster.path", "cluster.cases", "cluster.share", "cluster.days"]
    return panel(t(lang, "cluster.variants.title"), table(_header(lang, keys), rows), "c-var")


def _times(found: kp.RelationalResult, lang: str) -> html.Section:
    assert found.activity_times is not None
    rows = [
        html.Tr(
            [
                html.Td(str(row["activity"])),
                html.Td(number(row["instances"], lang, 0), className="num"),
                html.Td(number(row["waiting_median_s"] / 3600, lang, 1), className="num"),
                html.Td(number(row["processing_median_s"] / 3600, lang, 1), className="num"),
                html.Td(percent(row["estimated_share"], lang), className="num"),
            ]
        )
        for row in found.activity_times.to_dict("records")
    ]
    keys = [
        "cluster.activity",
        "cluster.instances",
        "cluster.waiting",
        "cluster.processing",
        "cluster.estimated",
    ]
    return panel(t(lang, "cluster.times"), table(_header(lang, keys), rows), "cluster-times")


def _waiting(found: kp.RelationalResult, lang: str) -> html.Section:
    assert found.waiting is not None
    per_source = found.waiting.groupby("source_id")[
        ["waiting_s", *(f"{part}_s" for part in PARTS)]
    ].sum()
    rows = [
        html.Tr(
            [
                html.Td(str(source)),
                html.Td(number(row["waiting_s"] / 3600, lang, 0), className="num"),
                *[
                    html.Td(
                        percent(
                            row[f"{part}_s"] / row["waiting_s"] if row["waiting_s"] else 0, lang
                        ),
                        className="num",
                    )
                    for part in PARTS
                ],
            ]
        )
        for source, row in zip(per_source.index, per_source.to_dict("records"), strict=True)
    ]
    causes = tuple(t(lang, f"cause.{part}") for part in PARTS)
    header = _header(lang, ["cluster.source", "cluster.waiting.hours"], raw=causes)
    return panel(t(lang, "cluster.waiting.title"), table(header, rows), "cluster-waiting")


def _criteria(found: kp.RelationalResult, lang: str) -> html.Section:
    assert found.criteria is not None
    rows = [
        html.Tr(
            [
                html.Td(str(row["source_id"])),
                html.Td(str(row["name"])),
                html.Td(number(row["measured"], lang, 0), className="num"),
                html.Td(percent(row["compliance"], lang), className="num"),
                html.Td(
                    f"{'≤' if row['direction'] == 'at_most' else '≥'} "
                    f"{percent(row['target'], lang)}",
                    className="num",
                ),
            ]
        )
        for row in found.criteria.to_dict("records")
    ]
    keys = [
        "cluster.source",
        "cluster.criterion",
        "cluster.measured",
        "common.compliance",
        "common.target",
    ]
    return panel(t(lang, "cluster.criteria"), table(_header(lang, keys), rows), "c-criteria")
