"""Team: the handover and working-together networks between teams, the workload per
team and month, and how much of the work crosses disciplines."""

from __future__ import annotations

import math
from typing import Any, Final

import dash
import dash_cytoscape as cyto
import networkx as nx
import plotly.graph_objects as go
from dash import html

from dashboards.components import (
    body,
    card,
    draws,
    empty,
    graph,
    grid,
    number,
    panel,
    percent,
)
from dashboards.i18n import t
from dashboards.workspace import Workspace
from knelpunt.mining.organisation import OTHER

dash.register_page(__name__, path="/team", name="Team", order=5)

# One colour per team, from Okabe and Ito's palette (after the category colours).
_TEAM_COLOURS: Final = ("#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
_OTHER_COLOUR: Final = "#BBBBBB"
_NETWORK_STYLE: Final = [
    {
        "selector": "node",
        "style": {
            "label": "data(label)",
            "text-wrap": "wrap",
            "text-valign": "center",
            "font-size": "12px",
            "width": "data(size)",
            "height": "data(size)",
            "background-color": "data(colour)",
            "border-width": 2,
            "border-color": "#5A6B7B",
            "color": "#111111",
        },
    },
    {
        "selector": "edge",
        "style": {
            "label": "data(label)",
            "width": "data(width)",
            "curve-style": "bezier",
            "line-color": "#8C99A6",
            "font-size": "11px",
            "text-background-color": "#FFFFFF",
            "text-background-opacity": 0.85,
        },
    },
    {
        "selector": "edge.directed",
        "style": {"target-arrow-shape": "triangle", "target-arrow-color": "#8C99A6"},
    },
]
_TEAM_TABLE: Final = (
    ("team", "team.team"),
    ("professionals", "team.professionals"),
    ("events", "team.events"),
    ("cases", "team.cases"),
    ("instances", "team.instances"),
    ("processing_h", "team.processing_h"),
    ("handovers_out", "team.handovers_out"),
    ("across_out", "team.across_out"),
    ("handovers_in", "team.handovers_in"),
    ("across_in", "team.across_in"),
)


def layout(**_query: Any) -> html.Div:
    return body("team-body", "team")


@draws("team-body")
def _draw(lang: str, sources: list[int] | None, profile: str, ws: Workspace) -> Any:
    work = ws.result("teamwork", sources, profile)
    if work.cases.empty:
        return empty(lang, "empty.selection")
    teams = work.teams.assign(team=[_name(x, lang) for x in work.teams["team"]])
    known = work.teams[work.teams["team"] != OTHER]
    colours = _colours(list(work.teams["team"]))
    cards = html.Div(
        [
            card(t(lang, "team.kpi.teams"), number(len(known), lang, 0), "team-kpi-teams"),
            card(
                t(lang, "team.kpi.professionals"),
                number(int(known["professionals"].sum()), lang, 0),
                "team-kpi-professionals",
            ),
            card(
                t(lang, "team.kpi.multidisciplinary"),
                percent(work.multidisciplinary_share, lang),
                "team-kpi-multidisciplinary",
            ),
            card(t(lang, "team.kpi.across"), percent(work.across_share, lang), "team-kpi-across"),
        ],
        className="cards",
    )
    return html.Div(
        [
            html.H1(t(lang, "team.heading")),
            html.P(t(lang, "team.intro"), className="intro"),
            cards,
            html.Div(
                [
                    panel(
                        t(lang, "team.handovers"),
                        _network("team-handovers", work.handovers, colours, lang),
                        "handovers",
                    ),
                    panel(
                        t(lang, "team.collaboration"),
                        _network("team-collaboration", work.collaboration, colours, lang),
                        "collaboration",
                    ),
                ],
                className="row",
            ),
            panel(
                t(lang, "team.workload"),
                html.Div(
                    [
                        _workload(work.workload, colours, lang),
                        html.P(t(lang, "team.workload.note"), className="note"),
                    ]
                ),
                "workload",
            ),
            panel(
                t(lang, "team.table"),
                grid(
                    "team-table",
                    teams,
                    _TEAM_TABLE,
                    lang,
                    height=300,
                    numbers=[c for c, _ in _TEAM_TABLE[1:]],
                ),
                "table",
            ),
            html.Ul([html.Li(n) for n in work.notes], className="notes"),
        ]
    )


def _name(team: str, lang: str) -> str:
    return t(lang, "team.other") if team == OTHER else team


def _colours(teams: list[str]) -> dict[str, str]:
    named = [x for x in teams if x != OTHER]
    found = {x: _TEAM_COLOURS[i % len(_TEAM_COLOURS)] for i, x in enumerate(named)}
    return {**found, OTHER: _OTHER_COLOUR}


def _network(
    network_id: str, graph: nx.Graph[str], colours: dict[str, str], lang: str
) -> cyto.Cytoscape:
    """A network between teams: node size by events, edge width and label by count."""
    directed = graph.is_directed()
    weight = "count" if directed else "cases"
    ids = {name: f"n{i}" for i, name in enumerate(graph.nodes)}
    biggest_node = max([d["events"] for _, d in graph.nodes(data=True)] or [1])
    biggest_edge = max([d[weight] for _, _, d in graph.edges(data=True)] or [1])
    elements: list[dict[str, Any]] = [
        {
            "data": {
                "id": ids[name],
                "label": f"{_name(name, lang)}\n{number(data['events'], lang, 0)}",
                "size": round(30 + 50 * math.sqrt(data["events"] / biggest_node), 1),
                "colour": colours.get(name, _OTHER_COLOUR),
            }
        }
        for name, data in graph.nodes(data=True)
    ]
    for a, b, data in graph.edges(data=True):
        elements.append(
            {
                "data": {
                    "id": f"{ids[a]}-{ids[b]}",
                    "source": ids[a],
                    "target": ids[b],
                    "label": number(data[weight], lang, 0),
                    "width": round(1 + 7 * math.log1p(data[weight]) / math.log1p(biggest_edge), 2),
                },
                "classes": "directed" if directed else "",
            }
        )
    return cyto.Cytoscape(
        id=network_id,
        elements=elements,
        layout={"name": "circle", "padding": 30},
        style={"width": "100%", "height": "380px"},
        stylesheet=_NETWORK_STYLE,
        minZoom=0.3,
        maxZoom=3,
        userZoomingEnabled=False,
    )


def _workload(workload: Any, colours: dict[str, str], lang: str) -> html.Div:
    fig = go.Figure()
    # Work outside the teams (providers, systems) would dwarf theirs: it is left out.
    for team, rows in workload[workload["team"] != OTHER].groupby("team", sort=True):
        fig.add_bar(
            x=rows["period"],
            y=rows["processing_s"] / 3600,
            name=str(team),
            marker_color=colours.get(str(team), _OTHER_COLOUR),
            customdata=rows[["cases", "instances"]],
            hovertemplate=t(lang, "team.workload.hover"),
        )
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title=t(lang, "team.workload.y"))
    return graph(fig, "team-workload")
