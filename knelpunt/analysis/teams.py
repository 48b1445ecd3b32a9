"""How teams and professionals work together: the team and individual levels.

:func:`summarise_teamwork` gathers, for one log, what a team leader or policy
advisor asks at the team level (who hands work to whom, who works on the
same cases, how the work is spread over teams and months, how often a case
crosses disciplines) and at the individual level (per professional, under a
pseudonym by default).

Definitions:

* A **handover** is an event by one resource directly followed, in the same
  case, by an event of another (events without a resource are skipped), as
  in :func:`knelpunt.discover_handovers` at the level of resources.
* A handover is **across teams** when both resources have a known team and
  the teams differ: the multidisciplinary work policy asks for ("integraal
  werken"). A case is **multidisciplinary** when people of two or more known
  teams worked on it.
* A resource's team comes from the profile's teams, else from ``groups``
  (say, the log's ``org:group`` from :func:`knelpunt.read_resource_groups`);
  resources without one (a provider, a system) are in :data:`OTHER`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import networkx as nx
import numpy as np
import pandas as pd

from knelpunt.analysis.criteria import pseudonym
from knelpunt.mining.instances import pair_instances
from knelpunt.mining.organisation import (
    OTHER,
    discover_collaboration,
    discover_handovers,
    resource_workload,
    successions,
)
from knelpunt.mining.projection import EventTable
from knelpunt.profile import Profile, read_profile
from knelpunt.worktime import WorkCalendar

__all__ = ["TeamWork", "summarise_teamwork"]

TEAM_COLUMNS: Final = (
    "team",
    "professionals",
    "events",
    "cases",
    "instances",
    "processing_h",
    "handovers_out",
    "across_out",
    "handovers_in",
    "across_in",
)
PEOPLE_COLUMNS: Final = (
    "professional",
    "team",
    "events",
    "cases",
    "instances",
    "processing_h",
    "handovers_out",
    "across_out",
    "handovers_in",
    "months",
    "cases_per_month",
)


@dataclass(frozen=True, slots=True)
class TeamWork:
    """The team and individual levels of a log (see the module notes).

    Attributes:
        teams: per team (and :data:`OTHER`): professionals, events, cases,
            activity instances completed and their processing hours, handovers
            given and received, and of those the ones across teams.
        people: per professional (pseudonymised unless asked otherwise): team,
            events, cases, instances, processing hours, handovers given (all and
            across teams) and received, months with work, cases per such month.
        handovers: the handover network between teams (:func:`discover_handovers`).
        collaboration: the working-together network between teams
            (:func:`discover_collaboration`).
        workload: per month and team: events, cases, instances, processing seconds.
        people_workload: the same per month and professional.
        cases: per case: ``source_id``, ``case_id``, ``teams`` and ``professionals``
            involved (known teams only for ``teams``), ``handovers``, ``across``.
        calendar: the calendar processing time was counted in (None: calendar time).
        pseudonymised: whether professionals are shown under pseudonyms.
        notes: what a reader must know.
    """

    teams: pd.DataFrame
    people: pd.DataFrame
    handovers: nx.DiGraph[str]
    collaboration: nx.Graph[str]
    workload: pd.DataFrame
    people_workload: pd.DataFrame
    cases: pd.DataFrame
    calendar: WorkCalendar | None
    pseudonymised: bool
    notes: tuple[str, ...] = ()

    @property
    def multidisciplinary_share(self) -> float:
        """The share of cases with a known team on which two or more teams worked."""
        known = self.cases[self.cases["teams"] > 0]
        return float((known["teams"] >= 2).mean()) if len(known) else float("nan")

    @property
    def across_share(self) -> float:
        """The share of handovers that cross from one team to another."""
        total = int(self.cases["handovers"].sum())
        return int(self.cases["across"].sum()) / total if total else float("nan")

    def professionals(self) -> pd.DataFrame:
        """The rows of :attr:`people` who belong to a team (all of them when no team is
        known): the professionals, without providers and systems."""
        members = self.people[self.people["team"] != OTHER]
        return (members if len(members) else self.people).reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """The per-team table (:attr:`teams`)."""
        return self.teams.copy()

    def _repr_html_(self) -> str:
        head = (
            f"<p>{len(self.people)} professionals in {int((self.teams['team'] != OTHER).sum())} "
            f"teams; {self.multidisciplinary_share:.0%} of cases multidisciplinary, "
            f"{self.across_share:.0%} of handovers across teams.</p>"
        )
        table = self.teams.to_html(index=False, float_format=lambda v: f"{v:,.1f}")
        return head + str(table)


def summarise_teamwork(
    events: EventTable,
    *,
    profile: Profile | str | None = None,
    groups: Mapping[str, str] | None = None,
    pseudonymise: bool = True,
    key: bytes | str | None = None,
    freq: str = "M",
) -> TeamWork:
    """The team and individual levels of a log: networks, workload, multidisciplinary work.

    Args:
        events: the events (:func:`knelpunt.load_events`, filtered as wished).
        profile: a :class:`Profile` or the name of one: its teams (over ``groups``)
            and its calendar (processing in working time, months in its zone).
            None: ``groups`` only, and calendar time.
        groups: per resource, its team (e.g. :func:`knelpunt.read_resource_groups`).
        pseudonymise: show professionals under a pseudonym
            (:func:`knelpunt.analysis.criteria.pseudonym`), as the criteria do, so
            the two tables can be read side by side.
        key: the pseudonyms' key.
        freq: the workload period (``M`` month, ``W`` week, ...).

    Example:
        >>> import knelpunt as kp
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.simulate_scenario(store, "specialist-handover", overrides=["days=60"])
        ...     work = kp.summarise_teamwork(kp.load_events(store),
        ...                                  groups=kp.read_resource_groups(store))
        >>> sorted(work.teams["team"])
        ['(other)', 'generalist', 'jeugd', 'schulden', 'specialist']
        >>> bool(0 < work.multidisciplinary_share < 1)
        True
        >>> bool(work.people["professional"].str.startswith("medewerker-").all())
        True
    """
    if isinstance(profile, str):
        profile = read_profile(profile)
    calendar = profile.calendar if profile is not None else None
    team_of = {**(groups or {}), **(profile.groups("team") if profile is not None else {})}
    names = [str(r) for r in events.resources]
    teams = sorted({team_of[n] for n in names if n in team_of})
    team_names = [*teams, OTHER]
    # Per resource code, its team code; the last team code is OTHER.
    team_code = np.array(
        [teams.index(team_of[n]) if n in team_of else len(teams) for n in names], dtype=np.int64
    )
    other = len(teams)

    known = events.resource >= 0
    case = events.case[known].astype(np.int64)
    who = events.resource[known].astype(np.int64)
    team = team_code[who]
    # Handovers: consecutive events of a case by two resources (as discover_handovers).
    pairs = successions(events, events.resource)
    src, dst = pairs["src"].to_numpy().astype(np.int64), pairs["dst"].to_numpy().astype(np.int64)
    to_case = pairs["case"].to_numpy().astype(np.int64)
    moved = src != dst
    across = moved & (team_code[src] != team_code[dst])
    across &= (team_code[src] != other) & (team_code[dst] != other)

    n_cases, n_people, n_teams = events.n_cases, len(names), len(team_names)
    per_case = pd.DataFrame(
        {
            "source_id": events.case_sources,
            "case_id": events.case_ids,
            "teams": _distinct_per(case[team != other], team[team != other], n_cases, n_teams),
            "professionals": _distinct_per(case, who, n_cases, n_people),
            "handovers": np.bincount(to_case[moved], minlength=n_cases),
            "across": np.bincount(to_case[across], minlength=n_cases),
        }
    )

    # The activity instances once, for the workload of people and of teams.
    steps = pair_instances(events, calendar=calendar)
    by_person = resource_workload(events, freq=freq, calendar=calendar, instances=steps)
    by_team = resource_workload(
        events, groups=team_of, freq=freq, calendar=calendar, instances=steps
    )
    people = pd.DataFrame(
        {
            "professional": pd.Series(names, dtype=object),
            "team": pd.Series([team_names[c] for c in team_code], dtype=object),
            "events": np.bincount(who, minlength=n_people),
            "cases": _distinct_per(who, case, n_people, max(n_cases, 1)),
            "handovers_out": np.bincount(src[moved], minlength=n_people),
            "across_out": np.bincount(src[across], minlength=n_people),
            "handovers_in": np.bincount(dst[moved], minlength=n_people),
        }
    )
    busy = by_person.groupby("performer").agg(
        instances=("instances", "sum"),
        processing_s=("processing_s", "sum"),
        months=("events", lambda e: int((e > 0).sum())),
    )
    people = people.join(busy.set_axis(busy.index.astype(object)), on="professional")
    people = people.fillna({"instances": 0, "processing_s": 0.0, "months": 0})
    people["processing_h"] = people.pop("processing_s") / 3600
    people["cases_per_month"] = people["cases"] / people["months"].where(people["months"] > 0)
    people = people[people["events"] > 0]

    grouped = people.groupby("team")
    team_table = pd.DataFrame(
        {
            "professionals": grouped.size(),
            "handovers_out": grouped["handovers_out"].sum(),
            "across_out": grouped["across_out"].sum(),
            "handovers_in": grouped["handovers_in"].sum(),
            "across_in": pd.Series(
                np.bincount(team_code[dst[across]], minlength=n_teams), index=team_names
            ),
            "events": grouped["events"].sum(),
            "cases": pd.Series(
                _distinct_per(team, case, n_teams, max(n_cases, 1)), index=team_names
            ),
            "instances": grouped["instances"].sum(),
            "processing_h": grouped["processing_h"].sum(),
        }
    )
    team_table = team_table[team_table["professionals"].fillna(0) > 0]
    team_table = team_table.rename_axis("team").reset_index()

    for frame in (people, team_table):
        for column in frame.columns:
            if column not in ("professional", "team", "processing_h", "cases_per_month"):
                frame[column] = frame[column].astype(np.int64)
    notes = []
    if not teams:
        notes.append(
            "No resource has a known team: the team level shows one group. Add teams to "
            "the profile (teams: ...) or record org:group with the events."
        )
    shown = {n: (pseudonym(n, key=key) if pseudonymise else n) for n in names}
    people["professional"] = people["professional"].map(shown)
    people_workload = by_person.rename(columns={"performer": "professional"})
    people_workload["professional"] = people_workload["professional"].map(shown)
    return TeamWork(
        teams=team_table[list(TEAM_COLUMNS)].reset_index(drop=True),
        people=people[list(PEOPLE_COLUMNS)]
        .sort_values(["team", "professional"])
        .reset_index(drop=True),
        handovers=discover_handovers(events, groups=team_of, calendar=calendar),
        collaboration=discover_collaboration(events, groups=team_of),
        workload=by_team.rename(columns={"performer": "team"}),
        people_workload=people_workload,
        cases=per_case,
        calendar=calendar,
        pseudonymised=pseudonymise,
        notes=tuple(notes),
    )


def _distinct_per(owner: np.ndarray, value: np.ndarray, n_owners: int, n_values: int) -> np.ndarray:
    """Per owner code, how many distinct values it has."""
    if not len(owner):
        return np.zeros(n_owners, dtype=np.int64)
    pairs = np.unique(owner.astype(np.int64) * n_values + value.astype(np.int64))
    return np.bincount(pairs // n_values, minlength=n_owners)
