"""Blockers: every wait and every step attributed to protocol, system, steering or
the client and their network, ranked by what it costs, with its evidence.

The attribution combines the profile's class of each activity with the
evidence of the waiting split (:mod:`knelpunt.analysis.waiting`), in this
order (the first rule that decides wins):

1. **The step itself.** Waiting for, and doing, a step the profile classes as
   protocol (a required meeting, a second assessment, a form), system
   (registration, a message run) or steering (an approval, a waiting list)
   is that category: without the rule, the step and its wait would not be
   there. A step classed as client (a reply from a provider) is waiting
   outside the organisation, except for batching with a fixed day or hour:
   clients do not batch, a system run does (rule 3).
2. **Rework.** A step done again in the same case is protocol rework (unless
   the profile classes it as the client's). **Handover.** Waiting for
   professional work done in another discipline than the case's professional
   work before it (their teams or roles differ: the profile's teams, or
   ``groups`` such as the log's ``org:group``) is a protocol handover; the
   work itself stays work.
3. **Batching** at a professional's step: batches that mostly start on one
   weekday are a meeting (protocol); batches that mostly start in one hour of
   the day are a system run (system). Other batching is unclassified.
4. **Contention** is a capacity question and **prioritisation** a question of
   priorities: both steering. **Unavailability** is the working hours of the
   people who do the step: steering (capacity).
5. **Extraneous** waiting for a case holder's first work in a case (someone
   who does the case's professional work), while the people who take up that
   work held nearly the most cases they ever held at once, is steering
   (caseload) when the evidence shows that ceiling holds cases back
   (:mod:`knelpunt.analysis.caseload`); for a case holder's own step this
   outranks rule 1, since the wait is for a place, not for the step (a case
   manager's first step may be a registration). Other extraneous waiting
   after a step the profile classes as client (the citizen, the network, a
   provider) is client; after a steering step (a waiting list), steering.
   Otherwise the log does not say whose it is.
6. What neither profile nor evidence decides is **unclassified**, and shown
   as such; undetermined waiting (no resource) is always unclassified.

A blocker is one activity's waiting (and, for rule 1 and 2, its work) in one
category for one reason. Its cost is the waiting in calendar time and in
working time (the organisation's calendar; the part outside the resource's
hours counts none), per case and in total; its gain is the mean cycle time of
the cases if this waiting were removed (as Kronos' cycle-time-efficiency
impact: the wait is taken off the cases it delays, nothing else moves).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Final

import numpy as np
import pandas as pd
from babel.dates import get_day_names
from babel.numbers import format_decimal, format_percent

from knelpunt.analysis.caseload import Ceiling, caseload_waits
from knelpunt.analysis.waiting import PARTS, WaitingSplit, split_waiting, utc_micros
from knelpunt.errors import AnalysisError
from knelpunt.mining.instances import ActivityInstances, enabling_rows
from knelpunt.mining.projection import EventTable
from knelpunt.profile import Profile, read_profile
from knelpunt.worktime import WorkCalendar

__all__ = ["CATEGORIES", "CATEGORY_NAMES", "Blocker", "Blockers", "find_blockers"]

CATEGORIES: Final = ("protocol", "system", "steering", "client", "unclassified")
_STEP_CLASSES: Final = ("protocol", "system", "steering", "client")
# A batch pattern: this share of the batches starts on one weekday, or in one hour.
_PATTERN_SHARE: Final = 0.6
_LOCALES: Final = {"nl": "nl_NL", "en": "en_GB"}

_REASONS: Final = {
    "nl": {
        "rework": "de stap wordt in dezelfde zaak opnieuw gedaan (herhaling).",
        "handover": "{share} van het wachten op deze stap volgt op een overdracht van de zaak "
        "aan een andere discipline.",
        "capacity": "{share} van het wachten op deze stap is de medewerker bezig met eerder "
        "binnengekomen zaken "
        "(capaciteit).",
        "priorities": "{share} van het wachten op deze stap is de medewerker bezig met later "
        "binnengekomen zaken "
        "(voorrang).",
        "working hours": "{share} van het wachten op deze stap valt buiten de werktijden van "
        "wie de stap doet.",
        "caseload": "{share} van het wachten op deze stap valt in de tijd dat de "
        "medewerkers die zulke zaken oppakken bijna hun hoogste aantal open zaken hadden "
        "({most} bij {members} medewerkers); wie toen binnenkwam wachtte mediaan {at} "
        "kalenderdagen, wie anders "
        "binnenkwam {below}: een caseloadplafond.",
        "after client": "het wachten volgt op een stap van de cliënt of het netwerk.",
        "after steering": "het wachten volgt op een sturingsstap (zoals een wachtlijst).",
        "batching": "{share} van het wachten op deze stap is wachten tot een batch vol is, "
        "zonder vaste dag of uur.",
        "unknown": "de oorzaak ligt buiten de log; profiel en gegevens wijzen geen categorie aan.",
        "undetermined": "de log noemt geen medewerker, dus de oorzaak is niet vast te stellen.",
    },
    "en": {
        "rework": "the step is done again in the same case (rework).",
        "handover": "{share} of the wait for this step follows a handover of the case to "
        "another discipline.",
        "capacity": "for {share} of the wait for this step the resource is busy with cases "
        "that came in earlier "
        "(capacity).",
        "priorities": "for {share} of the wait for this step the resource is busy with cases "
        "that came in later "
        "(priorities).",
        "working hours": "{share} of the wait for this step falls outside the working hours of "
        "whoever does it.",
        "caseload": "{share} of the wait for this step fell while the professionals who "
        "take up such cases held nearly the most open cases they ever held ({most} across "
        "{members} professionals); cases that came in then waited a median of {at} calendar "
        "days, others {below}: a caseload ceiling.",
        "after client": "the wait follows a step of the client or their network.",
        "after steering": "the wait follows a steering step (such as a waiting list).",
        "batching": "{share} of the wait for this step is waiting for a batch to fill, on no "
        "fixed day or hour.",
        "unknown": "the cause lies outside the log; neither profile nor data names a category.",
        "undetermined": "the log names no resource, so the cause cannot be determined.",
    },
}

CATEGORY_NAMES: Final = {
    "nl": {
        "protocol": "protocol",
        "system": "systeem",
        "steering": "sturing",
        "client": "cliënt en netwerk",
        "unclassified": "niet toegewezen",
    },
    "en": {
        "protocol": "protocol",
        "system": "system",
        "steering": "steering",
        "client": "client and network",
        "unclassified": "unclassified",
    },
}


@dataclass(frozen=True, slots=True)
class Blocker:
    """One blocker: an activity's waiting (and work) in one category, for one reason.

    Attributes:
        rank: 1 for the costliest.
        category: protocol, system, steering, client or unclassified.
        reason: the rule that decided (``step``, ``rework``, ``handover``, ``meeting``,
            ``system run``, ``capacity``, ``priorities``, ``working hours``,
            ``caseload``, ``after client``, ``after steering``, ``batching``, ``unknown``).
        activity: the activity whose start waits.
        waiting_s, waiting_work_s: total waiting, calendar and working seconds.
        work_s: processing time of the step, when the step itself is the blocker.
        median_case_s, median_case_work_s: median waiting per affected case.
        cases, instances: how many cases and instances it delays.
        causes: seconds per cause of the waiting split.
        cycle_time_s, cycle_time_without_s: mean cycle time of all cases, now
            and with this waiting removed.
        evidence: the evidence in plain words, per language (``nl``, ``en``).
        case_ids: the cases behind it, most delayed first.
    """

    rank: int
    category: str
    reason: str
    activity: str
    waiting_s: float
    waiting_work_s: float
    work_s: float
    median_case_s: float
    median_case_work_s: float
    cases: int
    instances: int
    causes: Mapping[str, float]
    cycle_time_s: float
    cycle_time_without_s: float
    evidence: Mapping[str, str]
    case_ids: tuple[str, ...] = field(repr=False)

    @property
    def gain(self) -> float:
        """The share by which the mean cycle time would fall without this waiting."""
        return 1 - self.cycle_time_without_s / self.cycle_time_s if self.cycle_time_s else 0.0


@dataclass(frozen=True, slots=True)
class Blockers:
    """The blockers of a log, costliest first.

    Attributes:
        blockers: the ranked blockers.
        steps: per activity instance, the category and reason of its waiting
            per part of the split, and of its work; ``caseload_s``, the seconds of
            its extraneous waiting that are steering (caseload) instead.
        trend: per blocker rank and month: waiting seconds and cases.
        split: the waiting split the attribution rests on.
        notes: what a reader must know.
        waits: per ranked blocker and activity instance it delays: ``rank``,
            ``source_id``, ``case_id``, when the instance waited (``enabled_us``
            to ``start_us``, UTC microseconds) and the blocker's ``seconds`` of it.
    """

    blockers: tuple[Blocker, ...]
    steps: pd.DataFrame
    trend: pd.DataFrame
    split: WaitingSplit
    notes: tuple[str, ...]
    waits: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per blocker (without its case ids)."""
        rows = []
        for found in self.blockers:
            rows.append(
                {
                    "rank": found.rank,
                    "category": found.category,
                    "reason": found.reason,
                    "activity": found.activity,
                    "waiting_h": found.waiting_s / 3600,
                    "waiting_work_h": found.waiting_work_s / 3600,
                    "work_h": found.work_s / 3600,
                    "median_case_h": found.median_case_s / 3600,
                    "cases": found.cases,
                    "instances": found.instances,
                    "gain": found.gain,
                    **{f"{cause}_h": found.causes.get(cause, 0.0) / 3600 for cause in PARTS},
                    "evidence_nl": found.evidence["nl"],
                    "evidence_en": found.evidence["en"],
                }
            )
        return pd.DataFrame(rows)

    def by_category(self) -> pd.DataFrame:
        """Waiting (hours) and blockers per category."""
        frame = self.to_frame()
        if frame.empty:
            return pd.DataFrame({"category": CATEGORIES, "waiting_h": 0.0, "blockers": 0})
        grouped = frame.groupby("category")
        out = pd.DataFrame(
            {"waiting_h": grouped["waiting_h"].sum(), "blockers": grouped.size()}
        ).reindex(list(CATEGORIES), fill_value=0)
        return out.reset_index(names="category")

    def _repr_html_(self) -> str:
        top = self.to_frame().head(10)
        if top.empty:
            return "<p>No waiting found.</p>"
        shown = top[["rank", "category", "activity", "waiting_h", "cases", "gain", "evidence_en"]]
        return shown.to_html(index=False, float_format="{:,.2f}".format)


def batch_patterns(
    batches: pd.DataFrame, calendar: WorkCalendar
) -> dict[str, tuple[str, float, int]]:
    """Per activity whose batches keep a clock: ``("day", share, weekday)`` when most of
    them start on one weekday (a meeting), ``("hour", share, hour)`` when most start in
    one hour of the day (a scheduled run). Needs three batches or more. The hour in
    which the working day opens (or the hour before) is no run: work queued overnight
    starts then anyway; nor are batches that start at midnight to the second: those
    are dates without a time."""
    if batches.empty:
        return {}
    opening = {spans[0][0] // 60 for spans in calendar.hours if spans}
    local = batches["start"].dt.tz_convert(calendar.timezone)
    midnight = local == local.dt.normalize()
    batches = batches.assign(day=local.dt.day_of_week, hour=local.dt.hour, midnight=midnight)
    found: dict[str, tuple[str, float, int]] = {}
    for activity, rows in batches.groupby(batches["activity"].astype(str)):
        if len(rows) < 3:
            continue
        day_share = rows["day"].value_counts(normalize=True)
        hour_share = rows["hour"].value_counts(normalize=True)
        if day_share.iloc[0] >= _PATTERN_SHARE and rows["day"].nunique() <= 2:
            found[str(activity)] = ("day", float(day_share.iloc[0]), int(day_share.index[0]))
        elif (
            hour_share.iloc[0] >= _PATTERN_SHARE
            and rows["midnight"].mean() < _PATTERN_SHARE
            and not opening & {int(hour_share.index[0]), int(hour_share.index[0]) + 1}
        ):
            found[str(activity)] = ("hour", float(hour_share.iloc[0]), int(hour_share.index[0]))
    return found


def find_blockers(
    events: EventTable | ActivityInstances | WaitingSplit,
    *,
    profile: Profile | str | None = None,
    calendar: WorkCalendar | None = None,
    top: int | None = None,
    min_share: float = 0.001,
    groups: Mapping[str, str] | None = None,
) -> Blockers:
    """Find, attribute and rank what makes cases wait (see the module documentation).

    Args:
        events: the events, their instances, or a waiting split already made.
        profile: a :class:`Profile` or the name/path of one (default: ``generiek``,
            which classifies no activity, so only evidence decides).
        calendar: the organisation's calendar (default: the profile's).
        top: keep only this many blockers.
        min_share: leave out blockers with less than this share of all waiting.
        groups: per resource, its discipline (team or role; say, from
            :func:`knelpunt.read_resource_groups`), over the profile's teams: a
            case passed between disciplines waits for a handover.

    Example:
        >>> import knelpunt as kp
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.simulate_scenario(store, "team-meeting", seed=1, overrides=["days=120"])
        ...     found = kp.find_blockers(kp.load_events(store), profile="sociaal-domein")
        >>> ours = [b for b in found.blockers if b.category in ("protocol", "system", "steering")]
        >>> ours[0].category, ours[0].activity, ours[0].reason
        ('protocol', 'Multidisciplinair overleg', 'step')
    """
    if isinstance(profile, str):
        profile = read_profile(profile)
    profile = profile or read_profile("generiek")
    if not 0 <= min_share < 1:
        raise AnalysisError(f"min_share is a share between 0 and 1, not {min_share}.")
    if isinstance(events, WaitingSplit):
        split = events
    else:
        split = split_waiting(events, profile=profile, calendar=calendar)
    disciplines = {**(groups or {}), **profile.groups("team")}
    return _Attribution(split, profile, calendar or split.calendar, disciplines).run(top, min_share)


class _Attribution:
    def __init__(
        self,
        split: WaitingSplit,
        profile: Profile,
        calendar: WorkCalendar,
        groups: Mapping[str, str],
    ) -> None:
        self.split = split
        self.groups = dict(groups)
        self.profile = profile
        self.calendar = calendar
        frame = split.instances.reset_index(drop=True)
        frame["activity"] = frame["activity"].astype(str)
        frame["row"] = np.arange(len(frame))
        self.frame = frame
        names = frame["activity"].unique()
        self.classes = {name: profile.classify_activity(name) for name in names}
        open_days = [sum(b - a for a, b in spans) for spans in calendar.hours if spans]
        # The length of a working day in the organisation's calendar, seconds.
        self.day_s = 60.0 * float(np.mean(open_days)) if open_days else 86_400.0
        # All waiting per activity: a blocker's share of it is in its evidence.
        grouped = frame.groupby("activity")["waiting_s"].sum()
        self.activity_waiting = {str(k): float(v) for k, v in grouped.items()}
        # Per activity with a batch pattern: ("day" or "hour", share, weekday or hour).
        self.patterns: dict[str, tuple[str, float, int]] = {}
        # Per activity whose first work waits for a place in a caseload.
        self.ceilings: dict[str, Ceiling] = {}

    def run(self, top: int | None, min_share: float) -> Blockers:
        frame = self.frame
        steps = self.attribute()
        cycle = self.cycle_times()
        mean_cycle = float(cycle.mean()) if len(cycle) else 0.0
        work_share = self.working_share()
        caseload = steps["caseload_s"].to_numpy(dtype=float)
        # Per part of the split, its seconds and the steps' columns that name them (the
        # extraneous seconds put down to a caseload are a part of their own). Names are
        # taken for the kept rows only: a column of strings costs memory per row.
        pieces: list[tuple[str, np.ndarray, str | None]] = [
            (
                part,
                frame[f"{part}_s"].to_numpy(dtype=float) - caseload * (part == "extraneous"),
                part,
            )
            for part in PARTS
        ]
        pieces.append(("extraneous", caseload, None))
        long = []
        for name, seconds, column in pieces:
            keep = seconds > 0
            named: dict[str, str | np.ndarray]
            if column is None:
                named = {"category": "steering", "reason": "caseload"}
            else:
                named = {
                    "category": steps[f"{column}_category"].to_numpy()[keep],
                    "reason": steps[f"{column}_reason"].to_numpy()[keep],
                }
            long.append(
                pd.DataFrame(
                    {
                        "row": frame["row"].to_numpy()[keep],
                        "part": name,
                        "seconds": seconds[keep],
                        "work_seconds": (seconds * (0 if name == "unavailability" else 1))[keep]
                        * work_share[keep],
                        **named,
                    }
                )
            )
        parts = pd.concat(long, ignore_index=True)
        parts["activity"] = frame["activity"].to_numpy()[parts["row"]]
        parts["case"] = (
            frame["source_id"].astype(str) + "\x1f" + frame["case_id"].astype(str)
        ).to_numpy()[parts["row"]]
        total = float(parts["seconds"].sum())
        drafts: list[tuple[Blocker, pd.DataFrame]] = []
        for (category, reason, activity), rows in parts.groupby(
            ["category", "reason", "activity"], sort=False
        ):
            waiting = float(rows["seconds"].sum())
            if total <= 0 or waiting / total < min_share:
                continue
            per_case = rows.groupby("case")[["seconds", "work_seconds"]].sum()
            without = cycle.sub(per_case["seconds"].reindex(cycle.index, fill_value=0.0))
            work = 0.0
            if reason in ("step", "rework"):
                chosen = (frame["activity"] == activity) & (steps["work_category"] == category)
                work = float(frame.loc[chosen, "processing_s"].fillna(0).sum())
            causes = rows.groupby("part")["seconds"].sum()
            found = Blocker(
                rank=0,
                category=str(category),
                reason=str(reason),
                activity=str(activity),
                waiting_s=waiting,
                waiting_work_s=float(rows["work_seconds"].sum()),
                work_s=work,
                median_case_s=float(per_case["seconds"].median()),
                median_case_work_s=float(per_case["work_seconds"].median()),
                cases=len(per_case),
                instances=int(rows["row"].nunique()),
                causes={str(part): float(s) for part, s in causes.items()},
                cycle_time_s=mean_cycle,
                cycle_time_without_s=float(without.clip(lower=0).mean()) if len(cycle) else 0.0,
                evidence={},
                case_ids=tuple(
                    str(case).split("\x1f", 1)[1]
                    for case in per_case["seconds"].sort_values(ascending=False).index
                ),
            )
            drafts.append((found, rows))
        drafts.sort(key=lambda draft: (-draft[0].waiting_s, draft[0].activity, draft[0].reason))
        ranked = []
        trend_rows = []
        wait_rows = []
        local = frame["start"].dt.tz_convert(self.calendar.timezone).dt.tz_localize(None)
        months = local.dt.to_period("M").astype(str).to_numpy()
        for rank, (draft, rows) in enumerate(drafts[:top], start=1):
            per_month = rows.assign(month=months[rows["row"].to_numpy()]).groupby("month")
            trend_rows.append(
                pd.DataFrame(
                    {
                        "rank": rank,
                        "month": per_month.size().index,
                        "waiting_h": per_month["seconds"].sum().to_numpy() / 3600,
                        "cases": per_month["case"].nunique().to_numpy(),
                    }
                )
            )
            wait_rows.append(
                pd.DataFrame(
                    {"rank": rank, "row": rows["row"].to_numpy(), "seconds": rows["seconds"]}
                )
            )
            evidence = {lang: self.evidence(draft, lang) for lang in _LOCALES}
            ranked.append(replace(draft, rank=rank, evidence=evidence))
        trend = (
            pd.concat(trend_rows, ignore_index=True)
            if trend_rows
            else pd.DataFrame(columns=["rank", "month", "waiting_h", "cases"])
        )
        notes = self.split.notes
        waits = self.waits(wait_rows)
        unclassified = parts.loc[parts["category"] == "unclassified", "seconds"].sum()
        if total > 0 and unclassified > 0:
            notes += (
                f"{unclassified / total:.0%} of all waiting is unclassified: neither the profile "
                "nor the evidence says whose it is. Classify the activities involved in the "
                "profile (knelpunt profile draft) to decide it.",
            )
        return Blockers(
            blockers=tuple(ranked),
            steps=steps,
            trend=trend,
            split=self.split,
            notes=notes,
            waits=waits,
        )

    def waits(self, pieces: list[pd.DataFrame]) -> pd.DataFrame:
        """Per ranked blocker and instance: its seconds, and when that instance waited."""
        columns = ["rank", "source_id", "case_id", "enabled_us", "start_us", "seconds"]
        if not pieces:
            return pd.DataFrame(columns=columns)
        joined = pd.concat(pieces, ignore_index=True)
        frame = self.frame
        rows = joined["row"].to_numpy()
        start = utc_micros(frame["start"])
        enabled = utc_micros(frame["enabled"].fillna(frame["start"]))
        return pd.DataFrame(
            {
                "rank": joined["rank"].to_numpy(dtype=np.int64),
                "source_id": frame["source_id"].to_numpy()[rows],
                "case_id": frame["case_id"].astype(str).to_numpy()[rows],
                "enabled_us": enabled[rows],
                "start_us": start[rows],
                "seconds": joined["seconds"].to_numpy(dtype=float),
            }
        )

    def attribute(self) -> pd.DataFrame:
        """Per instance, category and reason of each part of its wait, and of its work."""
        frame = self.frame
        n = len(frame)
        kind = frame["activity"].map(self.classes).to_numpy(dtype=object)
        repeat = frame.groupby(["source_id", "case_id", "activity"], observed=True).cumcount() > 0
        repeat = repeat.to_numpy() & (kind != "client")
        before = enabling_rows(frame)
        previous: np.ndarray = kind[np.maximum(before, 0)].copy()
        previous[before < 0] = None
        handover = self.handovers(kind)
        batch_reason = self.batch_patterns()
        out: dict[str, np.ndarray] = {}
        is_step = np.isin(kind, _STEP_CLASSES)
        rework = ~is_step & repeat
        handover = handover & ~is_step & ~rework

        def decided(
            category: np.ndarray,
            reason: np.ndarray,
            *,
            pattern: np.ndarray | None = None,
            moved: np.ndarray = handover,
        ) -> tuple[np.ndarray, np.ndarray]:
            """Rules 1 and 2 over a per-part default; a batch pattern (a meeting day,
            a run's hour) outranks the client class: clients do not batch."""
            step = is_step
            if pattern is not None:
                step = step & ~(pattern & (kind == "client"))
            category = np.where(step, kind, np.where(rework | moved, "protocol", category))
            reason = np.where(
                step, "step", np.where(rework, "rework", np.where(moved, "handover", reason))
            )
            return category.astype(object), reason.astype(object)

        batch = frame["batch"].to_numpy()
        verdicts = [batch_reason.get(int(b), ("unclassified", "batching")) for b in batch]
        rules: dict[str, tuple[np.ndarray, np.ndarray]] = {
            "batching": (
                np.array([category for category, _ in verdicts], dtype=object),
                np.array([reason for _, reason in verdicts], dtype=object),
            ),
            "contention": (np.full(n, "steering", object), np.full(n, "capacity", object)),
            "prioritisation": (np.full(n, "steering", object), np.full(n, "priorities", object)),
            "unavailability": (np.full(n, "steering", object), np.full(n, "working hours", object)),
            "extraneous": (
                np.select(
                    [previous == "client", previous == "steering"],
                    ["client", "steering"],
                    "unclassified",
                ).astype(object),
                np.select(
                    [previous == "client", previous == "steering"],
                    ["after client", "after steering"],
                    "unknown",
                ).astype(object),
            ),
        }
        patterned = np.isin(rules["batching"][1], ("meeting", "system run"))
        for part, (category, reason) in rules.items():
            chosen = patterned if part == "batching" else None
            out[f"{part}_category"], out[f"{part}_reason"] = decided(
                category, reason, pattern=chosen
            )
        out["undetermined_category"] = np.full(n, "unclassified", object)
        out["undetermined_reason"] = np.full(n, "undetermined", object)
        # The work after a handover is work all the same: only its wait is the handover's.
        work_category, work_reason = decided(
            np.full(n, "work", object), np.full(n, "work", object), moved=np.zeros(n, dtype=bool)
        )
        out["work_category"], out["work_reason"] = work_category, work_reason
        # Who may wait for a place in a caseload: the work of people who hold cases (who
        # do the case's professional work), a step of theirs too (a case manager's first
        # step may be a registration), but not a reviewer's, a manager's or a client's.
        holders = frame.loc[~is_step, "resource"].dropna().unique()
        holds = ~is_step | ((kind != "client") & frame["resource"].isin(holders).to_numpy())
        caseload, self.ceilings = caseload_waits(
            frame, candidates=holds & ~rework & ~handover, groups=self.groups
        )
        steps = frame[["source_id", "case_id", "activity", "resource", "start"]].copy()
        for name, values in out.items():
            steps[name] = values
        steps["caseload_s"] = caseload
        return steps

    def handovers(self, kind: np.ndarray) -> np.ndarray:
        """Instances of professional work done in another discipline (team or role)
        than the case's professional work before it."""
        frame = self.frame
        if not self.groups:
            return np.zeros(len(frame), dtype=bool)
        work = ~np.isin(kind, _STEP_CLASSES)
        rows = frame.loc[work, ["source_id", "case_id", "start", "row"]].assign(
            group=frame.loc[work, "resource"].astype(object).map(self.groups)
        )
        rows = rows[rows["group"].notna()].sort_values(["source_id", "case_id", "start"])
        before = rows.groupby(["source_id", "case_id"], observed=True)["group"].shift(1)
        moved = rows.loc[before.notna() & (before != rows["group"]), "row"]
        out = np.zeros(len(frame), dtype=bool)
        out[moved.to_numpy(dtype=np.int64)] = True
        return out

    def batch_patterns(self) -> dict[int, tuple[str, str]]:
        """Per batch: (category, reason) from when its activity's batches start."""
        self.patterns = batch_patterns(self.split.batches, self.calendar)
        found: dict[int, tuple[str, str]] = {}
        batches = self.split.batches
        if batches.empty:
            return found
        for activity, numbers in batches.groupby(batches["activity"].astype(str))["batch"]:
            pattern = self.patterns.get(str(activity))
            verdict = ("unclassified", "batching")
            if pattern is not None:
                verdict = (
                    ("protocol", "meeting") if pattern[0] == "day" else ("system", "system run")
                )
            for number in numbers.tolist():
                found[int(number)] = verdict
        return found

    def cycle_times(self) -> pd.Series:
        """Per case, from its first enabled (or start) to its last completion, seconds."""
        frame = self.frame
        first = frame["enabled"].fillna(frame["start"])
        last = frame["complete"].fillna(frame["start"])
        key = frame["source_id"].astype(str) + "\x1f" + frame["case_id"].astype(str)
        span = pd.DataFrame({"key": key, "first": first, "last": last}).groupby("key")
        return (span["last"].max() - span["first"].min()).dt.total_seconds()

    def working_share(self) -> np.ndarray:
        """Per instance: working seconds per calendar second of its wait outside
        unavailability (the working part is shared by the other parts)."""
        frame = self.frame
        if "waiting_work_s" not in frame:
            return np.ones(len(frame))
        rest = (frame["waiting_s"] - frame["unavailability_s"]).to_numpy(dtype=float)
        work = frame["waiting_work_s"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(rest > 0, np.clip(work / rest, 0, 1), 0.0)

    def evidence(self, found: Blocker, lang: str) -> str:
        locale = _LOCALES[lang]
        days = found.median_case_work_s / self.day_s
        number = format_decimal(days, format="#,##0.0", locale=locale)
        cases = format_decimal(found.cases, locale=locale)
        whole = self.activity_waiting.get(found.activity, 0.0)
        share = format_percent(found.waiting_s / whole if whole else 0.0, locale=locale)
        if lang == "nl":
            head = (
                f"Wachten op '{found.activity}' kost mediaan {number} werkdagen per zaak "
                f"({cases} zaken)"
            )
        else:
            head = (
                f"Waiting for '{found.activity}' costs a median of {number} working days "
                f"per case ({cases} cases)"
            )
        return f"{head}; {self.reason_text(found, share, lang)}"

    def reason_text(self, found: Blocker, share: str, lang: str) -> str:
        name = CATEGORY_NAMES[lang][found.category]
        pattern = self.patterns.get(found.activity)
        if found.reason == "step":
            extra = self.pattern_text(pattern, lang) if pattern is not None else ""
            if lang == "nl":
                return f"de stap is {name} volgens het profiel{extra}."
            return f"the profile classes the step as {name}{extra}."
        if pattern is not None and found.reason in ("meeting", "system run"):
            # A meeting or a run always has its pattern (batch_patterns sets both).
            return self.pattern_text(pattern, lang).removeprefix("; ") + "."
        ceiling = self.ceilings.get(found.activity)
        if found.reason == "caseload" and ceiling is not None:
            locale = _LOCALES[lang]
            return _REASONS[lang]["caseload"].format(
                share=share,
                most=format_decimal(ceiling.most_open, locale=locale),
                members=format_decimal(ceiling.members, locale=locale),
                at=format_decimal(ceiling.median_at_s / 86_400, format="#,##0.0", locale=locale),
                below=format_decimal(
                    ceiling.median_below_s / 86_400, format="#,##0.0", locale=locale
                ),
            )
        return _REASONS[lang][found.reason].format(share=share)

    def pattern_text(self, pattern: tuple[str, float, int], lang: str) -> str:
        locale = _LOCALES[lang]
        kind, share, value = pattern
        shown = format_percent(share, locale=locale)
        if kind == "day":
            day = get_day_names("wide", locale=locale)[value]
            return (
                f"; {shown} van de batches begint op {day}: een wekelijks overleg"
                if lang == "nl"
                else f"; {shown} of the batches start on a {day}: a weekly meeting"
            )
        hours = f"{value:02d}:00-{value + 1:02d}:00"
        if lang == "nl":
            return f"; {shown} van de batches begint tussen {hours}: een vaste verwerkingsrun"
        return f"; {shown} of the batches start at {hours}: a scheduled run"
