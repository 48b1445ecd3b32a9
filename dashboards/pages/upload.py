"""Uploaden: drop a file, see its first rows and the suggested mapping, change the
mapping, see the personal data found and choose per column what to do with it
(drop, pseudonymise, keep), see every row that would be refused (line, column,
value, fix), choose strict or lenient, and record it. Nothing is recorded before
the button, and the preview shows the rows as they will be stored."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

import dash
from dash import ALL, Input, Output, State, dcc, html

import knelpunt as kp
from dashboards.components import announces, context, grid, guarded, number, workspace
from dashboards.i18n import t
from dashboards.jobs import stop_if_asked
from dashboards.limits import MAX_UPLOAD
from dashboards.security import refusal
from dashboards.workspace import find_workspace
from knelpunt.ingest.files import clean_name

dash.register_page(__name__, path="/uploaden", name="Uploaden", order=5)

FIELDS: Final = (
    "case_id",
    "activity",
    "timestamp",
    "start_timestamp",
    "resource",
    "role",
    "team",
    "lifecycle",
)
_REQUIRED: Final = ("case_id", "activity", "timestamp")
_ACTIONS: Final = ("drop", "pseudonymise", "keep")


def layout(**_query: Any) -> html.Div:
    refused = refusal("upload")  # a role that may not: a readable refusal instead
    if refused is not None:
        return refused
    return html.Div(
        [
            html.H1(id="upload-heading"),
            html.P(id="upload-intro", className="intro"),
            dcc.Upload(
                id="upload-file",
                children=html.Div(id="upload-drop"),
                accept=".csv,.xlsx,.xes,.gz,.parquet",
                # The browser refuses larger files; the server checks again (_keep).
                max_size=MAX_UPLOAD,
                className="dropzone",
            ),
            dcc.Store(id="upload-state"),
            dcc.Loading(html.Div(id="upload-check")),
            html.Progress(id="upload-progress", value="0", max="1", hidden=True),
            html.Div(id="upload-result", role="status"),
            dcc.Store(id="upload-recorded"),
        ],
        className="upload",
    )


@dash.callback(
    Output("upload-heading", "children"),
    Output("upload-intro", "children"),
    Output("upload-drop", "children"),
    Input("ctx", "data"),
)
def _labels(ctx: Any) -> tuple[str, str, str]:
    lang = context(ctx)[0]
    return t(lang, "upload.heading"), t(lang, "upload.intro"), t(lang, "upload.drop")


@dash.callback(
    Output("upload-state", "data"),
    Input("upload-file", "contents"),
    State("upload-file", "filename"),
    prevent_initial_call=True,
)
def _keep(contents: str | None, filename: str | None) -> Any:
    if not contents or not filename:
        return dash.no_update
    try:
        return {"upload": _save(contents, filename), "name": _shown_name(filename)}
    except kp.KnelpuntError as error:
        return {"error": str(error)}


def _shown_name(filename: str) -> str:
    """The upload's name as the source's name: its last part, cleaned. It only names."""
    return clean_name(filename.replace("\\", "/").rsplit("/", 1)[-1])


def _save(contents: str, filename: str) -> str:
    """Keep the upload (Dash's ``data:...;base64,...``) under a new id; its name only
    chooses the suffix (:meth:`Workspace.save_upload`)."""
    _kind, _, encoded = contents.partition(",")
    # The browser holds to MAX_UPLOAD, but a request can be made without it.
    if len(encoded) > -(-MAX_UPLOAD // 3) * 4:
        raise kp.KnelpuntError(
            f"{_shown_name(filename)}: larger than {MAX_UPLOAD >> 20} MB, the most the "
            "dashboard takes. Compress it (.xes.gz or .csv.gz), or record it with "
            "'knelpunt ingest FILE'."
        )
    try:
        data = base64.b64decode(encoded, validate=True)
    except binascii.Error as error:
        raise kp.KnelpuntError(
            f"{_shown_name(filename)}: the upload arrived damaged ({error}); upload it again."
        ) from None
    return workspace().save_upload(_shown_name(filename), data)


@dash.callback(
    Output("upload-check", "children"),
    Input("upload-state", "data"),
    Input({"type": "upload-field", "field": ALL}, "value"),
    State({"type": "upload-field", "field": ALL}, "id"),
    State("ctx", "data"),
)
@guarded
def _check(state: Any, values: list[Any], ids: list[Any], ctx: Any) -> Any:
    lang = context(ctx)[0]
    if not state:
        return None
    if "error" in state:
        raise kp.KnelpuntError(state["error"])
    chosen = {i["field"]: v for i, v in zip(ids, values, strict=True) if v}
    # A new file: its own suggestion; a changed mapping: the user's choice.
    new_file = dash.ctx.triggered_id == "upload-state"
    ws = workspace()
    # The state comes back from the browser: the id is looked up, the name only names.
    path = ws.upload_path(str(state.get("upload")))
    name = clean_name(str(state.get("name") or ""))
    found = kp.check_log(
        path,
        name=name,
        mapping=None if new_file else chosen or None,
        privacy=ws.read_profile(context(ctx)[2]).privacy,
    )
    return _report(found, lang)


def _privacy(found: kp.PersonalData, lang: str) -> html.Section:
    """The personal data found, with a choice per column (its default preselected)."""
    rows = []
    for decision in found.decisions:
        seen = decision.finding
        options = [
            a for a in _ACTIONS if not (decision.kind in ("case_id", "resource") and a == "drop")
        ]
        rows.append(
            html.Tr(
                [
                    html.Td(decision.column),
                    html.Td(t(lang, f"upload.privacy.kind.{decision.kind or 'chosen'}")),
                    html.Td(
                        t(
                            lang,
                            "upload.privacy.matched",
                            matched=number(seen.matched, lang, 0),
                            rows=number(seen.rows, lang, 0),
                        )
                        if seen
                        else ""
                    ),
                    html.Td(seen.example if seen else "", className="masked"),
                    html.Td(
                        dcc.Dropdown(
                            id={
                                "type": "upload-privacy",
                                "column": decision.column,
                                "default": "" if decision.chosen else decision.action,
                            },
                            options=[
                                {"label": t(lang, f"upload.privacy.action.{a}"), "value": a}
                                for a in options
                            ],
                            value=decision.action,
                            clearable=False,
                            searchable=False,
                        )
                    ),
                ]
            )
        )
    head = html.Tr(
        [
            html.Th(t(lang, f"upload.privacy.col.{c}"))
            for c in ("column", "kind", "matched", "example", "action")
        ]
    )
    state = "upload.privacy.on" if found.pseudonymise else "upload.privacy.off"
    return html.Section(
        [
            html.H2(t(lang, "upload.privacy")),
            html.P(t(lang, state, rows=number(found.rows, lang, 0)), id="upload-privacy-state"),
            html.Table([html.Thead(head), html.Tbody(rows)], id="upload-privacy-table")
            if rows
            else None,
            html.P(t(lang, "upload.privacy.none"), className="state-met")
            if not found.found
            else html.P(t(lang, "upload.privacy.keep"), className="note"),
            *[html.P(w, className="note") for w in found.warnings],
        ],
        className="panel",
    )


def _report(found: kp.LogCheck, lang: str) -> html.Div:
    fixed = found.format == "xes"
    mapping = (
        html.P(t(lang, "upload.mapping.fixed"))
        if fixed
        else html.Div(
            [
                html.Div(
                    [
                        html.Label(
                            t(lang, f"field.{field}") + (" *" if field in _REQUIRED else ""),
                            htmlFor=f"upload-field-{field}",
                        ),
                        dcc.Dropdown(
                            id={"type": "upload-field", "field": field},
                            options=list(found.columns),
                            value=found.mapping.get(field),
                            clearable=field not in _REQUIRED,
                        ),
                    ],
                    className="field",
                )
                for field in FIELDS
            ],
            className="fields",
        )
    )
    summary = t(
        lang,
        "upload.report.line",
        rows=number(found.rows, lang, 0),
        valid=number(found.valid, lang, 0),
        rejected=number(found.rejected, lang, 0),
        cases=number(found.cases, lang, 0),
        events=number(found.events, lang, 0),
    )
    rejects = found.rejects.assign(value=found.rejects["value"].astype(str))
    return html.Div(
        [
            html.Section(
                [
                    html.H2(t(lang, "upload.preview", file=found.file)),
                    html.P(t(lang, "upload.preview.stored"), className="note"),
                    grid(
                        "upload-preview",
                        found.preview.astype(str),
                        [(c, "") for c in found.preview.columns],
                        lang,
                        height=300,
                    ),
                ],
                className="panel",
            ),
            html.Section([html.H2(t(lang, "upload.mapping")), mapping], className="panel"),
            _privacy(found.personal, lang),
            html.Section(
                [
                    html.H2(t(lang, "upload.report")),
                    html.P(summary, id="upload-summary"),
                    *[html.P(w, className="note") for w in found.warnings],
                    html.P(t(lang, "upload.report.clean"), className="state-met")
                    if found.clean
                    else grid(
                        "upload-rejects",
                        rejects,
                        [
                            ("line", "column.line"),
                            ("column", "column.column"),
                            ("value", "column.value"),
                            ("reason", "column.reason"),
                        ],
                        lang,
                        height=300,
                    ),
                    html.Div(
                        [
                            html.Label(t(lang, "upload.mode"), htmlFor="upload-mode"),
                            dcc.RadioItems(
                                id="upload-mode",
                                options=[
                                    {"label": t(lang, f"upload.mode.{m}"), "value": m}
                                    for m in ("strict", "lenient")
                                ],
                                value="strict" if found.clean else "lenient",
                            ),
                            html.Button(
                                t(lang, "upload.record"),
                                id="upload-record",
                                className="primary",
                                n_clicks=0,
                            ),
                        ],
                        className="record",
                    ),
                ],
                className="panel",
            ),
        ]
    )


announces("upload-recorded")


@dash.callback(
    Output("upload-result", "children"),
    Output("upload-recorded", "data"),
    Input("upload-record", "n_clicks"),
    State("upload-state", "data"),
    State({"type": "upload-field", "field": ALL}, "value"),
    State({"type": "upload-field", "field": ALL}, "id"),
    State("upload-mode", "value"),
    State({"type": "upload-privacy", "column": ALL, "default": ALL}, "value"),
    State({"type": "upload-privacy", "column": ALL, "default": ALL}, "id"),
    State("ctx", "data"),
    State("workspace", "data"),
    background=True,
    progress=[Output("upload-progress", "value"), Output("upload-progress", "max")],
    running=[
        (Output("upload-record", "disabled"), True, False),
        (Output("upload-progress", "hidden"), False, True),
    ],
    prevent_initial_call=True,
)
@guarded
def _record(
    set_progress: Any,
    clicks: int,
    state: Any,
    values: list[Any],
    ids: list[Any],
    mode: str,
    actions: list[Any],
    action_ids: list[Any],
    ctx: Any,
    workspace_id: str,
) -> Any:
    lang, _sources, profile = context(ctx)
    if not clicks:
        return dash.no_update, dash.no_update
    if not state or "upload" not in state:
        return html.P(t(lang, "upload.none")), dash.no_update
    ws = find_workspace(workspace_id)
    chosen = {i["field"]: v for i, v in zip(ids, values, strict=True) if v}
    # Only what the user changed counts as a choice (the source's details tell them apart).
    privacy = {
        i["column"]: a for i, a in zip(action_ids, actions, strict=True) if a != i["default"]
    }

    def progress(done: int, total: int | None) -> None:
        set_progress((str(done), str(max(total or done, done, 1))))
        stop_if_asked()  # inside the recording's transaction: a stop keeps nothing

    with ws.store() as store:
        result = kp.ingest_log(
            store,
            ws.upload_path(str(state.get("upload"))),
            name=clean_name(str(state.get("name") or "")),
            mapping=chosen or None,
            mode="lenient" if mode == "lenient" else "strict",
            privacy=ws.read_profile(profile).privacy.choose(privacy),
            progress=progress,
        )
    source = result.source.source_id
    if result.already_recorded:
        return html.P(t(lang, "upload.already", source=source), id="upload-done"), source
    text = t(
        lang,
        "upload.done",
        source=source,
        added=number(result.added, lang, 0),
        rejected=number(result.rejected, lang, 0),
    )
    return html.P(text, id="upload-done", className="state-met"), source
