"""Pieces every page draws with: the workspace of the running app, the guard that
turns a failure into a readable message, tables, figures and colours."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any, Final, ParamSpec

import dash
import dash_ag_grid as dag
import pandas as pd
import plotly.graph_objects as go
from dash import ALL, MATCH, ClientsideFunction, Input, Output, State, dcc, html
from dash.dcc.express import send_bytes
from dash.exceptions import PreventUpdate
from flask import current_app

from dashboards.i18n import t
from dashboards.redraw import changes
from dashboards.rows import BLOCK, query_rows, rows_block
from dashboards.workspace import _OPEN, DRAWINGS, Workspace
from knelpunt.errors import KnelpuntError
from knelpunt.ingest.export import export_table
from knelpunt.profile import SHIPPED_PROFILES

# The pages take colours and number formats from here, as the report writes them.
from knelpunt.reports.figures import CATEGORIES as CATEGORIES
from knelpunt.reports.figures import CATEGORY_COLOURS as CATEGORY_COLOURS
from knelpunt.reports.figures import house_style
from knelpunt.reports.texts import number as number
from knelpunt.reports.texts import percent as percent

log = logging.getLogger("knelpunt.dashboard")
P = ParamSpec("P")

PLOT_CONFIG: Final[Any] = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}


def aria(**values: str) -> dict[str, Any]:
    """ARIA attributes for a component: ``aria(live="polite")``."""
    return {f"aria-{key}": value for key, value in values.items()}


def workspace() -> Workspace:
    """The workspace of the app serving this request."""
    found = current_app.config["KNELPUNT_WORKSPACE"]
    assert isinstance(found, Workspace)
    return found


def source_options() -> list[dict[str, Any]]:
    """The store's sources as choices: "id: name (events)"; none when it cannot be read
    (the page shows why; the log keeps the details)."""
    try:
        found = workspace().sources()
    except Exception:
        log.exception("dashboard: the sources could not be listed")
        found = []
    return [
        {"label": f"{s.source_id}: {s.name} ({s.event_count:,})", "value": s.source_id}
        for s in found
    ]


def context(data: Any) -> tuple[str, list[int] | None, str]:
    """Language, sources (None: all) and profile from the shared ``ctx`` store."""
    data = data if isinstance(data, dict) else {}
    sources = [int(s) for s in data.get("sources") or []] or None
    # The profile comes back from the browser and a profile may be a path: only the
    # shipped ones and the workspace's own are read ("" is the workspace's).
    profile = str(data.get("profile") or "")
    if profile not in SHIPPED_PROFILES and profile not in {w.profile for w in _OPEN.values()}:
        profile = ""
    return str(data.get("lang") or "nl"), sources, profile


def failure(lang: str, error: Exception) -> html.Div:
    """A readable message with a reference; the details go to the server log."""
    ref = uuid.uuid4().hex[:8]
    if isinstance(error, KnelpuntError):
        log.warning("dashboard %s: %s", ref, error)
        message = str(error)
    else:
        log.exception("dashboard %s: unexpected failure", ref, exc_info=error)
        message = t(lang, "error.unexpected")
    return html.Div(
        [
            html.Strong(t(lang, "error.title")),
            html.P(message),
            html.P(t(lang, "error.reference", ref=ref), className="reference"),
        ],
        className="failure",
        role="alert",
    )


def guarded(render: Callable[P, Any]) -> Callable[P, Any]:
    """A page callback that shows a failure as a message, never as a traceback, in the
    language of the shared context among its arguments."""

    @functools.wraps(render)
    def run(*args: P.args, **kwargs: P.kwargs) -> Any:
        try:
            return render(*args, **kwargs)
        except PreventUpdate:
            raise  # not a failure: nothing to draw
        except Exception as error:
            shared = [a for a in args if isinstance(a, dict) and "lang" in a]
            shown = failure(context(shared[0] if shared else None)[0], error)
            outputs = dash.ctx.outputs_list if dash.ctx else None
            if isinstance(outputs, list):  # several outputs: the message in the first
                return (shown, *[dash.no_update] * (len(outputs) - 1))
            return shown

    return run


def announces(store_id: str) -> None:
    """Pass what a page records (the new source ids, in its store ``store_id``) on to the
    shell's ``store-version``, so that every source choice lists them, and warm
    the workspace up for them (:meth:`Workspace.warm`).

    A relay rather than an output of the recording callback itself: a callback with
    an output in the shell runs when the page opens (Dash cannot tell that its inputs
    are new), and a recording must never start by itself.
    """

    @dash.callback(
        Output("store-version", "data", allow_duplicate=True),
        Input(store_id, "data"),
        prevent_initial_call=True,
    )
    def _relay(recorded: Any) -> Any:
        if not recorded:
            raise PreventUpdate
        # What the pages will ask for of the new sources, computed before they do.
        workspace().warm()
        return recorded


def empty(lang: str, key: str) -> html.Div:
    return html.Div(t(lang, key), className="empty")


Draw = Callable[[str, list[int] | None, str, Workspace], Any]


def body(body_id: str, class_name: str) -> html.Div:
    """A page whose content one callback draws (see :func:`draws`)."""
    return html.Div(
        [dcc.Loading(html.Div(id=body_id), delay_show=400), shown_store(body_id)],
        className=class_name,
    )


def shown_store(body_id: str) -> html.Div:
    """The stores of a page :func:`draws` fills: what the browser shows of it, and the
    changes that bring it to a new choice (set in the browser, ``assets/shell.js``)."""
    return html.Div(
        [
            dcc.Store(id=f"{body_id}-shown"),
            dcc.Store(id=f"{body_id}-changes"),
            dcc.Store(id=f"{body_id}-applied"),
        ]
    )


def draws(body_id: str, *, in_place: bool = True) -> Callable[[Draw], Draw]:
    """Register ``draw(lang, sources, profile, workspace)`` as the callback that fills
    ``body_id`` from the shared context: guarded, and with a message instead when
    the store is empty.

    A page is a function of the context and the store's state, so what it drew is
    kept and sent again while neither changes (going back to a page, or to a
    source chosen before): the figures are not built again. When the browser
    already shows the page for another choice, only what changed is sent
    (:mod:`dashboards.redraw`): the figures are updated in place, not rebuilt
    (``in_place=False``: always the whole page, for one whose components fetch
    their own data, such as a served grid)."""

    def register(draw: Draw) -> Draw:
        DRAWINGS[body_id] = draw  # the warm-up draws it too

        @dash.callback(
            Output(body_id, "children"),
            Output(f"{body_id}-changes", "data"),
            Output(f"{body_id}-shown", "data"),
            Input("ctx", "data"),
            State(f"{body_id}-shown", "data"),
        )
        def _run(ctx: Any, shown: str | None) -> Any:
            lang, sources, profile = context(ctx)
            try:
                ws = workspace()
                if not ws.sources():
                    return empty(lang, "empty.store"), dash.no_update, None
                if ws.page_token(body_id, lang, sources, profile) == shown:
                    raise PreventUpdate  # the browser shows this very page
                token, tree = ws.drawn(
                    body_id, lang, sources, profile, lambda: draw(lang, sources, profile, ws)
                )
                before = ws.shown(shown) if in_place else None
                found = None if before is None else changes(before, tree)
                if found is None:
                    return tree, dash.no_update, token
                # Declared outputs, so that an answer the browser has given up on (a
                # newer choice was made meanwhile) is dropped whole; the browser then
                # sets each component's properties (assets/shell.js).
                return dash.no_update, {"token": token, "set": list(found.values())}, token
            except PreventUpdate:
                raise
            except Exception as error:  # the page shows a message, and is drawn whole next
                return failure(lang, error), dash.no_update, None

        dash.clientside_callback(
            ClientsideFunction(namespace="knelpunt", function_name="applyChanges"),
            Output(f"{body_id}-applied", "data"),
            Input(f"{body_id}-changes", "data"),
            prevent_initial_call=True,
        )

        return draw

    return register


def _definitions(
    frame: pd.DataFrame,
    columns: Sequence[tuple[str, str]],
    lang: str,
    numbers: Sequence[str],
) -> list[dict[str, Any]]:
    """The grid's columns: (field, label key), numbers right-aligned with separators."""
    definitions = []
    for field, label in columns:
        definition: dict[str, Any] = {
            "field": field,
            "headerName": t(lang, label) if label else field,
        }
        if field in numbers:
            whole = frame[field].dtype.kind in "iu"
            definition["type"] = "rightAligned"
            definition["valueFormatter"] = {
                "function": f"d3.format('{',d' if whole else ',.1f'}')(params.value)"
            }
        definitions.append(definition)
    return definitions


def grid(
    grid_id: str,
    frame: pd.DataFrame,
    columns: Sequence[tuple[str, str]],
    lang: str,
    *,
    height: int = 420,
    numbers: Sequence[str] = (),
) -> html.Div:
    """A searchable, sortable table, with the rows it shows (filtered and sorted) for
    download as CSV or Excel; ``columns`` are (field, label key). Every row goes to
    the browser: for a long table, see :func:`served_grid`."""
    definitions = _definitions(frame, columns, lang, numbers)
    table = dag.AgGrid(
        id=grid_id,
        rowData=frame[[c for c, _ in columns]].to_dict("records"),
        columnDefs=definitions,
        defaultColDef={"sortable": True, "filter": True, "resizable": True},
        dashGridOptions={
            "pagination": True,
            "paginationPageSize": 20,
            "rowSelection": {"mode": "singleRow", "enableClickSelection": True},
        },
        style={"height": f"{height}px"},
        className="ag-theme-alpine",
    )
    tools = _export_buttons("grid-export", grid_id, lang)
    return html.Div(
        [
            tools,
            table,
            dcc.Store(id={"type": "grid-rows", "grid": grid_id}),
            dcc.Download(id={"type": "grid-download", "grid": grid_id}),
        ],
        className="grid",
    )


# The rows a grid shows are gathered in the browser (assets/export.js) ...
dash.clientside_callback(
    ClientsideFunction(namespace="knelpunt", function_name="gridRows"),
    Output({"type": "grid-rows", "grid": MATCH}, "data"),
    Input({"type": "grid-export", "grid": MATCH, "format": ALL}, "n_clicks"),
    prevent_initial_call=True,
)


@dash.callback(
    Output({"type": "grid-download", "grid": MATCH}, "data"),
    Input({"type": "grid-rows", "grid": MATCH}, "data"),
    prevent_initial_call=True,
)
def _export_buttons(kind: str, grid_id: str, lang: str) -> html.Div:
    """The CSV and Excel buttons of a grid (``kind``: whose callback answers them)."""
    return html.Div(
        [
            html.Button(
                t(lang, f"export.{fmt}"),
                id={"type": kind, "grid": grid_id, "format": fmt},
                className="tool",
            )
            for fmt in ("csv", "xlsx")
        ],
        className="tools",
    )


def _download(shown: Any) -> Any:
    """... and written here as a file, formulas neutralised (:func:`export_table`)."""
    if not isinstance(shown, dict) or shown.get("format") not in ("csv", "xlsx"):
        raise PreventUpdate
    frame = pd.DataFrame(shown["rows"], columns=shown["headers"])
    name = f"{shown['grid']}.{shown['format']}"
    return send_bytes(export_table(frame, format=shown["format"]), name)


# Rows a page of a served grid shows (it asks for blocks of rows.BLOCK).
_PAGE: Final = 20
Rows = Callable[[list[int] | None, str, Workspace], pd.DataFrame]


def served_grid(
    grid_id: str,
    frame: pd.DataFrame,
    columns: Sequence[tuple[str, str]],
    lang: str,
    *,
    row_id: Sequence[str],
    height: int = 420,
    numbers: Sequence[str] = (),
) -> html.Div:
    """A table whose rows stay on the server: the grid asks for them a block at a
    time, sorted, filtered and searched there (:func:`serves` answers it), shows how
    many match, and downloads every one of those (not only the block it holds).

    Args:
        grid_id: the grid's id; :func:`serves` must be called with the same id.
        frame: the table's columns and their types (its rows are not sent).
        columns: (field, label key) of each column, in order.
        lang: the language of the labels.
        row_id: the fields that together name a row (a row chosen stays chosen when
            the blocks are fetched again).
        height: the grid's height in pixels.
        numbers: the fields that hold numbers (right-aligned, with number filters).
    """
    definitions = _definitions(frame, columns, lang, numbers)
    for definition in definitions:
        number_column = definition["field"] in numbers
        definition["cellDataType"] = "number" if number_column else "text"
        definition["filter"] = "agNumberColumnFilter" if number_column else "agTextColumnFilter"
    table = dag.AgGrid(
        id=grid_id,
        rowModelType="infinite",
        columnDefs=definitions,
        defaultColDef={"sortable": True, "resizable": True},
        getRowId=" + '/' + ".join(f"params.data.{field}" for field in row_id),
        dashGridOptions={
            "pagination": True,
            "paginationPageSize": _PAGE,
            "cacheBlockSize": BLOCK,
            # One block at a time: the grid keeps a single request waiting for its answer.
            "maxConcurrentDatasourceRequests": 1,
            "rowSelection": {"mode": "singleRow", "enableClickSelection": True},
        },
        style={"height": f"{height}px"},
        className="ag-theme-alpine",
    )
    tools = _export_buttons("served-export", grid_id, lang)
    return html.Div(
        [
            tools,
            html.P(id=f"{grid_id}-count", className="count", role="status", **aria(live="polite")),
            table,
            dcc.Store(id={"type": "served-search", "grid": grid_id}),
            dcc.Store(id={"type": "served-query", "grid": grid_id}),
            dcc.Download(id={"type": "served-download", "grid": grid_id}),
        ],
        className="grid",
    )


def serves(grid_id: str, rows: Rows, *, search_id: str, count_key: str) -> None:
    """Answer the :func:`served_grid` ``grid_id`` from ``rows(sources, profile,
    workspace)``, the whole table in the grid's fields: the blocks it asks for and
    the count (the label ``count_key``, with ``{count}`` and ``{total}``), after the
    search typed in ``search_id`` (:func:`dashboards.rows.query_rows`), and its
    downloads, formulas neutralised (:func:`export_table`)."""
    count_id = f"{grid_id}-count"

    @dash.callback(
        Output(grid_id, "getRowsResponse"),
        Output(count_id, "children"),
        Input(grid_id, "getRowsRequest"),
        State(search_id, "value"),
        State("ctx", "data"),
        prevent_initial_call=True,
    )
    def _rows(request: Any, search: str | None, ctx: Any) -> tuple[dict[str, Any], Any]:
        lang, sources, profile = context(ctx)
        try:
            frame = rows(sources, profile, workspace())
            answer = rows_block(frame, _mapping(request), search=search or "")
        except Exception as error:  # an empty grid, and the message where the count goes
            return {"rowData": [], "rowCount": 0}, failure(lang, error)
        shown = t(
            lang,
            count_key,
            count=number(answer["rowCount"], lang, 0),
            total=number(len(frame), lang, 0),
        )
        return answer, shown

    # A new search: the grid drops its blocks and asks again (assets/export.js).
    dash.clientside_callback(
        ClientsideFunction(namespace="knelpunt", function_name="refreshRows"),
        Output({"type": "served-search", "grid": grid_id}, "data"),
        Input(search_id, "value"),
        State({"type": "served-search", "grid": grid_id}, "id"),
        prevent_initial_call=True,
    )

    @dash.callback(
        Output(count_id, "children", allow_duplicate=True),
        Output({"type": "served-download", "grid": grid_id}, "data"),
        Input({"type": "served-query", "grid": grid_id}, "data"),
        State(search_id, "value"),
        State("ctx", "data"),
        prevent_initial_call=True,
    )
    @guarded
    def _export(query: Any, search: str | None, ctx: Any) -> tuple[Any, Any]:
        if not isinstance(query, dict) or query.get("format") not in ("csv", "xlsx"):
            raise PreventUpdate
        _lang, sources, profile = context(ctx)
        frame = rows(sources, profile, workspace())
        found = query_rows(
            frame,
            sort_model=query.get("sortModel") if isinstance(query.get("sortModel"), list) else None,
            filter_model=_mapping(query.get("filterModel")),
            search=search or "",
        )
        # The columns as the grid shows them (the user may have moved them).
        fields, headers = query.get("fields") or [], query.get("headers") or []
        shown = [
            (str(field), str(header))
            for field, header in zip(fields, headers, strict=False)
            if field in frame.columns
        ] or [(str(c), str(c)) for c in frame.columns]
        table = found[[field for field, _ in shown]].set_axis([h for _, h in shown], axis=1)
        name = f"{grid_id}.{query['format']}"
        return dash.no_update, send_bytes(export_table(table, format=query["format"]), name)


# A served grid's download: its columns, sort and filters, gathered in the browser
# (assets/export.js); the rows are found on the server (:func:`serves`).
dash.clientside_callback(
    ClientsideFunction(namespace="knelpunt", function_name="gridQuery"),
    Output({"type": "served-query", "grid": MATCH}, "data"),
    Input({"type": "served-export", "grid": MATCH, "format": ALL}, "n_clicks"),
    prevent_initial_call=True,
)


def _mapping(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def table(header: html.Tr, rows: Sequence[html.Tr]) -> html.Div:
    """A small table of figures, scrolling sideways on a narrow screen."""
    return html.Div(
        html.Table([html.Thead(header), html.Tbody(list(rows))], className="scorecard"),
        className="table-scroll",
    )


def card(label: str, value: str, card_id: str) -> html.Div:
    """A figure with its label, as the cards at the top of a page show it."""
    return html.Div(
        [html.Div(label, className="card-label"), html.Div(value, className="card-value")],
        className="card",
        id=card_id,
    )


def panel(title: str, content: Any, panel_id: str) -> html.Section:
    """A titled section of a page."""
    return html.Section([html.H2(title), content], className="panel", id=f"panel-{panel_id}")


def graph(fig: go.Figure, graph_id: str, *, height: int = 320) -> html.Div:
    """A figure in the house style, with an SVG download beside Plotly's PNG one."""
    return html.Div(
        [
            html.Div(
                html.Button(
                    "SVG",
                    id={"type": "figure-svg", "graph": graph_id},
                    className="tool",
                    title=graph_id,
                ),
                className="tools",
            ),
            dcc.Graph(figure=house_style(fig, height=height), config=PLOT_CONFIG, id=graph_id),
        ],
        className="figure",
    )


dash.clientside_callback(
    ClientsideFunction(namespace="knelpunt", function_name="figureSvg"),
    Output({"type": "figure-svg", "graph": MATCH}, "className"),
    Input({"type": "figure-svg", "graph": MATCH}, "n_clicks"),
    prevent_initial_call=True,
)
