"""A draft profile from a log: every activity with a suggested class and the reason.

A consultant starts a profile from the log rather than from nothing:
:func:`draft_profile` lists each activity with the class the evidence
suggests, and writes a YAML profile (:meth:`ProfileDraft.to_yaml`) with the
reason next to every line, to be checked and edited. The rules, first match
wins:

1. **The base profile** already classes the activity: kept.
2. **Nobody does it**: the log names resources, never for this activity. It
   happens outside the organisation (a reply, a delivery): *client*.
3. **The name** says it, in Dutch or English (``Registreren``, ``Akkoord``,
   ``Overleg``, ``Wachten op``, ``ontvangen``...); a name that points at two
   classes decides nothing. (A reply that a message system carries is still
   the client's: the name comes before the resource.)
4. **A system does it**: most instances are done by a resource named like a
   system (``system``, ``batch``, ``robot``, ``iWmo``...) or one whose work
   is short (median ten minutes or less) and done mostly outside the
   organisation's hours or around the clock (six or seven days, fourteen
   hours or more a day): *system*.
5. **Batches keep a clock**: most batches start on one weekday (a meeting:
   *protocol*) or in one hour of the day (a scheduled run: *system*).
6. Otherwise the professional's own **work**, marked as a default to check.

Nothing here is a verdict: the draft says which rule suggested each class,
and :func:`knelpunt.find_blockers` reads only what the consultant keeps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import pandas as pd

from knelpunt.analysis.blockers import batch_patterns
from knelpunt.analysis.calendars import discover_calendars
from knelpunt.analysis.waiting import WaitingSplit, split_waiting
from knelpunt.errors import AnalysisError
from knelpunt.mining.instances import ActivityInstances
from knelpunt.mining.projection import EventTable
from knelpunt.profile import ACTIVITY_CLASSES, Profile, read_profile
from knelpunt.worktime import WEEKDAYS, WorkCalendar

__all__ = ["ProfileDraft", "draft_profile"]

# A resource doing at least this share of an activity's instances decides for it.
_MOST: Final = 0.8
# A step repeated in this share of its cases is worth a remark (rework).
_REWORK: Final = 0.1
_REPEATED: Final = {
    "en": "; done again in {share} of its cases (rework counts as protocol)",
    "nl": "; herhaald in {share} van de zaken (herhaling telt als protocol)",
}
_SYSTEM_NAME: Final = re.compile(
    r"(?i)(system|systeem|batch|automat|robot|\bbot\b|server|interface|koppeling|gateway|"
    r"\bjob\b|\bcron|\bapi\b|scheduler|bericht|iwmo|ijw|vecozo)"
)
# Word stems per class, matched at the start of a word of the activity's name.
_STEMS: Final = {
    "system": (
        "registr",
        "verzend",
        "vastleg",
        "invoer",
        "bericht",
        "iwmo",
        "ijw",
        "koppel",
        "export",
        "import",
        "upload",
        "synchron",
        "batch",
        "automat",
        "genereer",
        "record",
        "enter",
        "message",
        "sync",
        "system",
        "systeem",
    ),
    "steering": (
        "akkoord",
        "budgetakkoord",
        "goedkeur",
        "fiat",
        "budget",
        "mandaat",
        "wachtlijst",
        "approv",
        "authoris",
        "authoriz",
        "escal",
        "prioriteer",
        "prioriter",
        "prioritis",
        "prioritiz",
        "toestemming",
    ),
    "protocol": (
        "overleg",
        "mdo",
        "vergader",
        "meeting",
        "tweede",
        "second",
        "review",
        "toets",
        "controle",
        "check",
        "overdracht",
        "handover",
        "transfer",
        "herbeoordel",
        "verificat",
        "verifica",
        "validat",
        "valideer",
        "aanvullen",
        "audit",
        "consultatie",
    ),
    "client": (
        "cliënt",
        "client",
        "klant",
        "burger",
        "aanvrager",
        "wachten",
        "wait",
        "reactie",
        "reply",
        "response",
        "ontvangen",
        "receiv",
        "aanbieder",
        "provider",
        "customer",
        "applicant",
        "ingediend",
        "retour",
    ),
}
_WORD: Final = re.compile(r"\w+")

_REASONS: Final = {
    "base": {"en": "in the base profile", "nl": "staat in het basisprofiel"},
    "nobody": {
        "en": "no resource in the log ever does it: outside the organisation",
        "nl": "niemand in de log doet deze stap: buiten de organisatie",
    },
    "system resource": {
        "en": "{share} of it is done by {resource}, a system",
        "nl": "{share} ervan doet {resource}, een systeem",
    },
    "meeting": {
        "en": "{share} of its batches start on {day}: a meeting",
        "nl": "{share} van de batches begint op {day}: een overleg",
    },
    "run": {
        "en": "{share} of its batches start at {hour}:00: a scheduled run",
        "nl": "{share} van de batches begint om {hour}:00: een vaste run",
    },
    "name": {"en": "the name says so ({word})", "nl": "de naam zegt het ({word})"},
    "default": {
        "en": "no sign of another class: check",
        "nl": "geen teken van een andere klasse: controleer",
    },
}
_DAYS: Final = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
}


@dataclass(frozen=True, slots=True)
class ProfileDraft:
    """A profile drafted from a log, to be checked and edited.

    Attributes:
        activities: one row per activity: ``activity``, ``suggested`` (a class
            of :data:`knelpunt.profile.ACTIVITY_CLASSES`), ``rule`` (``base``,
            ``nobody``, ``system resource``, ``meeting``, ``run``, ``name``,
            ``default``), ``reason_en``, ``reason_nl``, ``instances``,
            ``cases``, ``resources``, ``repeated`` (share of its cases doing it
            more than once) and ``median_work_s``.
        base: the profile the draft builds on (calendar, teams, classes).
        teams: per team, its members (from ``groups``), when the base names none.
        hours: the working hours the log shows for the organisation as a whole.
        systems: resources that look like systems.
        events: how many events the draft was made from.
    """

    activities: pd.DataFrame
    base: Profile
    teams: Mapping[str, tuple[str, ...]]
    hours: WorkCalendar | None
    systems: tuple[str, ...]
    events: int

    def to_yaml(self, *, lang: str = "en") -> str:
        """The draft as a profile file, every activity's reason as a comment."""
        if lang not in ("en", "nl"):
            raise AnalysisError(f"Write the draft's comments in 'en' or 'nl', not {lang!r}.")
        base = self.base
        made = datetime.now(UTC).strftime("%Y-%m-%d")
        lines = [
            f"# knelpunt profile: drafted from {self.events:,} events on {made}, "
            f"on top of '{base.name or base.path}'.",
            "# Every class below is a suggestion with its reason: check each line, move",
            "# activities between classes, then: knelpunt profile check FILE --store STORE",
            f"name: {_quote('Draft: ' + (base.name or 'profile'))}",
            "",
            "calendar:",
            "  hours:",
        ]
        calendar = base.calendar
        for day, spans in zip(WEEKDAYS, calendar.hours, strict=True):
            if spans:
                lines.append(f"    {day}: {_quote(_spans(spans))}")
        if not any(calendar.hours):
            lines[-1] = "  hours: {}"
        lines.append(f"  holidays: {_quote(calendar.holidays) if calendar.holidays else 'null'}")
        lines.append(f"  timezone: {_quote(calendar.timezone)}")
        if self.hours is not None:
            shown = "; ".join(
                f"{day} {_spans(spans)}"
                for day, spans in zip(WEEKDAYS, self.hours.hours, strict=True)
                if spans
            )
            lines.append(f"# The log shows work on: {shown or 'no regular hours'}.")
        teams = {**self.teams, **{g.name: tuple(sorted(g.members)) for g in base.teams}}
        roles = {g.name: tuple(sorted(g.members)) for g in base.roles}
        lines += ["", *_groups("teams", teams), *_groups("roles", roles)]
        lines += ["resources: {}"]
        if base.schedules:
            lines.append(
                "# The base profile's personal hours are not copied: add them under resources."
            )
        if self.systems:
            lines.append(f"# Resources that look like systems: {', '.join(self.systems)}.")
        lines += ["", "activities:"]
        frame = self.activities
        for kind in ACTIVITY_CLASSES:
            chosen = frame[frame["suggested"] == kind]
            if chosen.empty:
                continue
            lines.append(f"  {kind}:")
            reasons = chosen[f"reason_{lang}"].astype(str).tolist()
            repeated = chosen["repeated"].astype(float).tolist()
            for name, reason, again in zip(chosen["activity"], reasons, repeated, strict=True):
                if again >= _REWORK:
                    reason += _REPEATED[lang].format(share=f"{again:.0%}")
                lines.append(f"    - {_quote(str(name))}  # {reason}")
        if frame.empty:
            lines[-1] = "activities: {}"
        lines += ["", "protocol: null", ""]
        return "\n".join(lines)

    def to_profile(self) -> Profile:
        """The draft as it stands, as a profile (to analyse with before editing)."""
        return Profile(
            name=f"Draft: {self.base.name or 'profile'}",
            calendar=self.base.calendar,
            teams=self.base.teams,
            roles=self.base.roles,
            schedules=self.base.schedules,
            activities=tuple(
                (kind, tuple(self.activities.loc[self.activities["suggested"] == kind, "activity"]))
                for kind in ACTIVITY_CLASSES
                if (self.activities["suggested"] == kind).any()
            ),
        )

    def _repr_html_(self) -> str:
        shown = self.activities[["activity", "suggested", "reason_en", "instances", "cases"]]
        return shown.to_html(index=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per activity with its suggested class (see :attr:`activities`)."""
        return self.activities


def draft_profile(
    events: EventTable | ActivityInstances | WaitingSplit,
    *,
    base: Profile | str | None = None,
    groups: Mapping[str, str] | None = None,
) -> ProfileDraft:
    """Draft a profile from a log: each activity with a suggested class and why.

    Args:
        events: the events, their instances, or a waiting split already made.
        base: the profile to build on (default ``generiek``): its calendar,
            teams and the classes it already gives are kept.
        groups: per resource its team (say, from
            :func:`knelpunt.read_resource_groups`), written as teams when the
            base names none.

    Example:
        >>> import knelpunt as kp
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.simulate_scenario(store, "team-meeting", seed=1, overrides=["days=60"])
        ...     draft = kp.draft_profile(kp.load_events(store))
        >>> row = draft.activities.set_index("activity").loc["Multidisciplinair overleg"]
        >>> str(row["suggested"]), str(row["rule"]), str(row["reason_en"])
        ('protocol', 'name', 'the name says so (overleg)')
    """
    if isinstance(base, str):
        base = read_profile(base)
    base = base or read_profile("generiek")
    split = events if isinstance(events, WaitingSplit) else split_waiting(events, profile=base)
    frame = split.instances
    systems = _system_resources(split, base.calendar)
    patterns = batch_patterns(split.batches, base.calendar)
    logged_resources = bool(frame["resource"].notna().any())
    rows = []
    for activity, chosen in frame.groupby(frame["activity"].astype(str), sort=True):
        name = str(activity)
        per_case = chosen.groupby(["source_id", "case_id"], observed=True).size()
        done_by = chosen["resource"].dropna().astype(str)
        rule, kind, values = _suggest(
            name, base, done_by, systems, patterns.get(name), logged_resources
        )
        rows.append(
            {
                "activity": name,
                "suggested": kind,
                "rule": rule,
                "reason_en": _reason(rule, values, "en"),
                "reason_nl": _reason(rule, values, "nl"),
                "instances": len(chosen),
                "cases": len(per_case),
                "resources": done_by.nunique(),
                "repeated": float((per_case > 1).mean()) if len(per_case) else 0.0,
                "median_work_s": float(chosen["processing_s"].median()),
            }
        )
    activities = pd.DataFrame(
        rows,
        columns=[
            "activity",
            "suggested",
            "rule",
            "reason_en",
            "reason_nl",
            "instances",
            "cases",
            "resources",
            "repeated",
            "median_work_s",
        ],
    )
    teams: dict[str, tuple[str, ...]] = {}
    if groups and not base.teams:
        present = set(frame["resource"].dropna().astype(str))
        for person, team in sorted(groups.items()):
            if person in present:
                teams.setdefault(str(team), ())
                teams[str(team)] += (str(person),)
    return ProfileDraft(
        activities=activities,
        base=base,
        teams=teams,
        hours=_organisation_hours(split, base.calendar, systems),
        systems=systems,
        events=len(events) if isinstance(events, EventTable) else len(frame),
    )


def _suggest(
    name: str,
    base: Profile,
    done_by: pd.Series,
    systems: tuple[str, ...],
    pattern: tuple[str, float, int] | None,
    logged_resources: bool,
) -> tuple[str, str, dict[str, object]]:
    """(rule, class, values for the reason) for one activity."""
    known = base.classify_activity(name)
    if known is not None:
        return "base", known, {}
    if logged_resources and done_by.empty:
        return "nobody", "client", {}
    words = _WORD.findall(name.casefold())
    hits = {
        kind: next(w for w in words if w.startswith(stems))
        for kind, stems in _STEMS.items()
        if any(w.startswith(stems) for w in words)
    }
    if len(hits) == 1:
        kind, word = hits.popitem()
        return "name", kind, {"word": word}
    if len(done_by):
        shares = done_by.value_counts(normalize=True)
        machine = shares[shares.index.isin(systems)]
        if len(machine) and float(machine.sum()) >= _MOST:
            return (
                "system resource",
                "system",
                {"share": float(machine.sum()), "resource": ", ".join(machine.index[:2])},
            )
    if pattern is not None:
        kind, share, value = pattern
        if kind == "day":
            return "meeting", "protocol", {"share": share, "day": value}
        return "run", "system", {"share": share, "hour": value}
    return "default", "work", {}


def _reason(rule: str, values: Mapping[str, object], lang: str) -> str:
    text = _REASONS[rule][lang]
    shown: dict[str, object] = dict(values)
    if "share" in values:
        shown["share"] = f"{float(values['share']):.0%}"  # type: ignore[arg-type]
    if "day" in values:
        shown["day"] = _DAYS[lang][int(values["day"])]  # type: ignore[call-overload]
    if "hour" in values:
        shown["hour"] = f"{int(values['hour']):02d}"  # type: ignore[call-overload]
    return text.format(**shown)


def _system_resources(split: WaitingSplit, base: WorkCalendar) -> tuple[str, ...]:
    """Resources named like systems, or doing short work around the clock or mostly
    outside the organisation's hours (a nightly run)."""
    frame = split.instances
    names = sorted(set(frame["resource"].dropna().astype(str)))
    found = {name for name in names if _SYSTEM_NAME.search(name)}
    done = frame[frame["resource"].notna() & frame["start"].notna()]
    if done.empty:
        return tuple(sorted(found))
    local = done["start"].dt.tz_convert(base.timezone)
    minute = (local.dt.hour * 60 + local.dt.minute).to_numpy()
    day = local.dt.day_of_week.to_numpy()
    inside = pd.Series(False, index=done.index)
    for weekday, spans in enumerate(base.hours):
        for a, b in spans:
            inside |= (day == weekday) & (minute >= a) & (minute < b)
    stats = pd.DataFrame(
        {
            "resource": done["resource"].astype(str).to_numpy(),
            "outside": ~inside.to_numpy(),
            "work": done["processing_s"].to_numpy(dtype=float),
        }
    ).groupby("resource")
    summary = pd.DataFrame(
        {"n": stats.size(), "outside": stats["outside"].mean(), "work": stats["work"].median()}
    )
    quick = summary[(summary["n"] >= 20) & (summary["work"] <= 600)]
    found |= set(quick.index[quick["outside"] >= 0.5])
    learnt = discover_calendars(
        ActivityInstances(
            frame[frame["resource"].astype(str).isin(quick.index)], 0, 0, 0, 0, None, ()
        ),
        base=base,
    )
    for name, calendar in learnt.items():
        open_days = sum(bool(spans) for spans in calendar.hours)
        longest = max((sum(b - a for a, b in spans) for spans in calendar.hours), default=0)
        if open_days >= 6 and longest >= 14 * 60:
            found.add(name)
    return tuple(sorted(found))


def _organisation_hours(
    split: WaitingSplit, base: WorkCalendar, systems: tuple[str, ...]
) -> WorkCalendar | None:
    """The hours the organisation's people (not its systems) work, learnt from the log."""
    frame = split.instances
    # Short work shows when people work; a delivery of weeks or a system's run does not.
    people = frame[
        frame["resource"].notna()
        & ~frame["resource"].astype(str).isin(systems)
        & (frame["processing_s"] <= 8 * 3600)
    ]
    if people.empty:
        return None
    pooled = people.assign(resource="organisation")
    learnt = discover_calendars(
        ActivityInstances(pooled, 0, 0, 0, 0, None, ()), base=base, min_instances=20
    )
    return learnt.get("organisation")


def _groups(section: str, groups: Mapping[str, tuple[str, ...]]) -> list[str]:
    """A teams or roles section: each group with its members."""
    if not groups:
        return [f"{section}: {{}}"]
    lines = [f"{section}:"]
    for name, members in groups.items():
        lines.append(f"  {_quote(name)}:")
        lines.append(f"    members: [{', '.join(_quote(m) for m in members)}]")
    return lines


def _spans(spans: tuple[tuple[int, int], ...]) -> str:
    return ", ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in spans)


def _quote(text: str) -> str:
    """A YAML scalar that reads back as exactly this text."""
    return json.dumps(str(text), ensure_ascii=False)
