"""Simulatie: what if a blocker were switched on or off? Pick a scenario, change its
blockers and settings, run both versions on the same seeds in the background (with
progress), and see each KPI's difference with its confidence interval. The runs are
recorded as sources, so every other page can show them."""

from __future__ import annotations

from typing import Any, Final

import dash
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html

import knelpunt as kp
from dashboards.components import (
    announces,
    context,
    graph,
    guarded,
    number,
    panel,
    table,
)
from dashboards.i18n import t
from dashboards.jobs import stop_if_asked
from dashboards.security import refusal
from dashboards.workspace import find_workspace
from knelpunt.simulate.scenario import SHIPPED_SCENARIOS

dash.register_page(__name__, path="/simulatie", name="Simulatie", order=9)

_DAYS: Final = 90
_SEEDS: Final = 3
_KINDS: Final = ("protocol", "system", "steering", "client")


def layout(**_query: Any) -> html.Div:
    refused = refusal("simulate")  # a role that may not: a readable refusal instead
    if refused is not None:
        return refused
    return html.Div(
        [
            html.H1(id="sim-heading"),
            html.P(id="sim-intro", className="intro"),
            html.Section(
                [
                    html.Div(
                        [
                            html.Label(id="sim-scenario-label", htmlFor="sim-scenario"),
                            dcc.Dropdown(
                                id="sim-scenario",
                                options=list(SHIPPED_SCENARIOS),
                                value="baseline",
                                clearable=False,
                            ),
                            html.P(id="sim-description", className="note"),
                        ],
                        className="field",
                    ),
                    html.Fieldset(
                        [
                            html.Legend(id="sim-switches-label"),
                            dcc.Checklist(id="sim-switches", className="switches"),
                        ],
                        className="field",
                    ),
                    html.Div(
                        [
                            html.Div(
                                [
                                    html.Label(id="sim-days-label", htmlFor="sim-days"),
                                    dcc.Input(
                                        id="sim-days",
                                        type="number",
                                        min=14,
                                        max=730,
                                        step=1,
                                        value=_DAYS,
                                    ),
                                ],
                                className="field",
                            ),
                            html.Div(
                                [
                                    html.Label(id="sim-seeds-label", htmlFor="sim-seeds"),
                                    dcc.Input(
                                        id="sim-seeds", type="number", min=2, max=20, value=_SEEDS
                                    ),
                                ],
                                className="field",
                            ),
                            html.Div(
                                [
                                    html.Label(id="sim-extra-label", htmlFor="sim-extra"),
                                    dcc.Textarea(
                                        id="sim-extra",
                                        placeholder="steering.caseload_cap=25",
                                        rows=2,
                                    ),
                                ],
                                className="field",
                            ),
                        ],
                        className="fields",
                    ),
                    html.Div(
                        [
                            html.Button(id="sim-run", className="primary", n_clicks=0),
                            html.Button(id="sim-cancel", className="secondary", disabled=True),
                            html.Progress(id="sim-progress", value="0", max="1"),
                            html.Span(id="sim-status", className="note", role="status"),
                        ],
                        className="record",
                    ),
                ],
                className="panel",
            ),
            dcc.Loading(html.Div(id="sim-result")),
            dcc.Store(id="sim-recorded"),
        ],
        className="simulation",
    )


@dash.callback(
    Output("sim-heading", "children"),
    Output("sim-intro", "children"),
    Output("sim-scenario-label", "children"),
    Output("sim-switches-label", "children"),
    Output("sim-days-label", "children"),
    Output("sim-seeds-label", "children"),
    Output("sim-extra-label", "children"),
    Output("sim-run", "children"),
    Output("sim-cancel", "children"),
    Input("ctx", "data"),
)
def _labels(ctx: Any) -> tuple[str, ...]:
    lang = context(ctx)[0]
    keys = ("heading", "intro", "scenario", "switches", "days", "seeds", "extra", "run", "cancel")
    return tuple(t(lang, f"sim.{key}") for key in keys)


@dash.callback(
    Output("sim-description", "children"),
    Output("sim-switches", "options"),
    Output("sim-switches", "value"),
    Input("sim-scenario", "value"),
    Input("ctx", "data"),
)
@guarded
def _scenario(scenario: str, ctx: Any) -> tuple[Any, ...]:
    lang = context(ctx)[0]
    found, _ = kp.read_scenario(_shipped(scenario))
    switches = found.blockers.switches()
    options = [
        {"label": _blocker_label(name, lang), "value": name}
        for kind in _KINDS
        for name in switches
        if name.startswith(f"{kind}.")
    ]
    return found.name, options, [name for name, on in switches.items() if on]


def _blocker_label(name: str, lang: str) -> str:
    kind, blocker = name.split(".", 1)
    category = "client" if kind == "client" else kind
    return f"{t(lang, f'category.{category}')}: {t(lang, f'sim.blocker.{blocker}')}"


announces("sim-recorded")


@dash.callback(
    Output("sim-result", "children"),
    Output("sim-recorded", "data"),
    Input("sim-run", "n_clicks"),
    State("sim-scenario", "value"),
    State("sim-switches", "value"),
    State("sim-days", "value"),
    State("sim-seeds", "value"),
    State("sim-extra", "value"),
    State("ctx", "data"),
    State("workspace", "data"),
    background=True,
    progress=[Output("sim-progress", "value"), Output("sim-progress", "max")],
    running=[
        (Output("sim-run", "disabled"), True, False),
        (Output("sim-cancel", "disabled"), False, True),
        (Output("sim-status", "children"), "…", ""),
    ],
    cancel=[Input("sim-cancel", "n_clicks")],
    prevent_initial_call=True,
)
@guarded
def _run(
    set_progress: Any,
    _clicks: int,
    scenario: str,
    chosen: list[str] | None,
    days: int | None,
    seeds: int | None,
    extra: str | None,
    ctx: Any,
    workspace_id: str,
) -> tuple[Any, Any]:
    lang = context(ctx)[0]
    found, _ = kp.read_scenario(_shipped(scenario))
    on = set(chosen or [])
    changes = [
        f"{name}.enabled={'true' if name in on else 'false'}"
        for name, was in found.blockers.switches().items()
        if (name in on) != was
    ]
    changes += [line.strip() for line in (extra or "").splitlines() if line.strip()]
    if not changes:
        return html.P(t(lang, "sim.nothing"), className="empty"), dash.no_update
    runs = 2 * int(seeds or _SEEDS)
    done = [0]

    def step(_run: kp.SimulationRun) -> None:
        done[0] += 1
        set_progress((str(done[0]), str(runs)))
        stop_if_asked()

    set_progress(("0", str(runs)))
    what = find_workspace(workspace_id).what_if(
        scenario,
        changes,
        seeds=list(range(1, int(seeds or _SEEDS) + 1)),
        overrides=[f"days={int(days or _DAYS)}"],
        on_run=step,
    )
    return _result(what, lang), sorted(int(s) for s in what.runs["source_id"])


def _result(what: kp.WhatIf, lang: str) -> html.Div:
    frame = what.to_frame()
    rows = []
    for row in frame.to_dict("records"):
        kpi = row["kpi"]
        better = (row["difference"] < 0) == (row["better"] == "lower")
        verdict = (
            t(lang, "sim.better" if better else "sim.worse")
            if row["clear"]
            else t(lang, "sim.noise")
        )
        rows.append(
            html.Tr(
                [
                    html.Td(t(lang, f"sim.kpi.{kpi}")),
                    html.Td(_value(kpi, row["as_written_mean"], lang), className="num"),
                    html.Td(_value(kpi, row["changed_mean"], lang), className="num"),
                    html.Td(
                        f"{_value(kpi, row['difference'], lang, signed=True)} ["
                        f"{_value(kpi, row['ci_low'], lang)}; {_value(kpi, row['ci_high'], lang)}]",
                        className="num",
                    ),
                    html.Td(
                        verdict,
                        className=(
                            ("state-met" if better else "state-missed") if row["clear"] else ""
                        ),
                    ),
                ],
                id=f"sim-kpi-{kpi}",
            )
        )
    header = html.Tr(
        [
            html.Th(t(lang, f"sim.col.{c}"))
            for c in ("kpi", "as_written", "changed", "difference", "verdict")
        ]
    )
    sources = ", ".join(str(int(s)) for s in what.runs["source_id"])
    return html.Div(
        [
            panel(
                t(
                    lang,
                    "sim.result",
                    changes="; ".join(what.changes),
                    seeds=what.runs["seed"].nunique(),
                ),
                html.Div(
                    [
                        table(header, rows),
                        _figure(frame, lang),
                        html.P(t(lang, "sim.sources", sources=sources), className="note"),
                    ]
                ),
                "sim-result",
            )
        ],
        id="sim-done",
    )


def _value(kpi: str, value: float, lang: str, *, signed: bool = False) -> str:
    if value != value:
        return "-"
    if kpi == "within_term_share":
        shown = number(100 * value, lang, 1) + "%"
    else:
        shown = number(value, lang, 1)
    return ("+" if signed and value > 0 else "") + shown


def _figure(frame: Any, lang: str) -> html.Div:
    """Each KPI's difference as a share of its value as written, with its interval."""
    base = frame["as_written_mean"].where(frame["as_written_mean"] != 0)
    fig = go.Figure(
        go.Scatter(
            x=100 * frame["difference"] / base,
            y=[t(lang, f"sim.kpi.{k}") for k in frame["kpi"]],
            mode="markers",
            marker={"size": 10, "color": "#0072B2"},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": 100 * (frame["ci_high"] - frame["difference"]) / base,
                "arrayminus": 100 * (frame["difference"] - frame["ci_low"]) / base,
            },
        )
    )
    fig.add_vline(x=0, line_color="#5A6B7B")
    fig.update_xaxes(title=t(lang, "sim.figure.x"), ticksuffix="%")
    fig.update_yaxes(autorange="reversed")
    return graph(fig, "sim-figure", height=300)


def _shipped(scenario: Any) -> str:
    """The scenario chosen, one of the shipped ones: the name comes back from the
    browser, and a scenario may also be a path, which the page never reads."""
    if scenario not in SHIPPED_SCENARIOS:
        raise kp.KnelpuntError(
            f"No shipped scenario {str(scenario)[:80]!r}; choose one of "
            f"{', '.join(SHIPPED_SCENARIOS)}."
        )
    return str(scenario)
