"""The profile: what the data does not say.

A profile is one YAML file with the domain knowledge an analysis needs
besides the events: the organisation's working calendar, the teams and roles
people work in, the hours of teams and people that differ from it, the class
of each activity, and optionally the protocol as a BPMN model. A consultant
copies a shipped profile (``generiek`` or ``sociaal-domein``) and edits it::

    name: Sociaal team Noord
    calendar:                        # the organisation's hours (WorkCalendar.from_mapping)
      hours: {mon: "08:30-17:00", tue: "08:30-17:00", wed: "08:30-17:00",
              thu: "08:30-17:00", fri: "08:30-12:30"}
      holidays: NL
    teams:
      Wmo-loket:
        members: [Anouk, Bram]
        calendar:                    # only what differs; the rest comes from above
          hours: {mon: "09:00-12:00", wed: "09:00-12:00"}
      Sociaal team:
        members: [Chris, Dewi]
    roles:
      consulent: {members: [Anouk, Bram]}
      generalist: {members: [Chris, Dewi]}
    resources:                       # personal hours (part-time), over the team's
      Dewi: {calendar: {hours: {mon: "09:00-17:00", tue: "09:00-17:00"}}}
    activities:                      # protocol, system, steering, client, work
      protocol: [Akkoord teamleider, "Overdracht *"]
      system: ["Registreren *"]
    protocol: protocol.bpmn          # relative to this file
    criteria:                        # policy goals (see knelpunt.policy)
      - {id: wmo-onderzoek, type: deadline, from: Melding*, to: Verslag onderzoek,
         within: 6 weeks, target: 95%, reference: Wmo 2015 art. 2.3.2}
    privacy:                         # recording this client's exports (knelpunt.privacy)
      pseudonymise: yes              # case ids, resources, detected columns (default yes)
      columns: {BSN: pseudonymise, Telefoon: drop, Wijk: keep}

Every value is read as text (no YAML surprises: a resource called ``0123``
or ``no`` keeps its name); ``null``, ``~`` or nothing leaves a section empty,
and a key given twice is refused. Without a ``calendar``, or without its
``hours``, the organisation works Monday to Friday, 09:00-17:00. A calendar
given for a team or a person replaces only the keys it names: a team that
gives ``hours`` keeps the organisation's holidays and time zone; a person's
calendar builds on their team's. Hours name a whole week: days left out are
closed.

Errors name the file, the line and column, and the place in the profile
(``teams → Wmo-loket → calendar``), and say what to write instead.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources as package_files
from pathlib import Path
from typing import Final, Literal

import pandas as pd

from knelpunt.errors import CalendarError, ProfileError
from knelpunt.policy import Criterion, SpecError, parse_criteria
from knelpunt.privacy import ACTIONS, Action, PrivacyChoices
from knelpunt.worktime import WorkCalendar, load_yaml

__all__ = [
    "ACTIVITY_CLASSES",
    "SHIPPED_PROFILES",
    "Group",
    "Profile",
    "ProfileCheck",
    "check_profile",
    "read_profile",
]

ACTIVITY_CLASSES: Final = ("protocol", "system", "steering", "client", "work")
SHIPPED_PROFILES: Final = ("generiek", "sociaal-domein")
_SECTIONS: Final = (
    "name",
    "calendar",
    "teams",
    "roles",
    "resources",
    "activities",
    "protocol",
    "criteria",
    "privacy",
)
_NULLS: Final = frozenset({"", "~", "null"})
_YES: Final = frozenset({"yes", "true", "on", "ja", "y"})
_NO: Final = frozenset({"no", "false", "off", "nee", "n"})
# Without a calendar (or without its hours): Monday to Friday, 09:00-17:00.
_OFFICE: Final = {"hours": dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-17:00")}

Where = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """A team or a role: its name, its members, and (teams only) its own hours."""

    name: str
    members: frozenset[str]
    calendar: WorkCalendar | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """Domain knowledge for an analysis (see the module documentation for the file).

    Attributes:
        name: what the profile is for.
        calendar: the organisation's working calendar.
        teams, roles: the groups people work in, in the file's order.
        schedules: personal working hours, as (resource, calendar) pairs.
        activities: per activity class, the names and ``*`` patterns in it.
        protocol: the protocol model (BPMN or PNML) to check conformance against.
        criteria: the policy goals as criteria (see :mod:`knelpunt.policy`).
        privacy: what recording does with personal data in this client's exports
            (see :mod:`knelpunt.privacy`); the defaults when the section is absent.
        path: the file the profile was read from.
    """

    name: str
    calendar: WorkCalendar
    teams: tuple[Group, ...] = ()
    roles: tuple[Group, ...] = ()
    schedules: tuple[tuple[str, WorkCalendar], ...] = ()
    activities: tuple[tuple[str, tuple[str, ...]], ...] = ()
    protocol: Path | None = None
    criteria: tuple[Criterion, ...] = ()
    privacy: PrivacyChoices = field(default_factory=PrivacyChoices)
    path: Path | None = None

    def groups(self, kind: Literal["team", "role"] = "team") -> dict[str, str]:
        """Per resource, its team (or role): a mapping for ``groups=`` of
        :func:`knelpunt.discover_handovers` and friends."""
        if kind not in ("team", "role"):
            raise ProfileError(f"Group resources by 'team' or 'role', not {kind!r}.")
        chosen = self.teams if kind == "team" else self.roles
        return {member: group.name for group in chosen for member in sorted(group.members)}

    def resource_calendars(
        self, resources: Iterable[str], *, groups: Mapping[str, str] | None = None
    ) -> dict[str, WorkCalendar]:
        """The hours of each resource that does not keep the organisation's calendar.

        A person's own hours come first, then their team's. Team membership is
        the profile's; for people it does not list, ``groups`` (say, from
        :func:`knelpunt.read_resource_groups`) names the team, so a log's
        ``org:group`` can pick the team's hours.
        """
        own = dict(self.schedules)
        team_of = {**(groups or {}), **self.groups("team")}
        hours = {team.name: team.calendar for team in self.teams if team.calendar is not None}
        found: dict[str, WorkCalendar] = {}
        for resource in resources:
            calendar = own.get(resource) or hours.get(team_of.get(resource, ""))
            if calendar is not None:
                found[resource] = calendar
        return found

    def classify_activity(self, activity: str) -> str | None:
        """The class of an activity: ``protocol``, ``system``, ``steering``, ``client``
        or ``work``, or None when the profile does not say.

        A name listed exactly wins (ignoring case); otherwise a pattern such as
        ``"Registreren *"`` (``*``, ``?`` and ``[...]`` as in file names). When
        patterns of two classes match, the profile does not decide and the
        answer is None, never a guess.
        """
        wanted = activity.casefold()
        for kind, names in self.activities:
            if any(name.casefold() == wanted for name in names):
                return kind
        matches = {
            kind
            for kind, names in self.activities
            for name in names
            if _is_pattern(name) and fnmatch.fnmatchcase(wanted, name.casefold())
        }
        return matches.pop() if len(matches) == 1 else None

    def named_activities(self) -> list[tuple[str, str]]:
        """The activities the profile names exactly (not by a pattern), as (class, name)
        in the file's order: the steps a live capture offers as buttons.

        Example:
            >>> ("work", "Keukentafelgesprek") in read_profile("sociaal-domein").named_activities()
            True
        """
        return [
            (kind, name)
            for kind, names in self.activities
            for name in names
            if not _is_pattern(name)
        ]

    @classmethod
    def from_mapping(cls, spec: Mapping[str, object], *, path: Path | None = None) -> Profile:
        """A profile from its YAML content (every scalar a string, as
        :func:`read_profile` reads it)."""
        return _Reader(path).profile(spec)


def read_profile(path: str | Path) -> Profile:
    """Read and check a profile: a YAML file, or the name of a shipped one
    (``generiek``, ``sociaal-domein``).

    Raises:
        ProfileError: the file cannot be read, is not valid YAML, or says
            something that cannot be used; the message names the line.

    Example:
        >>> profile = read_profile("sociaal-domein")
        >>> profile.calendar.holidays
        'NL'
        >>> profile.classify_activity("Akkoord teamleider")
        'steering'
    """
    path = _locate(path)
    spec, root = load_yaml(path, error=ProfileError)
    if not isinstance(spec, Mapping):
        raise ProfileError(
            f"{path}: a profile is a mapping with sections such as name, calendar, teams; "
            "this file holds something else."
        )
    try:
        return Profile.from_mapping(spec, path=path)
    except _InvalidError as error:
        raise ProfileError(f"{path}{_mark(root, error.where)}: {error}") from None


@dataclass(frozen=True, slots=True)
class ProfileCheck:
    """How a profile fits a log: what it leaves open and what it names in vain.

    Attributes:
        classes: per activity in the log (by name), its class, or None when unclassified.
        unclassified: the log's activities the profile gives no class.
        unseen_activities: names the profile lists (not patterns) that the log lacks;
            often a typo.
        without_team: the log's resources in no team of the profile.
        unseen_people: people the profile names (teams, roles, hours) that the log lacks.
    """

    classes: tuple[tuple[str, str | None], ...]
    unclassified: tuple[str, ...]
    unseen_activities: tuple[str, ...]
    without_team: tuple[str, ...]
    unseen_people: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per activity of the log: its ``class`` (None: not classified)."""
        return pd.DataFrame(self.classes, columns=["activity", "class"])

    def _repr_html_(self) -> str:
        head = (
            f"<p>{len(self.unclassified)} activities unclassified, {len(self.without_team)} "
            "people without a team</p>"
        )
        return head + self.to_frame().to_html(index=False)


def check_profile(
    profile: Profile, *, activities: Iterable[str], resources: Iterable[str]
) -> ProfileCheck:
    """Hold a profile against a log's activities and resources.

    Example:
        >>> found = check_profile(read_profile("sociaal-domein"),
        ...                       activities=["Melding", "Registreren melding", "Koffie"],
        ...                       resources=["Anouk"])
        >>> found.classes
        (('Koffie', None), ('Melding', 'client'), ('Registreren melding', 'system'))
        >>> found.unclassified, found.without_team
        (('Koffie',), ('Anouk',))
    """
    names = sorted({str(a) for a in activities}, key=str.casefold)
    people = sorted({str(r) for r in resources})
    classes = tuple((name, profile.classify_activity(name)) for name in names)
    seen = {name.casefold() for name in names}
    listed = [n for _, ns in profile.activities for n in ns if not _is_pattern(n)]
    named = {m for g in (*profile.teams, *profile.roles) for m in g.members}
    named |= {person for person, _ in profile.schedules}
    in_team = set(profile.groups("team"))
    return ProfileCheck(
        classes=classes,
        unclassified=tuple(name for name, kind in classes if kind is None),
        unseen_activities=tuple(n for n in listed if n.casefold() not in seen),
        without_team=tuple(p for p in people if p not in in_team),
        unseen_people=tuple(sorted(named - set(people))),
    )


class _InvalidError(ProfileError):
    """A problem at a place in the profile; :func:`read_profile` adds the line."""

    def __init__(self, where: Where, message: str) -> None:
        shown = " → ".join(str(part) for part in where)
        super().__init__(f"{shown}: {message}" if shown else message)
        self.where = where


class _Reader:
    def __init__(self, path: Path | None) -> None:
        self.path = path

    def profile(self, spec: Mapping[str, object]) -> Profile:
        unknown = [str(key) for key in spec if key not in _SECTIONS]
        if unknown:
            raise _InvalidError(
                (unknown[0],),
                f"unknown section. A profile has {', '.join(_SECTIONS)}.",
            )
        base = {**_OFFICE, **self.mapping(spec.get("calendar") or {}, ("calendar",))}
        calendar = self.calendar(base, ("calendar",))
        teams = tuple(self.groups(spec, "teams", base))
        roles = tuple(self.groups(spec, "roles", None))
        for kind, groups in (("team", teams), ("role", roles)):
            seen: dict[str, str] = {}
            for group in groups:
                for member in sorted(group.members):
                    if member in seen:
                        raise _InvalidError(
                            (f"{kind}s", group.name, "members"),
                            f"{member!r} is also in the {kind} {seen[member]!r}; a person "
                            f"belongs to one {kind}. Remove them from one of the two.",
                        )
                    seen[member] = group.name
        team_specs = {
            member: self.merged(base, spec, ("teams", group.name))
            for group in teams
            for member in group.members
        }
        schedules = []
        for person, entry in self.mapping(spec.get("resources") or {}, ("resources",)).items():
            where: Where = ("resources", person)
            entry = self.mapping(entry, where, keys=("calendar",))
            if "calendar" in entry:
                own = self.mapping(entry["calendar"], (*where, "calendar"))
                merged = {**team_specs.get(person, base), **own}
                schedules.append((person, self.calendar(merged, (*where, "calendar"))))
        return Profile(
            name=self.text(spec.get("name", ""), ("name",)),
            calendar=calendar,
            teams=teams,
            roles=roles,
            schedules=tuple(schedules),
            activities=self.activities(spec.get("activities") or {}),
            protocol=self.protocol(spec.get("protocol")),
            criteria=self.criteria(spec.get("criteria")),
            privacy=self.privacy(spec.get("privacy")),
            path=self.path,
        )

    def privacy(self, spec: object) -> PrivacyChoices:
        entry = self.mapping(spec, ("privacy",), keys=("pseudonymise", "columns"))
        on = self.text(entry.get("pseudonymise", "yes"), ("privacy", "pseudonymise")).lower()
        if on not in _YES | _NO:
            raise _InvalidError(
                ("privacy", "pseudonymise"),
                f"{on!r} is not yes or no. Write 'pseudonymise: yes' (the default; case ids, "
                "resources and detected personal data) or 'no' (synthetic data only).",
            )
        columns: dict[str, Action] = {}
        for column, action in self.mapping(entry.get("columns"), ("privacy", "columns")).items():
            chosen = self.text(action, ("privacy", "columns", column)).lower()
            if chosen not in ACTIONS:
                raise _InvalidError(
                    ("privacy", "columns", column),
                    f"{chosen!r} is not a choice; write drop, pseudonymise or keep.",
                )
            columns[column] = chosen  # type: ignore[assignment]  # checked just above
        return PrivacyChoices(pseudonymise=on in _YES, columns=columns)

    def criteria(self, spec: object) -> tuple[Criterion, ...]:
        try:
            return parse_criteria(spec)
        except SpecError as error:
            raise _InvalidError(error.where, str(error)) from None

    def groups(
        self, spec: Mapping[str, object], section: str, base: Mapping[str, object] | None
    ) -> Iterable[Group]:
        for name, entry in self.mapping(spec.get(section) or {}, (section,)).items():
            where: Where = (section, name)
            keys = ("members", "calendar") if base is not None else ("members",)
            entry = self.mapping(entry, where, keys=keys)
            members = self.names(entry.get("members") or [], (*where, "members"))
            calendar = None
            if base is not None and "calendar" in entry:
                calendar = self.calendar(self.merged(base, spec, where), (*where, "calendar"))
            yield Group(name=name, members=frozenset(members), calendar=calendar)

    def merged(
        self, base: Mapping[str, object], spec: Mapping[str, object], where: Where
    ) -> dict[str, object]:
        """A team's calendar spec laid over the organisation's."""
        section, name = where
        entry = self.mapping(spec.get(str(section)) or {}, (section,))[str(name)]
        own = self.mapping(self.mapping(entry, where).get("calendar") or {}, (*where, "calendar"))
        return {**base, **own}

    def activities(self, spec: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
        given = self.mapping(spec, ("activities",), keys=ACTIVITY_CLASSES)
        found = []
        owner: dict[str, str] = {}
        for kind, names in given.items():
            listed = self.names(names, ("activities", kind))
            for name in listed:
                if name.casefold() in owner:
                    raise _InvalidError(
                        ("activities", kind),
                        f"{name!r} is also listed under {owner[name.casefold()]!r}; an "
                        "activity has one class. Remove it from one of the two.",
                    )
                owner[name.casefold()] = kind
            found.append((kind, tuple(listed)))
        return tuple(found)

    def protocol(self, value: object) -> Path | None:
        if value is None or (isinstance(value, str) and value.strip().casefold() in _NULLS):
            return None
        text = Path(self.text(value, ("protocol",)))
        if not text.is_absolute() and self.path is not None:
            text = self.path.parent / text
        if self.path is not None and not text.is_file():
            raise _InvalidError(
                ("protocol",),
                f"the protocol model {text} does not exist. Give a BPMN or PNML file, "
                "relative to the profile, or leave the protocol out.",
            )
        return text

    def calendar(self, spec: Mapping[str, object], where: Where) -> WorkCalendar:
        try:
            calendar = WorkCalendar.from_mapping(spec)
        except CalendarError as error:
            raise _InvalidError(where, str(error)) from None
        if not any(calendar.hours):
            raise _InvalidError(
                where,
                "these hours are never open, so every working time would be 0. "
                'Give hours such as {mon: "09:00-17:00"}, or leave the calendar out for '
                "Monday to Friday 09:00-17:00.",
            )
        return calendar

    def mapping(
        self, value: object, where: Where, *, keys: Iterable[str] | None = None
    ) -> dict[str, object]:
        if value is None or (isinstance(value, str) and value.strip() in _NULLS):
            return {}
        if not isinstance(value, Mapping):
            raise _InvalidError(
                where, "expected a mapping (key: value lines), found a list or text."
            )
        found = {str(key): item for key, item in value.items()}
        if keys is not None:
            allowed = tuple(keys)
            wrong = [key for key in found if key not in allowed]
            if wrong:
                raise _InvalidError((*where, wrong[0]), f"unknown key; use {', '.join(allowed)}.")
        return found

    def names(self, value: object, where: Where) -> list[str]:
        if isinstance(value, str):
            value = [] if value.strip() in _NULLS else [value]
        if not isinstance(value, list):
            raise _InvalidError(where, "expected a list of names, such as [Anouk, Bram].")
        names = [self.text(item, (*where, i)) for i, item in enumerate(value)]
        return [name for name in names if name]

    def text(self, value: object, where: Where) -> str:
        if not isinstance(value, str):
            raise _InvalidError(where, "expected a single text value here.")
        return value.strip()


def _is_pattern(name: str) -> bool:
    return any(char in name for char in "*?[")


def _locate(path: str | Path) -> Path:
    given = Path(path)
    try:
        exists = given.exists()
    except (OSError, ValueError):  # a name too long for a path, or holding a NUL
        exists = False
    if given.suffix == "" and not exists and str(path) in SHIPPED_PROFILES:
        shipped = package_files.files("knelpunt") / "profiles" / f"{path}.yaml"
        return Path(str(shipped))
    if not exists:
        raise ProfileError(
            f"{str(given)[:200]}: no such profile. Give a YAML file, or one of the shipped "
            f"profiles: {', '.join(SHIPPED_PROFILES)}."
        )
    return given


def _mark(root: object, where: Where) -> str:
    """', line L, column C' of the deepest node of ``where`` that exists in the file."""
    import yaml

    node = root
    found = None
    for part in where:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child, found = value, key
                    break
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = found = node.value[part]
        if child is None:
            break
        node = child
    if found is None:
        return ""
    return f", line {found.start_mark.line + 1}, column {found.start_mark.column + 1}"
