"""``knelpunt profile check``: read a profile, say what it holds, and (with a store)
how it fits the recorded log; ``knelpunt profile draft``: a profile drafted from the
recorded log, every activity with a suggested class and why."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from knelpunt.analysis.drafting import ProfileDraft, draft_profile
from knelpunt.cli._app import (
    JsonOption,
    SourcesOption,
    StoreOption,
    _events,
    _fail,
    _profile,
    _read_groups,
    app,
    out,
)
from knelpunt.errors import KnelpuntError, StoreConnectionError
from knelpunt.events.store import DEFAULT_STORE
from knelpunt.mining.projection import EventTable
from knelpunt.profile import (
    ACTIVITY_CLASSES,
    SHIPPED_PROFILES,
    Profile,
    ProfileCheck,
    check_profile,
)
from knelpunt.worktime import WEEKDAYS, WorkCalendar

profile_app = typer.Typer(
    help="Profiles: the calendar, teams, roles and activity classes an analysis uses.",
    no_args_is_help=True,
)
app.add_typer(profile_app, name="profile")


@profile_app.command("check")
def check(
    path: Annotated[
        str,
        typer.Argument(
            help=f"A profile YAML file, or a shipped one: {', '.join(SHIPPED_PROFILES)}."
        ),
    ],
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Also hold the profile against this store's log (activities, people).",
        ),
    ] = None,
    source: SourcesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a profile: is it valid, what does it say, and does it fit the log?"""
    profile = _profile(path)
    fit = None
    if store is not None:
        events = _recorded_events(store, source, "check the profile against")
        fit = check_profile(
            profile, activities=events.activities.tolist(), resources=events.resources.tolist()
        )
    if as_json:
        out.print_json(json.dumps(_profile_dict(profile, fit)))
        return
    _print_profile(profile)
    if fit is not None:
        _print_fit(fit)


@profile_app.command("draft")
def draft(
    store: StoreOption = DEFAULT_STORE,
    source: SourcesOption = None,
    base: Annotated[
        str,
        typer.Option(
            "--base",
            help="The profile to build on (its calendar, teams and classes are kept): a "
            f"YAML file or {', '.join(SHIPPED_PROFILES)}.",
        ),
    ] = "generiek",
    output: Annotated[
        Path | None,
        typer.Option("--out", help="Write the draft to this file (default: print it)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out file.")] = False,
    lang: Annotated[
        str, typer.Option("--lang", help="Language of the reasons in the draft: nl or en.")
    ] = "nl",
    as_json: JsonOption = False,
) -> None:
    """Draft a profile from the log: each activity with a suggested class and the reason."""
    if lang not in ("nl", "en"):
        raise typer.BadParameter("choose nl or en.", param_hint="'--lang'")
    if output is not None and output.exists() and not force:
        raise typer.BadParameter(
            f"{output} exists; give another file, or --force to replace it.",
            param_hint="'--out'",
        )
    chosen = _profile(base)
    events = _recorded_events(store, source, "draft a profile from")
    try:
        found = draft_profile(events, base=chosen, groups=_read_groups(store, source, "org:group"))
        text = found.to_yaml(lang=lang)
    except KnelpuntError as error:
        raise _fail(error) from error
    if output is not None:
        _write_atomically(output, text)
    if as_json:
        frame = found.activities
        out.print_json(
            json.dumps(
                {
                    "activities": frame.to_dict("records"),
                    "systems": list(found.systems),
                    "teams": {name: list(members) for name, members in found.teams.items()},
                    "yaml": text,
                    "written": None if output is None else str(output),
                }
            )
        )
    elif output is None:
        sys.stdout.write(text)
    else:
        _print_draft(found, output, store, lang)


def _recorded_events(store: str, sources: list[int] | None, purpose: str) -> EventTable:
    """The store's events; a clear exit when there is no store (these commands never
    create one) or it holds no events."""
    if "://" not in store and not Path(store).is_file():
        raise _fail(
            StoreConnectionError(
                f"No store at {store}: record a log first (knelpunt record FILE --store "
                f"{store}), then {purpose} it."
            )
        )
    events = _events(store, sources)
    if len(events) == 0:
        raise _fail(
            StoreConnectionError(
                f"The store {store} holds no events (of these sources) to {purpose}."
            )
        )
    return events


def _write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing (a temporary file renamed into place)."""
    try:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(name, path)
    except OSError as error:
        raise typer.BadParameter(
            f"cannot write {path}: {error.strerror}.", param_hint="'--out'"
        ) from error


def _print_draft(found: ProfileDraft, path: Path, store: str, lang: str) -> None:
    table = Table("activity", "suggested", "why", "instances", title="Suggested classes")
    for row in found.activities.itertuples(index=False):
        table.add_row(
            str(row.activity),
            str(row.suggested),
            str(getattr(row, f"reason_{lang}")),
            f"{row.instances:,}",
        )
    out.print(table)
    counts = found.activities["suggested"].value_counts()
    shown = ", ".join(f"{kind} {counts.get(kind, 0)}" for kind in ACTIVITY_CLASSES)
    out.print(f"Wrote {path} ({shown}).", highlight=False)
    out.print(
        f"Check every class, edit the file, then: knelpunt profile check {path} --store {store}",
        highlight=False,
    )


def _hours(calendar: WorkCalendar) -> str:
    days = [
        f"{day} "
        + ", ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in spans)
        for day, spans in zip(WEEKDAYS, calendar.hours, strict=True)
        if spans
    ]
    holidays = f"; {calendar.holidays} public holidays" if calendar.holidays else "; no holidays"
    closed = f"; {len(calendar.closed)} extra closed day(s)" if calendar.closed else ""
    return ("; ".join(days) or "never open") + holidays + closed + f" ({calendar.timezone})"


def _print_profile(profile: Profile) -> None:
    out.print(f"Profile {profile.name or '(no name)'}: {profile.path}", highlight=False)
    out.print(f"Calendar: {_hours(profile.calendar)}", highlight=False)
    groups = Table("kind", "name", "members", "own hours", title="Teams and roles")
    for kind, chosen in (("team", profile.teams), ("role", profile.roles)):
        for group in chosen:
            groups.add_row(
                kind,
                group.name,
                ", ".join(sorted(group.members)) or "-",
                _hours(group.calendar) if group.calendar else "-",
            )
    if profile.teams or profile.roles:
        out.print(groups)
    for person, calendar in profile.schedules:
        out.print(f"Hours of {person}: {_hours(calendar)}", highlight=False)
    for kind, names in profile.activities:
        out.print(f"Activities, {kind}: {', '.join(names)}", highlight=False)
    if profile.protocol is not None:
        out.print(f"Protocol model: {profile.protocol}", highlight=False)
    out.print("The profile is valid.")


def _print_fit(fit: ProfileCheck) -> None:
    classified = sum(kind is not None for _, kind in fit.classes)
    out.print(
        f"The log's activities: {classified} of {len(fit.classes)} classified.", highlight=False
    )
    for label, names in (
        ("Without a class (add them under activities)", fit.unclassified),
        ("Listed but not in the log (a typo?)", fit.unseen_activities),
        ("People in no team (add them to a team's members)", fit.without_team),
        ("People named but not in the log (a typo?)", fit.unseen_people),
    ):
        if names:
            more = f" and {len(names) - 12} more (--json lists all)" if len(names) > 12 else ""
            out.print(f"{label}: {', '.join(names[:12])}{more}", highlight=False)


def _profile_dict(profile: Profile, fit: ProfileCheck | None) -> dict[str, Any]:
    def calendar(found: WorkCalendar | None) -> dict[str, Any] | None:
        if found is None:
            return None
        return {
            "hours": dict(zip(WEEKDAYS, [list(map(list, s)) for s in found.hours], strict=True)),
            "holidays": found.holidays,
            "closed": sorted(d.isoformat() for d in found.closed),
            "timezone": found.timezone,
        }

    return {
        "name": profile.name,
        "path": str(profile.path),
        "calendar": calendar(profile.calendar),
        "teams": [
            {"name": t.name, "members": sorted(t.members), "calendar": calendar(t.calendar)}
            for t in profile.teams
        ],
        "roles": [{"name": r.name, "members": sorted(r.members)} for r in profile.roles],
        "resources": {person: calendar(own) for person, own in profile.schedules},
        "activities": {kind: list(names) for kind, names in profile.activities},
        "protocol": None if profile.protocol is None else str(profile.protocol),
        "fit": None if fit is None else asdict(fit),
    }
