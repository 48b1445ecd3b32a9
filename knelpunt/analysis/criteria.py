"""Policy criteria evaluated per case, with the blockers behind every breach.

Each criterion of the profile (:mod:`knelpunt.policy`) is judged on each case
in its scope: ``pass``, ``breach`` or ``not measurable`` (with the reason: the
activity never appears, the term had not run out when the log ends, an
attribute is missing). Not measurable is never counted as a pass or a breach;
the compliance is the share of the *measured* cases that pass. A ``share``
criterion counts the cases that meet its condition; its target bounds that
share from below or above.

Times: a window opens at the first event of its opening activity (its start,
when the log has one) and closes at the completion of the first closing
activity after it. Terms in days and weeks are counted in calendar days in
the organisation's time zone (a case opened on 6 January meets a term of six
weeks when it closes on 17 February, whatever the hour); working days skip
the days the profile's calendar is closed (weekends, public holidays, extra
closed days) as the Awb counts them. A case without its closing activity
breaches when it ran on past the term; when it ended within the term it is
not measurable (withdrawn or closed otherwise), and so is a case whose term
had not run out when the log ends.

Every breach is traced to the blockers (:func:`knelpunt.find_blockers`) whose
waiting falls inside its window, and per blocker the compliance without that
waiting is computed on the data: the window's closing moment moves back by
the blocker's waiting inside the window, and the case is judged again. A
breach that stays one, and a criterion that is not about time, count as
"on its path" only.

Three levels: the whole log, per team (the team of the case holder: the
person who does the case's first professional work) and per professional,
who is shown under a pseudonym by default (a keyed hash; set
``KNELPUNT_PSEUDONYM_KEY`` to keep pseudonyms the same across sessions).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from babel.numbers import format_decimal, format_percent

from knelpunt.analysis.blockers import CATEGORY_NAMES, Blockers, find_blockers
from knelpunt.errors import AnalysisError
from knelpunt.events.store import EventStore
from knelpunt.mining.projection import EventTable
from knelpunt.policy import Criterion, matches
from knelpunt.profile import Profile, read_profile
from knelpunt.worktime import WorkCalendar

__all__ = ["STATUSES", "CriteriaResult", "case_holders", "evaluate_criteria", "pseudonym"]

STATUSES: Final = ("pass", "breach", "not measurable")
Level = Literal["team", "professional", "month", "source"]
_NAT: Final = np.iinfo(np.int64).min
# A blocker explains breaches of an untimed criterion when breached cases meet it this
# many times more often than passing ones.
_LIFT: Final = 1.5
# The label of a case whose team, professional, month or source is not known.
UNKNOWN: Final = "(unknown)"
_LOCALES: Final = {"nl": "nl_NL", "en": "en_GB"}
_PROCESS_KEY: Final = secrets.token_bytes(32)
_CASE_COLUMNS: Final = (
    "criterion",
    "source_id",
    "case_id",
    "status",
    "reason",
    "value",
    "unit",
    "window_start_us",
    "window_end_us",
    "deadline_us",
    "team",
    "professional",
    "month",
)

# Why a case is not measurable (or why it breached without a closing event), per language.
_REASONS: Final = {
    "nl": {
        "no start": "geen {start} in de zaak",
        "open at log end": "de termijn liep nog toen de log eindigt",
        "ended within term": "de zaak eindigde binnen de termijn zonder {end}",
        "no attribute": "de zaak heeft geen {attribute}",
        "no resource": "de log noemt geen medewerker bij het werk in de zaak",
        "not closed": "de zaak is nog niet afgesloten ({closed})",
        "no end": "geen {end} binnen de termijn; de zaak liep door",
        "late": "{value} {unit}, de termijn is {term}",
        "too many": "{value} (ten hoogste {limit})",
    },
    "en": {
        "no start": "no {start} in the case",
        "open at log end": "the term was still running when the log ends",
        "ended within term": "the case ended within the term without {end}",
        "no attribute": "the case has no {attribute}",
        "no resource": "the log names no resource for the work in the case",
        "not closed": "the case is not closed yet ({closed})",
        "no end": "no {end} within the term; the case ran on",
        "late": "{value} {unit}, the term is {term}",
        "too many": "{value} (at most {limit})",
    },
}
_STATUS_NAMES: Final = {
    "nl": {"pass": "voldoet", "breach": "overschreden", "not measurable": "niet meetbaar"},
    "en": {"pass": "pass", "breach": "breach", "not measurable": "not measurable"},
}
_UNIT_NAMES: Final = {
    "nl": {
        "hours": "uur",
        "days": "dagen",
        "weeks": "weken",
        "working days": "werkdagen",
        "count": "",
    },
    "en": {
        "hours": "hours",
        "days": "days",
        "weeks": "weeks",
        "working days": "working days",
        "count": "",
    },
}


def pseudonym(name: str, *, key: bytes | str | None = None) -> str:
    """A professional's pseudonym: a keyed hash of the name (``medewerker-3f9a2c1e``).

    The key is ``key``, else ``KNELPUNT_PSEUDONYM_KEY``, else one drawn per process
    (the same name gives the same pseudonym within a session only).

    Example:
        >>> pseudonym("Anouk", key="k") == pseudonym("Anouk", key="k")
        True
        >>> pseudonym("Anouk", key="k").startswith("medewerker-")
        True
    """
    secret = key if key is not None else os.environ.get("KNELPUNT_PSEUDONYM_KEY")
    raw = secret.encode() if isinstance(secret, str) else (secret or _PROCESS_KEY)
    digest = hmac.new(raw, name.encode(), hashlib.sha256).hexdigest()
    return f"medewerker-{digest[:8]}"


@dataclass(frozen=True, slots=True)
class CriteriaResult:
    """Policy criteria evaluated on a log.

    Attributes:
        criteria: the criteria evaluated, in the profile's order.
        cases: per criterion and case in its scope: ``status`` (pass, breach, not
            measurable), ``reason`` (a code, see :meth:`explain`), ``value`` in
            ``unit`` (days, working days, hours, or a count), the window and
            deadline (UTC microseconds), the case's ``team``, ``professional``
            (the case holder, pseudonymised unless asked otherwise) and
            ``month`` (of the window's start, local time; of the case's first event
            when the window has no start).
        links: per criterion and blocker: the breaches with the blocker's waiting
            on their path (``breaches``), those that would pass without it
            (``resolved``; timed criteria only), the compliance now and without it,
            the share of breached and of passing cases with the wait on their path,
            and ``lift`` (the first share over the second). Per criterion, waits
            with a lift of 1 or more come first (by ``resolved``, then ``lift``).
        breach_blockers: per breached case and blocker: the blocker's seconds
            inside the criterion's window.
        blockers: the blockers the breaches were traced to (None when not linked).
        calendar: the calendar working days were counted in.
        notes: what a reader must know.
    """

    criteria: tuple[Criterion, ...]
    cases: pd.DataFrame
    links: pd.DataFrame
    breach_blockers: pd.DataFrame
    blockers: Blockers | None
    calendar: WorkCalendar
    notes: tuple[str, ...] = ()
    _details: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)

    def scorecard(self, lang: str = "en") -> pd.DataFrame:
        """One row per criterion: cases, measured, passed, breached, not measurable,
        compliance against the target, and why cases were not measurable."""
        # One pass per measure over all criteria's cases (a million events' criteria
        # hold some 700,000 case rows), not a selection per criterion.
        cases = self.cases
        counts = cases.groupby(["criterion", "status"], observed=True).size()
        sizes = cases.groupby("criterion", observed=True).size()
        judged = cases["status"] != "not measurable"
        medians = cases[judged].groupby("criterion", observed=True)["value"].median()
        units = cases.groupby("criterion", observed=True)["unit"].first()
        why = (
            cases[~judged]
            .groupby(["criterion", "reason"], sort=False, observed=True)
            .size()
            .sort_values(ascending=False, kind="stable")
        )
        rows = []
        for criterion in self.criteria:
            cid = criterion.id
            passed = int(counts.get((cid, "pass"), 0))
            breached = int(counts.get((cid, "breach"), 0))
            measured = passed + breached
            compliance = passed / measured if measured else float("nan")
            mine = why[why.index.get_level_values(0) == cid] if len(why) else why
            reasons = {
                self.explain(criterion, str(code), lang=lang): int(n)
                for code, n in zip(mine.index.get_level_values(-1), mine, strict=True)
            }
            rows.append(
                {
                    "criterion": cid,
                    "name": criterion.name,
                    "kind": criterion.kind,
                    "reference": criterion.reference,
                    "cases": int(sizes.get(cid, 0)),
                    "measured": measured,
                    "passed": passed,
                    "breached": breached,
                    "not_measurable": int(counts.get((cid, "not measurable"), 0)),
                    "compliance": compliance,
                    "target": criterion.target,
                    "direction": criterion.direction,
                    "met": met_target(criterion, compliance),
                    "median_value": float(medians.get(cid, float("nan")))
                    if measured
                    else float("nan"),
                    "unit": units.get(cid, "") if cid in units.index else "",
                    "not_measurable_reasons": reasons,
                }
            )
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """The scorecard (see :meth:`scorecard`)."""
        return self.scorecard()

    def by(self, level: Level) -> pd.DataFrame:
        """Compliance per criterion and team, professional, month or source; cases
        whose group is not known are grouped as ``"(unknown)"``."""
        column = {
            "team": "team",
            "professional": "professional",
            "month": "month",
            "source": "source_id",
        }.get(level)
        if column is None:
            raise AnalysisError(
                f"Group criteria by team, professional, month or source, not {level!r}."
            )
        frame = self.cases.assign(
            passed=self.cases["status"] == "pass",
            measured=self.cases["status"] != "not measurable",
        )
        frame[column] = frame[column].fillna(UNKNOWN)
        grouped = frame.groupby(["criterion", column], sort=True, observed=True)
        out = pd.DataFrame(
            {
                "cases": grouped.size(),
                "measured": grouped["measured"].sum(),
                "passed": grouped["passed"].sum(),
            }
        ).reset_index()
        out["compliance"] = np.where(
            out["measured"] > 0, out["passed"] / out["measured"].where(out["measured"] > 0), np.nan
        )
        return out

    def trend(self) -> pd.DataFrame:
        """Compliance per criterion and month (of the window's start)."""
        return self.by("month")

    def explain(self, criterion: Criterion, code: str, *, lang: str = "en") -> str:
        """A reason code of :attr:`cases` in words."""
        texts = _REASONS["nl" if lang == "nl" else "en"]
        if code not in texts:
            return code
        names = self._details.get(criterion.id, {})
        return (
            texts[code]
            .format(
                start=names.get("start", ""),
                end=names.get("end", ""),
                attribute=names.get("attribute", ""),
                closed=names.get("closed", ""),
                value="",
                unit="",
                term=str(criterion.term),
                limit=criterion.limit,
            )
            .strip()
        )

    def summary(self, lang: str = "en", *, top: int = 3) -> list[str]:
        """Per criterion one paragraph in plain words: compliance against the target,
        what was not measurable, and the blockers behind the breaches."""
        locale = _LOCALES["nl" if lang == "nl" else "en"]
        card = self.scorecard(lang).set_index("criterion")
        lines = []
        for criterion in self.criteria:
            row: dict[Any, Any] = card.loc[criterion.id].to_dict()
            measured = int(row["measured"])
            if measured == 0:
                why = "; ".join(f"{n}: {text}" for text, n in row["not_measurable_reasons"].items())
                lines.append(
                    f"{criterion.name}: "
                    + (
                        f"niet te meten ({why})."
                        if lang == "nl"
                        else f"cannot be measured ({why})."
                    )
                    if why
                    else f"{criterion.name}: "
                    + ("geen zaken in scope." if lang == "nl" else "no cases in scope.")
                )
                continue
            share = format_percent(row["compliance"], locale=locale)
            target = format_percent(criterion.target, locale=locale)
            count = format_decimal(measured, locale=locale)
            bound = {"at_least": ("ten minste", "at least"), "at_most": ("ten hoogste", "at most")}
            word = bound[criterion.direction][0 if lang == "nl" else 1]
            verdict = (
                ("gehaald" if row["met"] else "niet gehaald")
                if lang == "nl"
                else ("met" if row["met"] else "not met")
            )
            if lang == "nl":
                text = (
                    f"{criterion.name}: {share} van {count} gemeten zaken (doel {word} "
                    f"{target}: {verdict})"
                )
            else:
                text = (
                    f"{criterion.name}: {share} of {count} measured cases (target {word} "
                    f"{target}: {verdict})"
                )
            if row["not_measurable"]:
                n = format_decimal(int(row["not_measurable"]), locale=locale)
                text += f"; {n} niet meetbaar" if lang == "nl" else f"; {n} not measurable"
            text += "."
            mine = self.links[self.links["criterion"] == criterion.id]
            if not criterion.timed:
                # Only what breached cases meet far more often than passing ones.
                mine = mine[mine["lift"] >= _LIFT]
            for item in mine.head(top).to_dict("records"):
                link = _Link(**{str(k): v for k, v in item.items()})
                breaches = format_decimal(int(link.breaches), locale=locale)
                total = format_decimal(int(row["breached"]), locale=locale)
                category = CATEGORY_NAMES["nl" if lang == "nl" else "en"][link.category]
                what = f"'{link.activity}' ({category})"
                if lang == "nl":
                    text += f" Wachten op {what} speelt bij {breaches} van {total} overschrijdingen"
                else:
                    text += f" Waiting for {what} is on the path of {breaches} of {total} breaches"
                if not criterion.timed:
                    passing = format_percent(link.pass_share, locale=locale)
                    text += (
                        f" (en bij {passing} van de zaken die voldoen)"
                        if lang == "nl"
                        else f" (and of {passing} of the cases that pass)"
                    )
                if link.resolved == link.resolved and link.resolved > 0:
                    now = format_percent(link.compliance, locale=locale)
                    then = format_percent(link.compliance_without, locale=locale)
                    if now == then:  # a small gain: shown to a tenth of a percent
                        now, then = (
                            format_percent(v, format="#,##0.0%", locale=locale)
                            for v in (link.compliance, link.compliance_without)
                        )
                    text += (
                        f"; zonder dit wachten stijgt de naleving van {now} naar {then}."
                        if lang == "nl"
                        else f"; without this wait, compliance would rise from {now} to {then}."
                    )
                else:
                    text += "."
            lines.append(text)
        return lines

    def _repr_html_(self) -> str:
        card = self.scorecard()
        shown = card[["criterion", "measured", "compliance", "target", "met", "not_measurable"]]
        return shown.to_html(index=False, float_format="{:.1%}".format)


def evaluate_criteria(
    events: EventTable,
    *,
    profile: Profile | str | None = None,
    criteria: Sequence[Criterion | str] | None = None,
    store: EventStore | None = None,
    attributes: pd.DataFrame | None = None,
    groups: Mapping[str, str] | None = None,
    blockers: Blockers | bool = True,
    pseudonymise: bool = True,
    key: bytes | str | None = None,
) -> CriteriaResult:
    """Evaluate policy criteria per case and trace every breach to its blockers.

    Args:
        events: the events (:func:`knelpunt.load_events`, filtered as wished).
        profile: a :class:`Profile` or the name/path of one (default: ``generiek``);
            its calendar counts working days, its teams and classes find the case
            holder.
        criteria: the criteria to evaluate: ids of the profile's, or criteria of
            your own (default: all of the profile's).
        store: where to read case attributes from when ``attributes`` is None.
        attributes: one row per case (:func:`knelpunt.read_case_attributes`), for
            scopes, households and shares on attributes.
        groups: per resource, its team, over the profile's teams (say, the log's
            ``org:group`` from :func:`knelpunt.read_resource_groups`).
        blockers: True finds the blockers here; a :class:`Blockers` uses those;
            False does not link breaches to blockers.
        pseudonymise: show professionals under a pseudonym (:func:`pseudonym`).
        key: the pseudonyms' key.

    Example:
        >>> import knelpunt as kp
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.simulate_scenario(store, "baseline", seed=1, overrides=["days=60"])
        ...     found = kp.evaluate_criteria(kp.load_events(store), profile="sociaal-domein",
        ...                                  store=store, blockers=False)
        >>> card = found.scorecard().set_index("criterion")
        >>> bool(card.loc["wmo-onderzoek", "measured"] > 0)
        True
    """
    if isinstance(profile, str):
        profile = read_profile(profile)
    profile = profile or read_profile("generiek")
    chosen = choose_criteria(profile, criteria)
    needs = any(_needs_attributes(c) for c in chosen)
    if attributes is None and needs and store is not None:
        from knelpunt.api import read_case_attributes

        attributes = read_case_attributes(store, sources=events.sources)
    teams = {**(groups or {}), **profile.groups("team")}
    base = _Cases(events, profile, attributes, teams, pseudonymise=pseudonymise, key=key)
    frames = []
    details: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    for criterion in chosen:
        frame, names = base.evaluate(criterion)
        frames.append(frame)
        details[criterion.id] = names
        if _needs_attributes(criterion) and attributes is None:
            notes.append(
                f"{criterion.id}: no case attributes were given, so every case is not "
                "measurable; pass store= or attributes=kp.read_case_attributes(store)."
            )
    cases = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=list(_CASE_COLUMNS))
    )
    found: Blockers | None = None
    if blockers is True and (cases["status"] == "breach").any() and len(events):
        found = find_blockers(events, profile=profile, groups=groups)
    elif isinstance(blockers, Blockers):
        found = blockers
    links, per_breach = _link(chosen, cases, found, base)
    return CriteriaResult(
        criteria=chosen,
        cases=cases,
        links=links,
        breach_blockers=per_breach,
        blockers=found,
        calendar=profile.calendar,
        notes=tuple(notes),
        _details=details,
    )


def case_holders(
    events: EventTable,
    *,
    profile: Profile | str | None = None,
    groups: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Per case its holder (who does its first professional work: an activity the
    profile classes as work, else one it does not class, else any) and their team
    (the profile's teams, else ``groups``, such as the log's ``org:group``).

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=2, seed=1))
        ...     list(case_holders(kp.load_events(store)).columns)
        ['source_id', 'case_id', 'holder', 'team']
    """
    if isinstance(profile, str):
        profile = read_profile(profile)
    profile = profile or read_profile("generiek")
    teams = {**(groups or {}), **profile.groups("team")}
    base = _Cases(events, profile, None, teams, pseudonymise=False, key=None)
    return pd.DataFrame(
        {
            "source_id": base.keys.get_level_values(0).to_numpy(),
            "case_id": base.keys.get_level_values(1).to_numpy(),
            "holder": base.professional,
            "team": base.team,
        }
    )


def choose_criteria(
    profile: Profile, wanted: Sequence[Criterion | str] | None
) -> tuple[Criterion, ...]:
    """The criteria to judge: the profile's, or those named (ids of the profile's, or
    criteria of one's own); an unknown id is refused with the ids there are."""
    if wanted is None:
        if not profile.criteria:
            raise AnalysisError(
                f"The profile {profile.name or profile.path} has no criteria. Add a "
                "'criteria:' section (the sociaal-domein profile shows every template) or "
                "give criteria=[...]."
            )
        return profile.criteria
    known = {c.id: c for c in profile.criteria}
    chosen = []
    for item in wanted:
        if isinstance(item, Criterion):
            chosen.append(item)
        elif item in known:
            chosen.append(known[item])
        else:
            raise AnalysisError(
                f"No criterion {item!r} in the profile; it has {', '.join(known) or 'none'}."
            )
    return tuple(chosen)


def _needs_attributes(criterion: Criterion) -> bool:
    return bool(
        criterion.scope.attributes
        or (criterion.kind == "max_resources" and criterion.per == "household")
        or (criterion.condition is not None and criterion.condition.attribute)
    )


def met_target(criterion: Criterion, compliance: float) -> bool | None:
    """Whether a compliance meets the criterion's target (None: nothing measured)."""
    if compliance != compliance:
        return None
    if criterion.direction == "at_most":
        return bool(compliance <= criterion.target + 1e-12)
    return bool(compliance >= criterion.target - 1e-12)


class _Cases:
    """Per case what every criterion needs: times, holder, team, attributes."""

    def __init__(
        self,
        events: EventTable,
        profile: Profile,
        attributes: pd.DataFrame | None,
        teams: Mapping[str, str],
        *,
        pseudonymise: bool,
        key: bytes | str | None,
    ) -> None:
        self.events = events
        self.profile = profile
        self.calendar = profile.calendar
        self.zone = profile.calendar.timezone
        n = events.n_cases
        self.n = n
        case = events.case
        time = events.time_us
        self.first = np.full(n, _NAT, dtype=np.int64)
        self.last = np.full(n, _NAT, dtype=np.int64)
        if len(case):
            starts = events.case_start[:-1]
            ends = events.case_start[1:] - 1
            has = ends >= starts
            # Events are sorted by case and time: a case's first and last are its ends.
            self.first[has] = time[starts[has]]
            self.last[has] = time[ends[has]]
        # The log's end, per source: a term that runs past it cannot be judged.
        sources = events.case_sources
        self.log_end = np.full(n, _NAT, dtype=np.int64)
        if n:
            ends_by_source = pd.Series(self.last).groupby(sources).max()
            self.log_end = ends_by_source.reindex(sources).to_numpy(dtype=np.int64)
        names = [str(a) for a in events.activities]
        classes = [profile.classify_activity(a) for a in names]
        self.class_of = np.array(classes, dtype=object)
        lifecycle = np.array([str(x).casefold() for x in events.lifecycles], dtype=object)
        done = np.isin(lifecycle, ["complete", "completed"]) if len(lifecycle) else lifecycle
        self.completion = (events.lifecycle < 0) | (
            done[np.maximum(events.lifecycle, 0)] if len(lifecycle) else False
        )
        self.names = names
        self.holder_code = self._holders()
        resources = np.array([str(r) for r in events.resources], dtype=object)
        holder = np.full(n, None, dtype=object)
        known = self.holder_code >= 0
        holder[known] = resources[self.holder_code[known]]
        self.team = np.array([teams.get(h) if h is not None else None for h in holder], object)
        shown = holder.copy()
        if pseudonymise:
            cache: dict[str, str] = {}
            shown[known] = [cache.setdefault(h, pseudonym(h, key=key)) for h in holder[known]]
        self.professional = shown
        self.keys = pd.MultiIndex.from_arrays(
            [sources.astype(np.int64), events.case_ids.astype(str)], names=["source_id", "case_id"]
        )
        self.attributes = None
        if attributes is not None:
            frame = attributes.copy()
            frame["case_id"] = frame["case_id"].astype(str)
            frame["source_id"] = frame["source_id"].astype(np.int64)
            self.attributes = (
                frame.drop_duplicates(["source_id", "case_id"])
                .set_index(["source_id", "case_id"])
                .reindex(self.keys)
            )

    # -- per case facts ----------------------------------------------------------------

    def _holders(self) -> np.ndarray:
        """Per case the resource code of its first professional work (else of its first
        unclassified step, else of its first event with a resource), -1 for none."""
        events = self.events
        kind = self.class_of[events.activity] if len(events) else np.empty(0, object)
        out = np.full(self.n, -1, dtype=np.int64)
        has_resource = events.resource >= 0
        for wanted in (kind == "work", pd.isna(kind), np.ones(len(kind), dtype=bool)):
            chosen = np.flatnonzero(has_resource & np.asarray(wanted, dtype=bool))
            if not len(chosen):
                continue
            cases = events.case[chosen]
            first = pd.Series(chosen).groupby(cases).min()
            todo = out[first.index.to_numpy()] < 0
            out[first.index.to_numpy()[todo]] = events.resource[first.to_numpy()[todo]]
        return out

    def activity_mask(self, patterns: Sequence[str]) -> np.ndarray:
        """Per event: whether its activity is one of ``patterns``."""
        named = np.array(matches(self.names, patterns), dtype=bool)
        return named[self.events.activity] if len(self.names) else np.zeros(0, dtype=bool)

    def first_time(
        self, patterns: Sequence[str], *, after: np.ndarray | None = None, completed: bool = False
    ) -> np.ndarray:
        """Per case the first time of one of ``patterns`` (at or after ``after``, a
        completion when ``completed``); ``_NAT`` when there is none. ``@start`` and
        ``@end`` are the case's first and last event."""
        if "@start" in patterns:
            return self.first.copy()
        if "@end" in patterns:
            out = self.last.copy()
            if after is not None:
                out[(after == _NAT) | (out < after)] = _NAT
            return out
        events = self.events
        mask = self.activity_mask(patterns)
        if completed:
            mask &= self.completion
        if after is not None:
            bound = after[events.case]
            mask &= (bound != _NAT) & (events.time_us >= bound)
        out = np.full(self.n, _NAT, dtype=np.int64)
        if mask.any():
            first = pd.Series(events.time_us[mask]).groupby(events.case[mask]).min()
            out[first.index.to_numpy()] = first.to_numpy()
        return out

    def has(self, patterns: Sequence[str]) -> np.ndarray:
        """Per case: whether it holds one of ``patterns``."""
        mask = self.activity_mask(patterns)
        out = np.zeros(self.n, dtype=bool)
        out[np.unique(self.events.case[mask])] = True
        return out

    def attribute(self, name: str) -> np.ndarray | None:
        """Per case the attribute's value as text (None where missing), or None when the
        log has no such attribute at all."""
        if self.attributes is None or name not in self.attributes.columns:
            return None
        values = self.attributes[name].to_numpy(dtype=object)
        out = np.full(len(values), None, dtype=object)
        present = ~pd.isna(values)
        out[present] = [_text(v) for v in values[present]]
        return out

    def local_days(self, time_us: np.ndarray) -> np.ndarray:
        """The local calendar day (``datetime64[D]``) of each instant; NaT for none."""
        out = np.full(len(time_us), np.datetime64("NaT"), dtype="datetime64[D]")
        known = time_us != _NAT
        if known.any():
            moments = pd.to_datetime(time_us[known], unit="us", utc=True)
            local = moments.tz_convert(self.zone).tz_localize(None).normalize()
            out[known] = local.to_numpy().astype("datetime64[D]")
        return out

    def day_end(self, days: np.ndarray) -> np.ndarray:
        """The last microsecond of each local day, as UTC microseconds."""
        out = np.full(len(days), _NAT, dtype=np.int64)
        known = ~np.isnat(days)
        if known.any():
            midnight = pd.DatetimeIndex((days[known] + np.timedelta64(1, "D")).astype("M8[ns]"))
            aware = midnight.tz_localize(self.zone, ambiguous=True, nonexistent="shift_forward")
            out[known] = aware.tz_convert("UTC").asi8 // 1000 - 1
        return out

    def busdays(self, first: np.ndarray, last: np.ndarray) -> tuple[str, np.ndarray]:
        """The weekmask and closed days covering the local days from first to last."""
        known = np.concatenate([first[~np.isnat(first)], last[~np.isnat(last)]])
        if not len(known):
            return self.calendar.weekmask, np.empty(0, dtype="datetime64[D]")
        low = pd.Timestamp(known.min()).date()
        high = (pd.Timestamp(known.max()) + pd.Timedelta(days=400)).date()
        closed = self.calendar.closed_days(low, high)
        return self.calendar.weekmask, np.array(closed, dtype="datetime64[D]")

    # -- evaluation ----------------------------------------------------------------------

    def evaluate(self, criterion: Criterion) -> tuple[pd.DataFrame, dict[str, str]]:
        names = {
            "start": _shown(criterion.start),
            "end": _shown(criterion.end),
            "attribute": criterion.condition.attribute
            if criterion.condition is not None and criterion.condition.attribute
            else "",
            "closed": _shown(criterion.closed_by),
        }
        n = self.n
        status = np.full(n, "not measurable", dtype=object)
        reason = np.full(n, "", dtype=object)
        value = np.full(n, np.nan)
        unit = "count"
        window_start = self.first.copy()
        window_end = self.last.copy()
        deadline = np.full(n, _NAT, dtype=np.int64)
        in_scope = np.ones(n, dtype=bool)
        kind = criterion.kind
        if kind in ("deadline", "first_contact"):
            assert criterion.term is not None
            start = self.first_time(criterion.start)
            end = self.first_time(criterion.end, after=start, completed=True)
            status, reason, value, deadline = self.judge_term(
                criterion, start, end, self.last, self.log_end
            )
            unit = criterion.term.unit
            window_start, window_end = start, np.where(end == _NAT, self.last, end)
        elif kind == "response":
            status, reason, value, deadline, window_start, window_end = self.responses(criterion)
            assert criterion.term is not None
            unit = criterion.term.unit
        elif kind == "precedence":
            then = self.first_time(criterion.end)
            before = self.first_time(criterion.start)
            in_scope = then != _NAT
            ok = (before != _NAT) & (before < then)
            status = np.where(ok, "pass", "breach").astype(object)
            window_end = np.where(in_scope, then, self.last)
        elif kind in ("existence", "absence"):
            present = self.has(criterion.activities)
            status = np.where(present == (kind == "existence"), "pass", "breach").astype(object)
            value = present.astype(float)
            if criterion.closed_by:
                # An absent activity may still come while the case is open.
                waiting = ~present & ~self.has(criterion.closed_by)
                status[waiting] = "not measurable"
                reason[waiting] = "not closed"
        elif kind in ("max_resources", "max_handovers"):
            status, reason, value = self.people(criterion)
        else:
            status, reason, value = self.share(criterion)
        scope_status, scope_reason, in_scope = self.scope(criterion, window_start, in_scope)
        override = scope_status != ""
        status = np.where(override, scope_status, status).astype(object)
        reason = np.where(override, scope_reason, reason).astype(object)
        # A window with no start (say, a deadline whose start step is missing) is
        # counted in the month of the case's first event, so trends keep it.
        dated = np.where(window_start == _NAT, self.first, window_start)
        months = self.local_days(dated).astype("datetime64[M]").astype(str).astype(object)
        months[months == "NaT"] = None
        frame = pd.DataFrame(
            {
                "criterion": criterion.id,
                "source_id": self.keys.get_level_values(0).to_numpy(),
                "case_id": self.keys.get_level_values(1).to_numpy(),
                "status": status,
                "reason": reason,
                "value": value,
                "unit": unit,
                "window_start_us": window_start,
                "window_end_us": window_end,
                "deadline_us": deadline,
                "team": self.team,
                "professional": self.professional,
                "month": months,
            }
        )
        return frame[in_scope].reset_index(drop=True), names

    def judge_term(
        self,
        criterion: Criterion,
        start: np.ndarray,
        end: np.ndarray,
        last: np.ndarray,
        log_end: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Pass, breach or not measurable for windows from ``start`` to ``end`` (missing:
        ``_NAT``), of cases whose last event is ``last`` in a log ending at ``log_end``."""
        term = criterion.term
        assert term is not None
        n = len(start)
        status = np.full(n, "not measurable", dtype=object)
        reason = np.full(n, "no start", dtype=object)
        value = np.full(n, np.nan)
        deadline = np.full(n, _NAT, dtype=np.int64)
        opened = start != _NAT
        first_day = self.local_days(start)
        end_day = self.local_days(end)
        if term.unit == "hours":
            deadline[opened] = start[opened] + int(term.amount * 3600e6)
        elif term.unit == "working days":
            weekmask, closed = self.busdays(first_day, end_day)
            days = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
            days[opened] = np.busday_offset(
                first_day[opened], term.days, roll="backward", weekmask=weekmask, holidays=closed
            )
            deadline = self.day_end(days)
        else:
            deadline = self.day_end(first_day + np.timedelta64(term.days, "D"))
        closed_ = opened & (end != _NAT)
        elapsed = (end - start) / 3.6e9
        if term.unit == "hours":
            value[closed_] = elapsed[closed_]
        elif term.unit == "working days":
            weekmask, holidays = self.busdays(first_day, end_day)
            # A step on a closed day (a Saturday, a holiday) counts as done on the next
            # working day: one on the Saturday after a Friday deadline is a day late.
            # (A step on the day the window opens still counts zero.)
            rolled = np.busday_offset(
                end_day[closed_], 0, roll="forward", weekmask=weekmask, holidays=holidays
            )
            done = np.where(end_day[closed_] == first_day[closed_], end_day[closed_], rolled)
            value[closed_] = np.busday_count(
                first_day[closed_] + np.timedelta64(1, "D"),
                done + np.timedelta64(1, "D"),
                weekmask=weekmask,
                holidays=holidays,
            )
        else:
            days = (end_day - first_day).astype("timedelta64[D]").astype(float)
            value[closed_] = days[closed_] / (7 if term.unit == "weeks" else 1)
        late = closed_ & (end > deadline)
        on_time = closed_ & ~late
        at_end = "@end" in criterion.end
        # A case that may still be running (its last event is the window's end) is
        # judged only once its term has passed within the log.
        still_open = on_time & at_end & (log_end < deadline)
        status[on_time & ~still_open] = "pass"
        reason[on_time & ~still_open] = ""
        status[late] = "breach"
        reason[late] = "late"
        reason[still_open] = "open at log end"
        missing = opened & (end == _NAT)
        ran_on = missing & (last > deadline)
        status[ran_on] = "breach"
        reason[ran_on] = "no end"
        gone = missing & ~ran_on & (log_end > deadline)
        reason[gone] = "ended within term"
        reason[missing & ~ran_on & ~gone] = "open at log end"
        return status, reason, value, deadline

    def responses(
        self, criterion: Criterion
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every ``when`` answered by a ``then`` within the term; per case its worst."""
        events = self.events
        trigger = self.activity_mask(criterion.start) & self.completion
        answer = self.activity_mask(criterion.end) & self.completion
        asks = pd.DataFrame({"case": events.case[trigger], "time": events.time_us[trigger]})
        replies = pd.DataFrame({"case": events.case[answer], "reply": events.time_us[answer]})
        n = self.n
        if asks.empty:
            nat = np.full(n, _NAT, dtype=np.int64)
            return (
                np.full(n, "not measurable", object),
                np.full(n, "no start", object),
                np.full(n, np.nan),
                nat,
                self.first.copy(),
                self.last.copy(),
            )
        asks = asks.sort_values("time", kind="stable")
        replies = replies.sort_values("reply", kind="stable")
        paired = pd.merge_asof(
            asks, replies, left_on="time", right_on="reply", by="case", direction="forward"
        )
        case = paired["case"].to_numpy()
        start = np.full(n, _NAT, dtype=np.int64)
        end = np.full(n, _NAT, dtype=np.int64)
        pair_start = paired["time"].to_numpy(dtype=np.int64)
        pair_end = paired["reply"].fillna(_NAT).to_numpy(dtype=np.int64)
        # Judge every pair as a case of its own, then keep each case's worst pair.
        pair_status, pair_reason, pair_value, pair_deadline = self.judge_term(
            criterion, pair_start, pair_end, self.last[case], self.log_end[case]
        )
        rank = np.select(
            [pair_status == "breach", pair_status == "not measurable"], [0, 1], default=2
        )
        lateness = np.where(pair_end == _NAT, np.inf, (pair_end - pair_deadline) / 1e6)
        order = np.lexsort((-lateness, rank, case))
        first_of_case = np.unique(case[order], return_index=True)[1]
        worst = order[first_of_case]
        cases = case[worst]
        status = np.full(n, "not measurable", dtype=object)
        reason = np.full(n, "no start", dtype=object)
        value = np.full(n, np.nan)
        deadline = np.full(n, _NAT, dtype=np.int64)
        status[cases], reason[cases] = pair_status[worst], pair_reason[worst]
        value[cases], deadline[cases] = pair_value[worst], pair_deadline[worst]
        start[cases] = pair_start[worst]
        end[cases] = np.where(pair_end[worst] == _NAT, self.last[cases], pair_end[worst])
        window_start = np.where(start == _NAT, self.first, start)
        window_end = np.where(end == _NAT, self.last, end)
        return status, reason, value, deadline, window_start, window_end

    def people(self, criterion: Criterion) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct people, or handovers between them, in the case's (or household's) work."""
        events = self.events
        n = self.n
        if criterion.activities:
            work = self.activity_mask(criterion.activities)
        else:
            kind = self.class_of[events.activity] if len(events) else np.empty(0, object)
            work = kind == "work"
            if not work.any():
                work = pd.isna(kind)  # no class says "work": every unclassified step
            work = np.asarray(work, dtype=bool)
        work &= events.resource >= 0
        status = np.full(n, "not measurable", dtype=object)
        reason = np.full(n, "no resource", dtype=object)
        value = np.full(n, np.nan)
        case, resource = events.case[work], events.resource[work]
        assert criterion.limit is not None
        if criterion.kind == "max_handovers":
            if len(case):
                changed = np.r_[False, (case[1:] == case[:-1]) & (resource[1:] != resource[:-1])]
                counts = pd.Series(changed.astype(int)).groupby(case).sum()
                value[counts.index.to_numpy()] = counts.to_numpy()
        elif criterion.per == "household":
            household = self.attribute(criterion.household)
            if household is None or not len(case):
                reason[:] = "no attribute"
                return status, reason, value
            pairs = pd.DataFrame({"household": household[case], "resource": resource})
            pairs = pairs.dropna(subset=["household"])
            counts = pairs.groupby("household")["resource"].nunique()
            per_case = pd.Series(household).map(counts).to_numpy(dtype=float)
            has_work = np.zeros(n, dtype=bool)
            has_work[np.unique(case)] = True
            value = np.where(has_work, per_case, np.nan)
            reason[has_work & pd.isna(household)] = "no attribute"
            value[pd.isna(household)] = np.nan
        elif len(case):
            counts = (
                pd.DataFrame({"case": case, "resource": resource})
                .groupby("case")["resource"]
                .nunique()
            )
            value[counts.index.to_numpy()] = counts.to_numpy()
        known = ~np.isnan(value)
        late = known & (value > criterion.limit)
        status[known] = np.where(late[known], "breach", "pass")
        reason[known] = np.where(late[known], "too many", "")
        return status, reason, value

    def share(self, criterion: Criterion) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Whether each case meets the share's condition."""
        condition = criterion.condition
        assert condition is not None
        n = self.n
        if condition.activities:
            meets = self.has(condition.activities)
            return (
                np.where(meets, "pass", "breach").astype(object),
                np.full(n, "", dtype=object),
                meets.astype(float),
            )
        assert condition.attribute is not None
        values = self.attribute(condition.attribute)
        status = np.full(n, "not measurable", dtype=object)
        reason = np.full(n, "no attribute", dtype=object)
        value = np.full(n, np.nan)
        if values is None:
            return status, reason, value
        wanted = {v.casefold() for v in condition.values}
        known = np.array([v is not None for v in values], dtype=bool)
        meets = np.array([v is not None and v.casefold() in wanted for v in values], dtype=bool)
        status[known] = np.where(meets[known], "pass", "breach")
        reason[known] = ""
        value[known] = meets[known].astype(float)
        return status, reason, value

    def scope(
        self, criterion: Criterion, moment: np.ndarray, in_scope: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which cases the criterion is about; a status override where a scope
        attribute is missing (not measurable)."""
        scope = criterion.scope
        n = self.n
        keep = in_scope.copy()
        status = np.full(n, "", dtype=object)
        reason = np.full(n, "", dtype=object)
        if scope.has:
            keep &= self.has(scope.has)
        if scope.teams:
            wanted = set(scope.teams)
            keep &= np.array([t in wanted for t in self.team], dtype=bool)
        for name, kept in scope.attributes:
            values = self.attribute(name)
            if values is None:
                status[:] = "not measurable"
                reason[:] = "no attribute"
                continue
            allowed = {v.casefold() for v in kept}
            missing = np.array([v is None for v in values], dtype=bool)
            inside = np.array([v is not None and v.casefold() in allowed for v in values], bool)
            keep &= inside | missing
            status[missing & (status == "")] = "not measurable"
            reason[missing & (reason == "")] = "no attribute"
        if scope.since is not None or scope.until is not None:
            days = self.local_days(np.where(moment == _NAT, self.first, moment))
            if scope.since is not None:
                keep &= days >= np.datetime64(scope.since)
            if scope.until is not None:
                keep &= days < np.datetime64(scope.until)
        return status, reason, keep


def _link(
    criteria: Sequence[Criterion], cases: pd.DataFrame, found: Blockers | None, base: _Cases
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per criterion and blocker: breaches on its path, and those it alone decides."""
    link_columns = [
        "criterion", "rank", "category", "reason", "activity", "breaches", "resolved",
        "compliance", "compliance_without", "seconds_in_breaches", "breach_share",
        "pass_share", "lift",
    ]  # fmt: skip
    breach_columns = ["criterion", "source_id", "case_id", "rank", "seconds"]
    if found is None or found.waits.empty:
        return pd.DataFrame(columns=link_columns), pd.DataFrame(columns=breach_columns)
    by_rank = {b.rank: b for b in found.blockers}
    waits = found.waits.assign(case_id=found.waits["case_id"].astype(str))
    link_rows: list[dict[str, Any]] = []
    breach_frames = []
    for criterion in criteria:
        if criterion.kind in ("share", "existence", "absence"):
            continue
        mine = cases[cases["criterion"] == criterion.id]
        breached = mine[mine["status"] == "breach"]
        measured = int((mine["status"] != "not measurable").sum())
        passed = int((mine["status"] == "pass").sum())
        if breached.empty or not measured:
            continue
        joined = mine.loc[
            mine["status"] != "not measurable",
            [
                "source_id",
                "case_id",
                "status",
                "window_start_us",
                "window_end_us",
                "deadline_us",
                "reason",
            ],
        ].merge(waits, on=["source_id", "case_id"], how="inner")
        enabled = joined["enabled_us"].to_numpy(dtype=np.int64)
        started = joined["start_us"].to_numpy(dtype=np.int64)
        lo = np.maximum(enabled, joined["window_start_us"].to_numpy(dtype=np.int64))
        hi = np.minimum(started, joined["window_end_us"].to_numpy(dtype=np.int64))
        span = (started - enabled).astype(float)
        overlap = np.clip((hi - lo).astype(float), 0, None)
        share = np.where(span > 0, overlap / np.where(span > 0, span, 1), 0.0)
        joined["inside"] = joined["seconds"].to_numpy(dtype=float) * np.clip(share, 0, 1)
        joined = joined[joined["inside"] > 0]
        # How often the blocker waits inside the windows of passing cases: a wait on the
        # path of every case, breached or not, does not explain a breach.
        passes_on = (
            joined[joined["status"] == "pass"]
            .drop_duplicates(["source_id", "case_id", "rank"])
            .groupby("rank")
            .size()
        )
        joined = joined[joined["status"] == "breach"]
        if joined.empty:
            continue
        per_case = (
            joined.groupby(["source_id", "case_id", "rank"], sort=False)
            .agg(
                seconds=("inside", "sum"),
                end=("window_end_us", "first"),
                deadline=("deadline_us", "first"),
                why=("reason", "first"),
            )
            .reset_index()
        )
        breach_frames.append(
            per_case[["source_id", "case_id", "rank", "seconds"]].assign(criterion=criterion.id)
        )
        for key, rows in per_case.groupby("rank"):
            rank = int(str(key))
            blocker = by_rank[rank]
            resolved = float("nan")
            if criterion.timed:
                # Only a late closing moves back; a case that never closed stays a breach.
                moved = rows["end"].to_numpy(dtype=float) - rows["seconds"].to_numpy() * 1e6
                resolved = float(
                    ((rows["why"] == "late").to_numpy() & (moved <= rows["deadline"])).sum()
                )
            link_rows.append(
                {
                    "criterion": criterion.id,
                    "rank": rank,
                    "category": blocker.category,
                    "reason": blocker.reason,
                    "activity": blocker.activity,
                    "breaches": len(rows),
                    "resolved": resolved,
                    "compliance": passed / measured,
                    "compliance_without": (passed + (resolved if resolved == resolved else 0))
                    / measured,
                    "seconds_in_breaches": float(rows["seconds"].sum()),
                    "breach_share": len(rows) / len(breached),
                    "pass_share": int(passes_on.get(rank, 0)) / passed if passed else 0.0,
                }
            )
    links = pd.DataFrame(link_rows, columns=link_columns)
    links["lift"] = np.where(
        links["pass_share"] > 0,
        links["breach_share"] / links["pass_share"].where(links["pass_share"] > 0),
        np.inf,
    )
    if not links.empty:
        # A wait met more often by passing cases than by breached ones (lift below 1)
        # does not explain the breaches, even where shortening it would save some:
        # those come after the waits that do.
        links = (
            links.assign(_explains=links["lift"] >= 1)
            .sort_values(
                ["criterion", "_explains", "resolved", "lift", "breaches", "rank"],
                ascending=[True, False, False, False, False, True],
                na_position="last",
            )
            .drop(columns="_explains")
        )
        order = {c.id: i for i, c in enumerate(criteria)}
        links = links.sort_values(
            "criterion", key=lambda s: s.map(order), kind="stable"
        ).reset_index(drop=True)
    per_breach = (
        pd.concat(breach_frames, ignore_index=True)[breach_columns]
        if breach_frames
        else pd.DataFrame(columns=breach_columns)
    )
    return links, per_breach


@dataclass(frozen=True, slots=True)
class _Link:
    """A row of :attr:`CriteriaResult.links`, typed."""

    criterion: str
    rank: int
    category: str
    reason: str
    activity: str
    breaches: int
    resolved: float
    compliance: float
    compliance_without: float
    seconds_in_breaches: float
    breach_share: float
    pass_share: float
    lift: float


def _shown(names: Sequence[str]) -> str:
    return " / ".join(f"'{n}'" for n in names)


def _text(value: object) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)
