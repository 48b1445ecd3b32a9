"""``knelpunt profile check``: read a profile, say what it holds, and (with a store)
how it fits the recorded log."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from knelpunt.cli._app import JsonOption, SourcesOption, _events, _fail, _profile, app, out
from knelpunt.errors import StoreConnectionError
from knelpunt.profile import SHIPPED_PROFILES, Profile, ProfileCheck, check_profile
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
        if "://" not in store and not Path(store).is_file():
            raise _fail(
                StoreConnectionError(
                    f"No store at {store}: give the file or URL that 'knelpunt ingest' "
                    "recorded into (the check does not create one)."
                )
            )
        events = _events(store, source)
        if len(events) == 0:
            raise _fail(
                StoreConnectionError(
                    f"The store {store} holds no events (of these sources) to check against."
                )
            )
        fit = check_profile(
            profile, activities=events.activities.tolist(), resources=events.resources.tolist()
        )
    if as_json:
        out.print_json(json.dumps(_profile_dict(profile, fit)))
        return
    _print_profile(profile)
    if fit is not None:
        _print_fit(fit)


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
