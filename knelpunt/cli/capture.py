"""``knelpunt capture serve|open|close``: live capture of a training simulation over HTTP."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from knelpunt.cli._app import (
    JsonOption,
    StoreOption,
    _fail,
    _open,
    _source_dict,
    app,
    audit,
    err,
    out,
)
from knelpunt.errors import KnelpuntError
from knelpunt.events.store import DEFAULT_STORE
from knelpunt.simulate.capture import close_session, open_session

capture_app = typer.Typer(
    help="Live capture: an HTTP endpoint that records a training simulation's events.",
    no_args_is_help=True,
)
app.add_typer(capture_app, name="capture")


@capture_app.command("serve")
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on; 0.0.0.0 opens it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8765,
    store: StoreOption = DEFAULT_STORE,
    threads: Annotated[int, typer.Option(min=1, max=256, help="Requests handled at once.")] = 8,
    auth: Annotated[
        bool | None,
        typer.Option(
            "--auth/--no-auth",
            help="Opening a session needs an analyst's name and password (HTTP Basic). "
            "Default: on unless serving on the loopback; it cannot be off beyond it.",
        ),
    ] = None,
) -> None:
    """Serve the capture endpoint (/api/capture/) until Ctrl-C."""
    from knelpunt.access import is_loopback
    from knelpunt.simulate.capture import serve_capture

    checked = not is_loopback(host) if auth is None else auth

    def ready(url: str, target: str) -> None:
        out.print(
            f"Capturing into {target} at {url} (Ctrl-C stops)", highlight=False, soft_wrap=True
        )
        if checked:
            out.print(
                "Opening a session needs an analyst's log-in (curl -u NAME); sending events "
                "needs the session's token.",
                highlight=False,
            )
        else:
            out.print(
                "No log-in: anyone on this machine may open a session; events need its token.",
                highlight=False,
            )

    try:
        serve_capture(store, host=host, port=port, threads=threads, ready=ready, auth=checked)
    except KnelpuntError as error:
        raise _fail(error) from error
    except OSError as error:
        err.print(
            f"[bold red]error:[/] cannot listen on {host}:{port}: {error.strerror or error}. "
            "Choose another --port, or stop the program that uses it.",
            highlight=False,
        )
        raise typer.Exit(1) from error
    except KeyboardInterrupt:
        pass
    out.print("stopped; every acknowledged event is in the store")


@capture_app.command("open")
def open_(
    name: Annotated[str, typer.Argument(help="The session's name, e.g. 'Oefening 3 maart'.")],
    store: StoreOption = DEFAULT_STORE,
    by: Annotated[str | None, typer.Option(help="Who opens it.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Open a capture session: prints its source id and its token, once."""
    if not name.strip():
        raise typer.BadParameter("give the session a name.", param_hint="'NAME'")
    with _open(store) as target:
        try:
            session = open_session(target, name, created_by=by)
        except KnelpuntError as error:
            raise _fail(error) from error
        # As the capture API writes it: the session, never its token.
        audit(
            target,
            "capture_open",
            target=f"source {session.source.source_id} ({session.source.name})",
            details={},
            by=by,
        )
    source_id = session.source.source_id
    if as_json:
        out.print_json(json.dumps({"source_id": source_id, "token": session.token}))
        return
    out.print(
        f"Opened capture session {source_id} ('{session.source.name}').\n"
        f"Token (shown only now; the store keeps only its hash): {session.token}\n"
        f"Send events: POST /api/capture/sessions/{source_id}/events with "
        "'Authorization: Bearer <token>'.",
        highlight=False,
        soft_wrap=True,
    )


@capture_app.command("close")
def close(
    source_id: Annotated[int, typer.Argument(help="The session's source id.")],
    store: StoreOption = DEFAULT_STORE,
    as_json: JsonOption = False,
) -> None:
    """Close a capture session: write its closing report; later events are refused."""
    with _open(store) as target:
        try:
            source = close_session(target, source_id, closed_by="cli")
        except KnelpuntError as error:
            raise _fail(error) from error
    if as_json:
        out.print_json(json.dumps(_source_dict(source)))
        return
    report = source.report
    out.print(
        f"Closed capture session {source_id} ('{source.name}'): {report['events']:,} events, "
        f"{report['cases']:,} cases, {report['activities']:,} activities, from "
        f"{report['first_event'] or '-'} to {report['last_event'] or '-'}.",
        highlight=False,
        soft_wrap=True,
    )
