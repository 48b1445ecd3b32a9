"""Proceskaart: the process map (activity instances, directly follows), frequency or
performance overlay, a Disco-style slider for the share of paths shown, blockers in
their category colour; clicking an activity or a path shows its figures."""

from __future__ import annotations

import math
from typing import Any, Final

import dash
import dash_cytoscape as cyto
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

import knelpunt as kp
from dashboards.components import (
    CATEGORY_COLOURS,
    aria,
    context,
    empty,
    guarded,
    number,
    workspace,
)
from dashboards.i18n import t
from dashboards.workspace import ACTIVITY_STEPS

dash.register_page(__name__, path="/proceskaart", name="Proceskaart", order=1)
cyto.load_extra_layouts()

_STATISTICS: Final = ("median", "mean", "p90", "total")
_START: Final = "▶"
# The slowest cases listed for a clicked path.
_CASES_SHOWN: Final = 10
_END: Final = "■"


def layout(**_query: Any) -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.Label(id="map-overlay-label", htmlFor="map-overlay"),
                            dcc.RadioItems(
                                id="map-overlay",
                                options=_overlays("nl"),
                                value="frequency",
                                inline=True,
                                persistence=True,
                                persistence_type="session",
                            ),
                        ]
                    ),
                    html.Div(
                        [
                            html.Label(id="map-statistic-label", htmlFor="map-statistic"),
                            dcc.Dropdown(
                                id="map-statistic",
                                options=_statistics("nl"),
                                value="median",
                                clearable=False,
                                persistence=True,
                                persistence_type="session",
                                style={"width": "12rem"},
                            ),
                        ]
                    ),
                    html.Div(
                        [
                            html.Label(id="map-clock-label", htmlFor="map-clock"),
                            dcc.RadioItems(
                                id="map-clock",
                                options=_clocks("nl"),
                                value="calendar",
                                inline=True,
                                persistence=True,
                                persistence_type="session",
                            ),
                        ]
                    ),
                    html.Div(
                        [
                            html.Label(id="map-activities-label", htmlFor="map-activities"),
                            dcc.Slider(
                                id="map-activities",
                                min=ACTIVITY_STEPS[0],
                                max=ACTIVITY_STEPS[-1],
                                step=ACTIVITY_STEPS[1] - ACTIVITY_STEPS[0],
                                value=100,
                                marks={10: "10%", 50: "50%", 100: "100%"},
                                persistence=True,
                                persistence_type="session",
                            ),
                        ],
                        className="slider",
                    ),
                    html.Div(
                        [
                            html.Label(id="map-paths-label", htmlFor="map-paths"),
                            dcc.Slider(
                                id="map-paths",
                                min=0,
                                max=100,
                                step=5,
                                value=30,
                                marks={0: "0%", 50: "50%", 100: "100%"},
                                persistence=True,
                                persistence_type="session",
                            ),
                        ],
                        className="slider",
                    ),
                ],
                className="map-controls",
            ),
            html.P(id="map-legend", className="note"),
            dcc.Loading(
                html.Div(id="map-body", children=_graph([]), className="map-frame"),
            ),
            html.Div(id="map-details", className="panel details", **aria(live="polite")),
        ],
        className="process-map",
    )


def _overlays(lang: str) -> list[dict[str, str]]:
    return [
        {"label": t(lang, f"map.overlay.{v}"), "value": v} for v in ("frequency", "performance")
    ]


def _clocks(lang: str) -> list[dict[str, str]]:
    return [{"label": t(lang, f"map.clock.{v}"), "value": v} for v in ("calendar", "working")]


def _options(activities: int | None, clock: str | None) -> dict[str, Any]:
    """The map's options for the workspace: the activities' share, the clock."""
    return {"activities": (activities or 100) / 100, "working": clock == "working"}


def _statistics(lang: str) -> list[dict[str, str]]:
    return [{"label": t(lang, f"map.statistic.{v}"), "value": v} for v in _STATISTICS]


def _graph(elements: list[dict[str, Any]]) -> cyto.Cytoscape:
    # Tall enough that a long chain of steps stays readable when fitted.
    nodes = sum(1 for e in elements if "source" not in e["data"])
    height = min(2400, max(600, 64 * nodes))
    return cyto.Cytoscape(
        id="map-graph",
        elements=elements,
        layout={"name": "dagre", "rankDir": "TB", "nodeSep": 40, "rankSep": 45, "padding": 20},
        style={"width": "100%", "height": f"{height}px"},
        stylesheet=_STYLE,
        minZoom=0.2,
        maxZoom=3,
    )


_STYLE: Final = [
    {
        "selector": "node",
        "style": {
            "label": "data(label)",
            "shape": "round-rectangle",
            "width": "label",
            "height": "label",
            "padding": "10px",
            "text-wrap": "wrap",
            "text-valign": "center",
            "font-size": "12px",
            "background-color": "#EAF2FA",
            "border-width": 2,
            "border-color": "#5A6B7B",
            "color": "#111111",
        },
    },
    {
        "selector": "node[colour]",
        "style": {"border-color": "data(colour)", "border-width": 4},
    },
    {
        "selector": "node.terminal",
        "style": {"shape": "ellipse", "background-color": "#FFFFFF", "font-size": "16px"},
    },
    {
        "selector": "edge",
        "style": {
            "label": "data(label)",
            "curve-style": "bezier",
            "target-arrow-shape": "triangle",
            "width": "data(width)",
            "line-color": "#8C99A6",
            "target-arrow-color": "#8C99A6",
            "font-size": "11px",
            "text-background-color": "#FFFFFF",
            "text-background-opacity": 0.85,
            "text-background-padding": "2px",
        },
    },
    {
        "selector": "edge[colour]",
        "style": {"line-color": "data(colour)", "target-arrow-color": "data(colour)"},
    },
    {"selector": ":selected", "style": {"overlay-opacity": 0.2, "overlay-color": "#000000"}},
]


@dash.callback(
    Output("map-overlay-label", "children"),
    Output("map-overlay", "options"),
    Output("map-statistic-label", "children"),
    Output("map-statistic", "options"),
    Output("map-paths-label", "children"),
    Output("map-activities-label", "children"),
    Output("map-clock-label", "children"),
    Output("map-clock", "options"),
    Output("map-legend", "children"),
    Input("ctx", "data"),
)
def _labels(ctx: Any) -> tuple[Any, ...]:
    lang = context(ctx)[0]
    return (
        t(lang, "map.overlay"),
        _overlays(lang),
        t(lang, "map.statistic"),
        _statistics(lang),
        t(lang, "map.paths"),
        t(lang, "map.activities"),
        t(lang, "map.clock"),
        _clocks(lang),
        t(lang, "map.legend"),
    )


@dash.callback(
    Output("map-body", "children"),
    Input("ctx", "data"),
    Input("map-overlay", "value"),
    Input("map-statistic", "value"),
    Input("map-paths", "value"),
    Input("map-activities", "value"),
    Input("map-clock", "value"),
)
@guarded
def _draw(ctx: Any, overlay: str, statistic: str, paths: int, activities: int, clock: str) -> Any:
    lang, sources, profile = context(ctx)
    ws = workspace()
    if not ws.sources():
        return empty(lang, "empty.store")
    whole = ws.result("map", sources, profile, **_options(activities, clock))
    found = kp.simplify_map(whole, paths=(paths or 0) / 100)
    if found.cases == 0:
        return empty(lang, "empty.selection")
    blockers = ws.result("blockers", sources, profile)
    return _graph(_elements(found, blockers, overlay, statistic or "median", lang))


def _elements(
    found: kp.ProcessMap, blockers: kp.Blockers, overlay: str, statistic: str, lang: str
) -> list[dict[str, Any]]:
    largest: dict[str, Any] = {}
    for found_blocker in blockers.blockers:  # costliest first
        if found_blocker.category != "unclassified":
            largest.setdefault(found_blocker.activity, found_blocker)
    elements: list[dict[str, Any]] = []
    counts = dict(zip(found.activities["activity"], found.activities["count"], strict=True))
    cases = dict(zip(found.activities["activity"], found.activities["cases"], strict=True))
    shown = set(found.edges["source"]) | set(found.edges["target"])
    shown |= set(found.start_activities) | set(found.end_activities)
    for index, activity in enumerate(sorted(shown)):
        data: dict[str, Any] = {
            "id": f"a{index}",
            "name": activity,
            "label": f"{activity}\n{number(counts.get(activity, 0), lang, 0)}",
            "count": int(counts.get(activity, 0)),
            "cases": int(cases.get(activity, 0)),
        }
        blocker = largest.get(activity)
        if blocker is not None:
            data["colour"] = CATEGORY_COLOURS[blocker.category]
            data["blocker"] = t(
                lang,
                "map.blocker",
                category=t(lang, f"category.{blocker.category}"),
                evidence=blocker.evidence.get(lang) or blocker.evidence.get("en", ""),
            )
        elements.append({"data": data})
    ids = {e["data"]["name"]: e["data"]["id"] for e in elements}
    elements.append({"data": {"id": "start", "label": _START}, "classes": "terminal"})
    elements.append({"data": {"id": "end", "label": _END}, "classes": "terminal"})
    top = max([int(c) for c in found.edges["count"]] or [1])
    for activity, count in found.start_activities.items():
        if activity in ids:
            elements.append(_edge("start", ids[activity], count, top, number(count, lang, 0)))
    for activity, count in found.end_activities.items():
        if activity in ids:
            elements.append(_edge(ids[activity], "end", count, top, number(count, lang, 0)))
    for index, row in enumerate(found.edges.to_dict("records")):
        seconds = {s: float(row[f"{s}_s"]) for s in _STATISTICS}
        label = (
            number(row["count"], lang, 0)
            if overlay != "performance"
            else _duration(seconds[statistic], lang)
        )
        edge = _edge(ids[row["source"]], ids[row["target"]], int(row["count"]), top, label)
        edge["data"].update(
            id=f"e{index}",
            source_name=row["source"],
            target_name=row["target"],
            cases=int(row["cases"]),
            **{f"{s}_text": _duration(v, lang) for s, v in seconds.items()},
        )
        blocker = largest.get(row["target"])
        if blocker is not None:
            edge["data"]["colour"] = CATEGORY_COLOURS[blocker.category]
        elements.append(edge)
    return elements


def _edge(source: str, target: str, count: int, top: int, label: str) -> dict[str, Any]:
    width = 1 + 7 * math.log1p(count) / math.log1p(top)
    return {
        "data": {
            "id": f"{source}-{target}",
            "source": source,
            "target": target,
            "label": label,
            "count": count,
            "width": round(width, 2),
        }
    }


def _duration(seconds: float, lang: str) -> str:
    if seconds != seconds:
        return "-"
    if seconds >= 86_400:
        return f"{number(seconds / 86_400, lang)} d"
    if seconds >= 3600:
        return f"{number(seconds / 3600, lang)} u" if lang == "nl" else f"{seconds / 3600:.1f} h"
    return f"{number(seconds / 60, lang, 0)} min"


@dash.callback(
    Output("map-details", "children"),
    Input("map-graph", "tapNodeData"),
    Input("map-graph", "tapEdgeData"),
    State("ctx", "data"),
    State("map-activities", "value"),
    State("map-clock", "value"),
)
@guarded
def _details(node: Any, edge: Any, ctx: Any, activities: int, clock: str) -> Any:
    lang, sources, profile = context(ctx)
    if dash.ctx.triggered_id and all(x["value"] is None for x in dash.ctx.triggered):
        # The map was drawn again (no tap): what was clicked last stays described.
        raise PreventUpdate
    tapped = dash.ctx.triggered_id and dash.ctx.triggered[0]["prop_id"].split(".")[1]
    if tapped == "tapNodeData" and node and "name" in node:
        lines = [
            t(
                lang,
                "map.node",
                activity=node["name"],
                count=number(node["count"], lang, 0),
                cases=number(node["cases"], lang, 0),
            )
        ]
        if node.get("blocker"):
            lines.append(node["blocker"])
        return [html.P(line) for line in lines]
    if tapped == "tapEdgeData" and edge and "source_name" in edge:
        steps = workspace().result("instances", sources, profile, **_options(activities, clock))
        passages = kp.list_edge_cases(steps, edge["source_name"], edge["target_name"])
        slowest = passages.head(_CASES_SHOWN)
        return [
            html.P(
                t(
                    lang,
                    "map.edge",
                    source=edge["source_name"],
                    target=edge["target_name"],
                    count=number(edge["count"], lang, 0),
                    cases=number(edge["cases"], lang, 0),
                    median=edge["median_text"],
                    mean=edge["mean_text"],
                    p90=edge["p90_text"],
                )
            ),
            html.P(t(lang, "map.edge.cases", shown=len(slowest)), className="note"),
            html.Ul(
                [
                    html.Li(
                        t(
                            lang,
                            "map.edge.case",
                            case=row["case_id"],
                            source=row["source_id"],
                            duration=_duration(row["duration_s"], lang),
                        )
                    )
                    for row in slowest.to_dict("records")
                ],
                id="map-edge-cases",
            ),
        ]
    return html.P(t(lang, "map.details"), className="note")
