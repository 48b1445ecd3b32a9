"""``knelpunt-dashboard`` (or ``python -m dashboards``): serve the dashboard.

``make run`` runs ``knelpunt-dashboard --demo``: on an empty store it first records
the demo year, then serves the dashboard at http://127.0.0.1:8050 on this machine
only (single-user local mode: no login). For several users, serve
``dashboards.wsgi:server`` with gunicorn on a PostgreSQL store (see the README).
"""

from __future__ import annotations

from typing import Annotated

import typer

import knelpunt as kp
from knelpunt.errors import KnelpuntError
from knelpunt.events.store import DEFAULT_STORE

cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@cli.command()
def serve(
    store: Annotated[
        str,
        typer.Option(envvar="KNELPUNT_STORE", help="SQLite file or postgresql:// URL."),
    ] = DEFAULT_STORE,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8050,
    profile: Annotated[str, typer.Option(help="The profile chosen at first.")] = "sociaal-domein",
    lang: Annotated[str, typer.Option(help="nl or en: the language at first.")] = "nl",
    demo: Annotated[
        bool, typer.Option("--demo", help="Record the demo year first if the store is empty.")
    ] = False,
    threads: Annotated[int, typer.Option(min=1, help="Worker threads.")] = 8,
    warm: Annotated[
        bool,
        typer.Option(
            "--warm/--no-warm",
            help="Compute the pages' results for all sources in the background at start.",
        ),
    ] = True,
) -> None:
    """Serve the dashboard on a store."""
    from waitress import serve as serve_wsgi

    from dashboards.app import create_app

    try:
        with kp.open_store(store) as opened:
            if demo and not kp.list_sources(opened):
                typer.echo("Recording the demo year (a simulated social team, 2025) ...")
                run = kp.simulate_scenario(opened, "demo")
                typer.echo(f"Recorded {run.added:,} events of {run.cases:,} cases.")
            found = kp.list_sources(opened)
    except KnelpuntError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(4) from error
    app = create_app(store, profile=profile, lang=lang)
    if warm:
        app.server.config["KNELPUNT_WORKSPACE"].warm(profile=profile)
    typer.echo(
        f"Store: {store} ({len(found)} source(s), {sum(s.event_count for s in found):,} events)"
    )
    typer.echo(f"Dashboard: http://{host}:{port}  (Ctrl+C stops it)")
    if host in ("127.0.0.1", "localhost", "::1"):
        typer.echo("Single-user local mode: no login, reachable from this machine only.")
    try:
        serve_wsgi(app.server, host=host, port=port, threads=threads, _quiet=True)
    except OSError as error:
        typer.echo(
            f"error: cannot listen on {host}:{port}: {error.strerror or error}. "
            "Choose another --port, or stop the program that uses it.",
            err=True,
        )
        raise typer.Exit(1) from error


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
