"""``knelpunt-dashboard`` (or ``python -m dashboards``): serve the dashboard.

``make run`` runs ``knelpunt-dashboard --demo``: on an empty store it first records
the demo year, then serves the dashboard at http://127.0.0.1:8050 on this machine
only (single-user local mode: no login). ``--auth`` asks every visitor to log in
(users from ``knelpunt users add``); it is on whenever ``--host`` is not the
loopback, and the server refuses to start there without it. For several users,
serve ``dashboards.wsgi:server`` with gunicorn on a PostgreSQL store (see the
README).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import knelpunt as kp
from knelpunt.access import is_loopback, may
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
            help="Compute the pages' results in the background at start, and again "
            "whenever the store moves on (a recording by anyone).",
        ),
    ] = True,
    auth: Annotated[
        bool | None,
        typer.Option(
            "--auth/--no-auth",
            help="Every visitor logs in (users: 'knelpunt users add'). Default: on unless "
            "--host is the loopback; it cannot be off beyond it.",
        ),
    ] = None,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies",
            help="Cookies always carry Secure (behind a TLS proxy); else only over HTTPS.",
        ),
    ] = False,
    proxies: Annotated[
        int,
        typer.Option(
            min=0, help="Reverse proxies in front whose X-Forwarded-* headers are believed."
        ),
    ] = 0,
    results: Annotated[
        Path | None,
        typer.Option(
            envvar="KNELPUNT_RESULTS",
            help="A folder of results computed on a cluster (kp.export_relational, "
            "knelpunt map --save): the cluster page shows them.",
        ),
    ] = None,
) -> None:
    """Serve the dashboard on a store."""
    import os

    from waitress import serve as serve_wsgi

    from dashboards.app import create_app

    checked = not is_loopback(host) if auth is None else auth
    if not checked and not is_loopback(host):
        typer.echo(
            f"error: refusing to serve on {host} without log-in: anyone on the network could "
            "read and change the store. Leave out --no-auth (add users with 'knelpunt users "
            "add NAME --role admin'), or serve on 127.0.0.1.",
            err=True,
        )
        raise typer.Exit(2)
    try:
        with kp.open_store(store) as opened:
            if demo and not kp.list_sources(opened):
                typer.echo("Recording the demo year (a simulated social team, 2025) ...")
                run = kp.simulate_scenario(opened, "demo")
                typer.echo(f"Recorded {run.added:,} events of {run.cases:,} cases.")
            found = kp.list_sources(opened)
            users = kp.access.list_users(opened) if checked else []
    except KnelpuntError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(4) from error
    app = create_app(
        store,
        profile=profile,
        lang=lang,
        auth=checked,
        # One process: a key of its own unless one is given (sessions end at a restart).
        secret_key=os.environ.get("KNELPUNT_SECRET_KEY") or None,
        secure_cookies=secure_cookies,
        proxies=proxies,
        results=results,
    )
    workspace = app.server.config["KNELPUNT_WORKSPACE"]
    # The events and the facts every page needs, read back at once (also with --no-warm).
    workspace.prime()
    if warm:
        workspace.warm(profile=profile)
        # And again whenever the store moves on, whoever records in it.
        workspace.watch(profile=profile)
    typer.echo(
        f"Store: {store} ({len(found)} source(s), {sum(s.event_count for s in found):,} events)"
    )
    typer.echo(f"Dashboard: http://{host}:{port}  (Ctrl+C stops it)")
    if not checked:
        typer.echo(
            "Single-user local mode: no log-in, reachable from this machine only. "
            "Use --auth to have people log in."
        )
    else:
        admins = [u.name for u in users if may(u.role, "manage_users")]
        typer.echo(
            f"Auth mode: every visitor logs in ({len(users)} user(s), {len(admins)} admin(s))."
        )
        if not users:
            typer.echo(
                "No users yet: nobody can log in. Add the first admin with "
                f"'knelpunt users add NAME --role admin --store {store}'.",
                err=True,
            )
        if not secure_cookies and not is_loopback(host):
            typer.echo(
                "Note: this server speaks plain HTTP. Put a TLS proxy in front of it "
                "(--proxies 1 --secure-cookies): passwords and session cookies cross the "
                "network.",
                err=True,
            )
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
