"""Vastleggen: record a live training simulation. Open a capture session (its token is
shown once), then tap a large button per step on a tablet; the page posts each event
to the capture API (``/api/capture``, the same one other clients use) with its own
idempotency key and retries, and the events are listed as they arrive."""

from __future__ import annotations

from typing import Any, Final

import dash
import pandas as pd
from dash import ALL, ClientsideFunction, Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

import knelpunt as kp
from dashboards.components import (
    CATEGORY_COLOURS,
    announces,
    aria,
    context,
    guarded,
    number,
    table,
    workspace,
)
from dashboards.i18n import t
from dashboards.security import actor_name, refusal
from knelpunt.simulate.capture import close_session, open_session

dash.register_page(__name__, path="/vastleggen", name="Vastleggen", order=10)

# The button colours: the profile's classes; the professional's own work in blue-grey.
_COLOURS: Final = {**CATEGORY_COLOURS, "work": "#3D5A73"}
_ORDER: Final = ("work", "protocol", "system", "steering", "client")
# Events listed as they arrive (the newest first).
_SHOWN: Final = 12


def layout(**_query: Any) -> html.Div:
    refused = refusal("capture")  # a role that may not: a readable refusal instead
    if refused is not None:
        return refused
    return html.Div(
        [
            html.H1(id="capture-heading"),
            html.P(id="capture-intro", className="intro"),
            # The session this tab records to, with its token: kept in the tab only.
            dcc.Store(id="capture-session", storage_type="session"),
            dcc.Store(id="capture-last"),
            dcc.Store(id="capture-opened"),
            dcc.Interval(id="capture-tick", interval=2000),
            html.Section(
                [
                    html.Label(id="capture-name-label", htmlFor="capture-name"),
                    html.Div(
                        [
                            dcc.Input(id="capture-name", type="text", debounce=False),
                            html.Button(id="capture-open", className="primary"),
                            html.Button(id="capture-close", className="secondary"),
                        ],
                        className="record",
                    ),
                    html.Div(id="capture-token", **aria(live="polite")),
                ],
                className="panel",
            ),
            html.Section(
                [
                    html.Div(
                        [
                            html.Div(
                                [
                                    html.Label(id="capture-case-label", htmlFor="capture-case"),
                                    dcc.Input(id="capture-case", type="text", value="1"),
                                ],
                                className="field",
                            ),
                            html.Div(
                                [
                                    html.Label(
                                        id="capture-resource-label", htmlFor="capture-resource"
                                    ),
                                    dcc.Input(id="capture-resource", type="text"),
                                ],
                                className="field",
                            ),
                            html.Div(
                                [
                                    html.Label(
                                        id="capture-other-label", htmlFor="capture-other-name"
                                    ),
                                    dcc.Input(id="capture-other-name", type="text"),
                                ],
                                className="field",
                            ),
                        ],
                        className="fields",
                    ),
                    html.Div(id="capture-buttons", className="capture-buttons"),
                    html.P(id="capture-status", role="status", className="capture-status"),
                ],
                className="panel",
                id="capture-recorder",
            ),
            html.Section(
                [html.H2(id="capture-arrived-heading"), html.Div(id="capture-arrived")],
                className="panel",
            ),
        ],
        className="capture",
    )


@dash.callback(
    Output("capture-heading", "children"),
    Output("capture-intro", "children"),
    Output("capture-name-label", "children"),
    Output("capture-open", "children"),
    Output("capture-close", "children"),
    Output("capture-case-label", "children"),
    Output("capture-resource-label", "children"),
    Output("capture-other-label", "children"),
    Output("capture-arrived-heading", "children"),
    Output("capture-buttons", "children"),
    Input("ctx", "data"),
)
@guarded
def _labels(ctx: Any) -> tuple[Any, ...]:
    lang, _, profile = context(ctx)
    named = workspace().read_profile(profile).named_activities()
    rank = {kind: i for i, kind in enumerate(_ORDER)}
    buttons = [
        html.Button(
            name,
            id={"type": "capture-activity", "activity": name},
            className="capture-button",
            style={"borderLeftColor": _COLOURS.get(kind, "#7F7F7F")},
            title=t(lang, f"capture.class.{kind}"),
        )
        for kind, name in sorted(named, key=lambda pair: rank.get(pair[0], len(rank)))
    ]
    buttons.append(
        html.Button(
            t(lang, "capture.other"),
            id={"type": "capture-activity", "activity": ""},
            className="capture-button other",
        )
    )
    keys = ("heading", "intro", "name", "open", "close", "case", "resource", "other.name")
    return (*[t(lang, f"capture.{key}") for key in keys], t(lang, "capture.arrived"), buttons)


@dash.callback(
    Output("capture-session", "data"),
    Output("capture-token", "children"),
    Output("capture-opened", "data"),
    Input("capture-open", "n_clicks"),
    Input("capture-close", "n_clicks"),
    State("capture-name", "value"),
    State("capture-session", "data"),
    State("ctx", "data"),
    prevent_initial_call=True,
)
@guarded
def _session(
    _open: int | None, _close: int | None, name: str | None, session: Any, ctx: Any
) -> Any:
    lang = context(ctx)[0]
    ws = workspace()
    if dash.ctx.triggered_id == "capture-close":
        if not session:
            raise PreventUpdate
        with ws.store() as store:
            closed = close_session(store, int(session["source_id"]), closed_by="dashboard")
        text = t(
            lang,
            "capture.closed",
            source=closed.source_id,
            events=number(closed.report.get("events", 0), lang, 0),
        )
        return None, html.P(text, id="capture-closed"), closed.source_id
    with ws.store() as store:
        opened = open_session(store, name or "", created_by=actor_name())
    source = opened.source.source_id
    shown = html.Div(
        [
            html.P(t(lang, "capture.opened", source=source, name=opened.source.name)),
            html.P(t(lang, "capture.token")),
            html.Code(opened.token, id="capture-token-value", className="token"),
            html.P(
                t(lang, "capture.api", url=f"/api/capture/sessions/{source}/events"),
                className="note",
            ),
        ],
        id="capture-open-session",
    )
    data = {"source_id": source, "token": opened.token, "name": opened.source.name}
    return data, shown, source


announces("capture-opened")


# Posting runs in the browser (assets/capture.js): the tablet is the client.
dash.clientside_callback(
    ClientsideFunction(namespace="knelpunt", function_name="capture"),
    Output("capture-last", "data"),
    Input({"type": "capture-activity", "activity": ALL}, "n_clicks"),
    State("capture-session", "data"),
    State("capture-case", "value"),
    State("capture-resource", "value"),
    State("capture-other-name", "value"),
    prevent_initial_call=True,
)


@dash.callback(
    Output("capture-status", "children"),
    Output("capture-status", "className"),
    Input("capture-last", "data"),
    State("ctx", "data"),
    prevent_initial_call=True,
)
def _status(last: Any, ctx: Any) -> tuple[str, str]:
    lang = context(ctx)[0]
    if not isinstance(last, dict):
        raise PreventUpdate
    if last.get("ok"):
        key = "capture.stored" if last.get("added") else "capture.resent"
        return t(lang, key, activity=last.get("activity", ""), case=last.get("case", "")), (
            "capture-status state-met"
        )
    problem = last.get("problem")
    text = (
        t(lang, f"capture.problem.{problem}")
        if problem in ("session", "case", "activity")
        else t(lang, "capture.failed", error=last.get("error", ""))
    )
    return text, "capture-status state-missed"


@dash.callback(
    Output("capture-arrived", "children"),
    Input("capture-tick", "n_intervals"),
    Input("capture-last", "data"),
    Input("capture-session", "data"),
    State("ctx", "data"),
)
@guarded
def _arrived(_tick: Any, _last: Any, session: Any, ctx: Any) -> Any:
    lang, _, profile = context(ctx)
    if not session:
        return html.P(t(lang, "capture.none"), className="note")
    ws = workspace()
    with ws.store() as store:
        events = kp.read_events(store, sources=[int(session["source_id"])])
    if events.empty:
        return html.P(t(lang, "capture.waiting"), className="note")
    newest = events.tail(_SHOWN).iloc[::-1]
    zone = ws.read_profile(profile).calendar.timezone
    rows = [
        html.Tr(
            [
                html.Td(f"{pd.Timestamp(row['time:timestamp']).tz_convert(zone):%H:%M:%S}"),
                html.Td(str(row["case:concept:name"])),
                html.Td(str(row["concept:name"])),
                html.Td("" if pd.isna(row.get("org:resource")) else str(row["org:resource"])),
            ]
        )
        for _, row in newest.iterrows()
    ]
    header = html.Tr(
        [html.Th(t(lang, f"capture.col.{c}")) for c in ("time", "case", "activity", "resource")]
    )
    return html.Div(
        [
            html.P(
                t(lang, "capture.count", events=number(len(events), lang, 0)),
                id="capture-count",
            ),
            table(header, rows),
        ]
    )
