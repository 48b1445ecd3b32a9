"""``knelpunt users add|list|set-role|remove|passwd`` and ``knelpunt audit``: who may use
the dashboard and the capture API, and what they did.

Passwords are read from a hidden prompt (typed twice), or with ``--password-stdin``
from the first line of standard input; never from the command line, where other
users of the machine and the shell's history would see them.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.table import Table

from knelpunt import access
from knelpunt.cli._app import JsonOption, StoreOption, _fail, _open, app, out, who
from knelpunt.errors import KnelpuntError
from knelpunt.events.store import DEFAULT_STORE

users_app = typer.Typer(
    help="Users of the dashboard and the capture API: viewer, analyst or admin.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")

RoleArgument = Annotated[str, typer.Argument(help="viewer, analyst or admin.")]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input (for scripts).",
    ),
]
ByOption = Annotated[
    str | None,
    typer.Option(help="Who makes the change, for the audit log (default: your login name)."),
]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise typer.BadParameter("standard input held no password.")
        return password
    first = getpass.getpass("Password: ")
    if getpass.getpass("The same password again: ") != first:
        raise typer.BadParameter("the two passwords differ; nothing was changed.")
    return first


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The log-in name, e.g. anna.devries.")],
    role: Annotated[str, typer.Option(help="viewer, analyst or admin.")] = "viewer",
    store: StoreOption = DEFAULT_STORE,
    password_stdin: PasswordStdin = False,
    by: ByOption = None,
) -> None:
    """Add a user; the password is asked for (at least 12 characters)."""
    password = _read_password(password_stdin)
    with _open(store) as target:
        try:
            user = access.add_user(target, name, password, role=role, by=who(by))
        except KnelpuntError as error:
            raise _fail(error) from error
    out.print(f"Added {user.name} ({user.role}).", highlight=False)


@users_app.command("list")
def list_(store: StoreOption = DEFAULT_STORE, as_json: JsonOption = False) -> None:
    """List the users and their roles."""
    with _open(store) as target:
        found = access.list_users(target)
    rows = [
        {
            "name": u.name,
            "role": u.role,
            "created_at": u.created_at.isoformat(timespec="seconds"),
            "changed_at": u.changed_at.isoformat(timespec="seconds"),
        }
        for u in found
    ]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    if not rows:
        out.print("No users yet. Add the first admin: knelpunt users add NAME --role admin")
        return
    table = Table("name", "role", "added (UTC)", "changed (UTC)")
    for row in rows:
        table.add_row(row["name"], row["role"], row["created_at"], row["changed_at"])
    out.print(table)


@users_app.command("set-role")
def set_role(
    name: Annotated[str, typer.Argument(help="The user.")],
    role: RoleArgument,
    store: StoreOption = DEFAULT_STORE,
    by: ByOption = None,
) -> None:
    """Give a user another role; it applies to their next request."""
    with _open(store) as target:
        try:
            user = access.set_role(target, name, role, by=who(by))
        except KnelpuntError as error:
            raise _fail(error) from error
    out.print(f"{user.name} is now {user.role}.", highlight=False)


@users_app.command("passwd")
def passwd(
    name: Annotated[str, typer.Argument(help="The user.")],
    store: StoreOption = DEFAULT_STORE,
    password_stdin: PasswordStdin = False,
    by: ByOption = None,
) -> None:
    """Set a user's password; their open sessions end."""
    password = _read_password(password_stdin)
    with _open(store) as target:
        try:
            user = access.set_password(target, name, password, by=who(by))
        except KnelpuntError as error:
            raise _fail(error) from error
    out.print(f"New password set for {user.name}; their open sessions have ended.")


@users_app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(help="The user.")],
    store: StoreOption = DEFAULT_STORE,
    by: ByOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove a user; their open sessions end. What they did stays in the audit log."""
    if not yes and not typer.confirm(f"Remove user {name}?"):
        raise typer.Exit(1)
    with _open(store) as target:
        try:
            access.remove_user(target, name, by=who(by))
        except KnelpuntError as error:
            raise _fail(error) from error
    out.print(f"Removed {name}.", highlight=False)


@app.command("audit")
def audit(
    store: StoreOption = DEFAULT_STORE,
    hours: Annotated[float | None, typer.Option(min=0, help="Only the last N hours.")] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(help="Only this action (repeatable): login_failed, record, purge, ..."),
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Only this user's entries.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="The newest N entries.")] = 100,
    as_json: JsonOption = False,
) -> None:
    """The audit log: who logged in (or failed to), recorded, simulated, exported, purged
    or changed users; when, and from which address."""
    since = None if hours is None else datetime.now(UTC) - timedelta(hours=hours)
    with _open(store) as target:
        try:
            entries = target.audit_log(since=since, actions=action, actor=actor, limit=limit)
        except KnelpuntError as error:
            raise _fail(error) from error
    rows: list[dict[str, Any]] = [
        {
            "at": e.at.isoformat(timespec="seconds"),
            "action": e.action,
            "actor": e.actor,
            "target": e.target,
            "address": e.address,
            "details": dict(e.details),
        }
        for e in entries
    ]
    if as_json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        out.print("The audit log has no such entries.")
        return
    table = Table("at (UTC)", "action", "who", "what", "from", "details")
    for row in rows:
        table.add_row(
            row["at"],
            row["action"],
            row["actor"] or "-",
            row["target"] or "-",
            row["address"] or "-",
            json.dumps(row["details"], ensure_ascii=False) if row["details"] else "",
        )
    out.print(table)
