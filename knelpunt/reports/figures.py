"""Figures of analysis results: data in, a Plotly figure (or an SVG process map) out.

The dashboard and the HTML report draw with the same builders, so a chart looks
the same in both. Each builder takes a result of :mod:`knelpunt.analysis` and the
texts to show (already in the reader's language) and does no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Final

import networkx as nx
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from knelpunt.analysis.blockers import CATEGORIES, Blocker, Blockers
from knelpunt.analysis.criteria import CriteriaResult
from knelpunt.analysis.overview import LogSummary
from knelpunt.mining.maps import ProcessMap
from knelpunt.mining.projection import EventTable

__all__ = [
    "CATEGORIES",
    "CATEGORY_COLOURS",
    "blocker_trend",
    "causes",
    "compliance",
    "criteria_trend",
    "dotted",
    "house_style",
    "map_svg",
    "months",
    "throughput",
]

# Okabe and Ito's colour-blind-safe palette, one colour per category (in the order
# of knelpunt.analysis.blockers.CATEGORIES).
CATEGORY_COLOURS: Final = dict(
    zip(CATEGORIES, ("#0072B2", "#E69F00", "#CC79A7", "#009E73", "#7F7F7F"), strict=True)
)
_BLUE: Final = "#0072B2"
_LIGHT_BLUE: Final = "#56B4E9"
_GREEN: Final = "#009E73"
_RED: Final = "#D55E00"


def _plain(name: object) -> str:
    """A name from a log as plotly.js shows it: its pseudo-HTML (``<b>``, ``<a href>``,
    ``<br>``) written out, not obeyed (plotly.js turns the entities back)."""
    return escape(str(name), quote=False)


def house_style(fig: go.Figure, *, height: int = 320) -> go.Figure:
    """The figure in the house style: white, system font, legend below."""
    fig.update_layout(
        height=height,
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
        template="plotly_white",
        font={"family": "system-ui, sans-serif", "size": 13},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def throughput(summary: LogSummary, *, x_title: str, y_title: str, bins: int = 50) -> go.Figure:
    """The throughput times of the cases as a histogram (binned here, not in the
    browser: a million events' cases would otherwise travel one by one)."""
    found = summary.histogram(bins=bins)
    fig = go.Figure(
        go.Bar(
            x=(found["from_days"] + found["to_days"]) / 2,
            y=found["cases"],
            width=found["to_days"] - found["from_days"],
            marker_color=_BLUE,
            customdata=found[["from_days", "to_days"]],
            hovertemplate="%{customdata[0]:.1f}–%{customdata[1]:.1f}: %{y}<extra></extra>",
        )
    )
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title)
    return fig


def compliance(
    scorecard: pd.DataFrame,
    *,
    shown: Callable[[float], str],
    compliance_name: str,
    target_name: str,
) -> go.Figure:
    """Per measured criterion of a scorecard (:meth:`CriteriaResult.scorecard`) its
    compliance as a bar, green when it meets its target, and the target as a mark;
    ``shown`` writes a share as the reader reads it."""
    measured = scorecard[scorecard["measured"] > 0]
    names = [_plain(n) for n in measured["name"]]
    met = measured["met"].fillna(False).astype(bool)
    fig = go.Figure(
        go.Bar(
            y=names,
            x=measured["compliance"] * 100,
            orientation="h",
            marker_color=np.where(met, _GREEN, _RED).tolist(),
            text=[shown(v) for v in measured["compliance"]],
            textposition="auto",
            name=compliance_name,
        )
    )
    fig.add_trace(
        go.Scatter(
            y=names,
            x=measured["target"] * 100,
            mode="markers",
            marker={"symbol": "line-ns-open", "size": 18, "color": "#000000"},
            name=target_name,
        )
    )
    fig.update_xaxes(range=[0, 100], ticksuffix="%")
    fig.update_yaxes(autorange="reversed")
    return fig


def months(summary: LogSummary, *, started: str, ended: str, median: str, cases: str) -> go.Figure:
    """Cases started and ended per month (bars) and their median throughput time
    in days (a line on the right axis)."""
    found = summary.months
    fig = go.Figure()
    fig.add_bar(x=found["month"], y=found["started"], name=started, marker_color=_LIGHT_BLUE)
    fig.add_bar(x=found["month"], y=found["ended"], name=ended, marker_color=_BLUE)
    fig.add_scatter(
        x=found["month"],
        y=found["median_days"],
        name=median,
        yaxis="y2",
        mode="lines+markers",
        line={"color": _RED},
    )
    fig.update_layout(
        barmode="group",
        yaxis={"title": cases},
        yaxis2={"title": median, "overlaying": "y", "side": "right"},
    )
    return fig


# Columns of the dotted chart: time is cut into this many equal steps at most.
DOTTED_STEPS: Final = 400


def dotted(table: EventTable, *, cases: int, y_title: str, other: str = "other") -> go.Figure:
    """A dotted chart: each event a dot at its time, one row per case, coloured by
    activity; ``cases`` of the log's cases, evenly spread over it (a million events'
    dots would not draw).

    Drawn as one raster (a heatmap: rows the cases, columns at most
    :data:`DOTTED_STEPS` equal steps of the period, each cell the activity of the
    case's last event in that step), which the browser paints at once however
    many events it shows, where a dot per event costs it a drawn element each
    (6,000 dots took half a second to redraw). The colour bar names the activities:
    the most frequent ones each in a colour of their own, the rest together as
    ``other``."""
    chosen = np.unique(np.linspace(0, table.n_cases - 1, min(cases, table.n_cases)).astype(int))
    keep = np.isin(table.case, chosen)
    rows = np.searchsorted(chosen, table.case[keep])
    times = table.time_us[keep]
    codes, activity, counts = np.unique(
        table.activity[keep], return_inverse=True, return_counts=True
    )
    palette = [*qualitative.Safe, *qualitative.Set3]
    # The most frequent activities get a band each (1..n), the others one band (n+1).
    ranked = np.argsort(-counts, kind="stable")
    named = ranked[: len(palette) - 1] if len(codes) > len(palette) else ranked
    band = np.full(len(codes), len(named) + 1, dtype=np.int16)
    band[named] = np.arange(1, len(named) + 1, dtype=np.int16)
    bands = len(named) + (1 if len(named) < len(codes) else 0)
    first = int(times.min()) if len(times) else 0
    span = int(times.max()) - first + 1 if len(times) else 1
    steps = max(1, min(DOTTED_STEPS, len(np.unique(times // 86_400_000_000))))
    column = (times - first) * steps // span
    cells = np.zeros((len(chosen), steps), dtype=np.int16)
    # Each cell shows the last event in it (by time; ties by position in the log).
    order = np.lexsort((np.arange(len(times)), times))[::-1]
    flat = rows[order] * steps + column[order]
    _, last = np.unique(flat, return_index=True)
    shown = order[last]
    cells[rows[shown], column[shown]] = band[activity[shown]]
    centres = (first + (np.arange(steps) + 0.5) * span / steps) // 1000  # ms
    names = [_plain(table.activities[codes[i]]) for i in named]
    if bands > len(named):
        names.append(other)
    # One band of the colour scale per value; 0 (no event) is transparent.
    scale: list[tuple[float, str]] = []
    for value in range(bands + 1):
        colour = "rgba(0,0,0,0)" if value == 0 else palette[(value - 1) % len(palette)]
        if value == bands and bands > len(named):
            colour = "#BBBBBB"
        scale += [(value / (bands + 1), colour), ((value + 1) / (bands + 1), colour)]
    fig = go.Figure(
        go.Heatmap(
            z=cells,
            x=pd.to_datetime(centres, unit="ms"),
            zmin=-0.5,
            zmax=bands + 0.5,
            colorscale=scale,
            colorbar={
                "tickvals": list(range(1, bands + 1)),
                "ticktext": names,
                "len": 1.0,
                "thickness": 14,
                "outlinewidth": 0,
            },
            hovertemplate="%{x|%d-%m-%Y}<extra></extra>",
        )
    )
    fig.update_xaxes(type="date")
    fig.update_yaxes(title=y_title, showticklabels=False, showgrid=False, autorange="reversed")
    return fig


def causes(totals: pd.DataFrame, *, names: Mapping[str, str], hours: str) -> go.Figure:
    """All waiting by cause (:meth:`WaitingSplit.totals`), in hours, with each cause's
    share; ``names`` gives each cause its name."""
    shown = totals[totals["hours"] > 0]
    fig = go.Figure(
        go.Bar(
            x=[names.get(str(c), str(c)) for c in shown["cause"]],
            y=shown["hours"],
            marker_color=_BLUE,
            text=[f"{100 * s:.0f}%" for s in shown["share"]],
            textposition="auto",
        )
    )
    fig.update_yaxes(title=hours)
    return fig


def blocker_trend(
    found: Blockers,
    *,
    ranks: Sequence[int],
    categories: Mapping[str, str],
    hours: str,
) -> go.Figure:
    """Waiting hours per month of the blockers ranked ``ranks``, each in its
    category's colour; ``categories`` names the categories."""
    by_rank = {b.rank: b for b in found.blockers}
    trend = found.trend
    fig = go.Figure()
    for rank in ranks:
        blocker = by_rank.get(int(rank))
        rows = trend[trend["rank"] == rank]
        if blocker is None or rows.empty:
            continue
        fig.add_scatter(
            x=rows["month"],
            y=rows["waiting_h"],
            mode="lines+markers",
            name=_plain(
                f"{blocker.activity} ({categories.get(blocker.category, blocker.category)})"
            ),
            line={"color": CATEGORY_COLOURS.get(blocker.category, "#7F7F7F")},
        )
    fig.update_yaxes(title=hours)
    return fig


def criteria_trend(found: CriteriaResult, *, compliance_name: str) -> go.Figure:
    """Compliance per month of each measured criterion."""
    trend = found.trend()
    names = {c.id: c.name for c in found.criteria}
    fig = go.Figure()
    for criterion, rows in trend.groupby("criterion", sort=False):
        rows = rows[rows["measured"] > 0]
        if rows.empty:
            continue
        fig.add_scatter(
            x=rows["month"],
            y=rows["compliance"] * 100,
            mode="lines+markers",
            name=_plain(names.get(str(criterion), str(criterion))),
        )
    fig.update_yaxes(range=[0, 100], ticksuffix="%", title=compliance_name)
    return fig


# The drawn map: box sizes and gaps in SVG pixels.
_BOX_H: Final = 46
_CHAR_W: Final = 7.2
_GAP_X: Final = 40
_GAP_Y: Final = 70
_GREY: Final = "#8C99A6"
_ARROWS: Final = (_GREY, *CATEGORY_COLOURS.values())
_START: Final = "▶"
_END: Final = "■"


def map_svg(
    found: ProcessMap,
    *,
    blockers: Blockers | None = None,
    label: Callable[[int], str] = str,
    edge_label: Callable[[Mapping[str, object]], str] | None = None,
    title: str = "",
) -> str:
    """The process map as a standalone SVG drawing, top to bottom: one box per
    activity with its count, arrows as thick as the log of their count, and each
    activity that is the costliest place of a (classified) blocker outlined in its
    category's colour, as are the arrows into it.

    Activities are laid out in layers by their shortest distance from the start
    (networkx), ordered within a layer by where their predecessors stand; ``label``
    writes a count, ``edge_label`` an edge's text (its count when not given).
    Needs no Graphviz and no script: it prints and mails as it is.
    """
    edges = found.edges
    counts = dict(zip(found.activities["activity"], found.activities["count"], strict=True))
    costliest: dict[str, Blocker] = {}
    for blocker in blockers.blockers if blockers is not None else ():  # costliest first
        if blocker.category != "unclassified":
            costliest.setdefault(blocker.activity, blocker)
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_node(_START)
    for activity, count in found.start_activities.items():
        graph.add_edge(_START, activity, count=int(count))
    for source, target, count in zip(edges["source"], edges["target"], edges["count"], strict=True):
        graph.add_edge(str(source), str(target), count=int(count))
    for activity, count in found.end_activities.items():
        if graph.has_node(activity):
            graph.add_edge(activity, _END, count=int(count))
    distance = nx.single_source_shortest_path_length(graph, _START)
    deepest = max(distance.values(), default=0)
    layers: dict[int, list[str]] = {}
    for node in graph.nodes:
        if node == _END:
            continue
        layers.setdefault(distance.get(node, deepest + 1), []).append(node)
    if graph.has_node(_END):
        layers.setdefault(max(layers) + 1, []).append(_END)

    def width(node: str) -> float:
        text = max(len(node), len(label(int(counts.get(node, 0)))))
        return 44.0 if node in (_START, _END) else 24 + _CHAR_W * min(text, 34)

    place: dict[str, tuple[float, float]] = {}
    for depth in sorted(layers):
        nodes = layers[depth]

        def pulled(node: str) -> float:
            before = [place[p][0] for p in graph.predecessors(node) if p in place]
            return float(np.mean(before)) if before else 0.0

        nodes.sort(key=lambda n: (pulled(n), n))
        x = 0.0
        for node in nodes:
            place[node] = (x + width(node) / 2, depth * (_BOX_H + _GAP_Y) + _BOX_H / 2 + 10)
            x += width(node) + _GAP_X
    widest = max((place[n][0] + width(n) / 2 for n in place), default=100.0)
    # Centre each layer under the widest.
    for nodes in layers.values():
        right = place[nodes[-1]][0] + width(nodes[-1]) / 2
        shift = (widest - right) / 2
        for node in nodes:
            place[node] = (place[node][0] + shift, place[node][1])
    height = max(y for _, y in place.values()) + _BOX_H / 2 + 20
    counted: list[tuple[str, str, int]] = list(graph.edges.data("count"))
    top = max((c for _, _, c in counted), default=1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="-10 0 {widest + 20:.0f} {height:.0f}" '
        f'width="{widest + 20:.0f}" height="{height:.0f}" role="img" class="process-map">',
        f"<title>{escape(title)}</title>" if title else "",
        # One arrowhead per colour, of a fixed size whatever the arrow's thickness.
        "<defs>"
        + "".join(
            f'<marker id="arrow-{n}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="11" '
            f'markerHeight="11" markerUnits="userSpaceOnUse" orient="auto">'
            f'<path d="M0,0L10,5L0,10z" fill="{c}"/></marker>'
            for n, c in enumerate(_ARROWS)
        )
        + "</defs>",
    ]
    edge_rows: dict[tuple[str, str], Mapping[str, object]] = {
        (str(r["source"]), str(r["target"])): {str(k): v for k, v in r.items()}
        for r in edges.to_dict("records")
    }
    for source, target, count in counted:
        (x1, y1), (x2, y2) = place[source], place[target]
        colour = costliest[target].category if target in costliest else None
        stroke = CATEGORY_COLOURS[colour] if colour else _GREY
        thick = 1 + 6 * math.log1p(count) / math.log1p(top)
        y1, y2 = y1 + _BOX_H / 2, y2 - _BOX_H / 2
        if y2 <= y1:  # back to an earlier layer: round the side
            bend = max(x1, x2) + 80
            path = f"M{x1:.1f},{y1 - _BOX_H:.1f} C{bend:.1f},{y1:.1f} {bend:.1f},{y2:.1f} "
            path += f"{x2 + 4:.1f},{y2 + _BOX_H:.1f}"
            mid = (bend - 20, (y1 + y2) / 2)
        else:
            path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + 30:.1f} {x2:.1f},{y2 - 30:.1f} "
            path += f"{x2:.1f},{y2:.1f}"
            mid = ((x1 + x2) / 2, (y1 + y2) / 2)
        row = edge_rows.get((source, target))
        text = edge_label(row) if edge_label is not None and row is not None else label(count)
        parts.append(
            f'<path d="{path}" fill="none" stroke="{stroke}" stroke-width="{thick:.1f}" '
            f'marker-end="url(#arrow-{_ARROWS.index(stroke)})">'
            f"<title>{escape(source)} → {escape(target)}: {escape(text)}</title></path>"
        )
        parts.append(
            f'<text x="{mid[0]:.1f}" y="{mid[1]:.1f}" font-size="10" text-anchor="middle" '
            f'fill="#333" paint-order="stroke" stroke="#fff" stroke-width="3">'
            f"{escape(text)}</text>"
        )
    for node, (x, y) in place.items():
        w = width(node)
        if node in (_START, _END):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="16" fill="#fff" stroke="#5A6B7B" '
                f'stroke-width="2"/><text x="{x:.1f}" y="{y + 5:.1f}" text-anchor="middle" '
                f'font-size="14">{node}</text>'
            )
            continue
        marked = costliest.get(node)
        border = CATEGORY_COLOURS[marked.category] if marked else "#5A6B7B"
        shown = node if len(node) <= 34 else node[:33] + "…"
        parts.append(
            f'<g class="activity"><title>{escape(node)}</title>'
            f'<rect x="{x - w / 2:.1f}" y="{y - _BOX_H / 2:.1f}" width="{w:.1f}" '
            f'height="{_BOX_H}" rx="6" fill="#EAF2FA" stroke="{border}" '
            f'stroke-width="{4 if marked else 1.5}"/>'
            f'<text x="{x:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="12">'
            f"{escape(shown)}</text>"
            f'<text x="{x:.1f}" y="{y + 13:.1f}" text-anchor="middle" font-size="11" '
            f'fill="#444">{escape(label(int(counts.get(node, 0))))}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
