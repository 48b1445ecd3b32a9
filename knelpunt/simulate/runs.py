"""Simulation runs recorded in the store, their ground truth, and what-if comparisons.

::

    import knelpunt as kp
    with kp.open_store("knelpunt.db") as store:
        run = kp.simulate_scenario(store, "team-meeting", seed=7)
        run.truth            # the true cause of every waiting interval (never in the store)
        kp.read_truth(store, run.source.source_id)   # the same, rebuilt from the record
        what_if = kp.compare_scenarios("baseline", ["steering.caseload_cap=40"], seeds=range(5))
        what_if.to_frame()   # each KPI: both means, their spread, the difference and its 95% CI
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from knelpunt.errors import ScenarioError, SourceExistsError
from knelpunt.events.model import NewSource, Source
from knelpunt.events.store import EventStore
from knelpunt.profile import Profile, read_profile
from knelpunt.simulate.engine import ENGINE_VERSION, Simulation, run_engine
from knelpunt.simulate.scenario import Scenario, read_scenario, validate_scenario
from knelpunt.worktime import WorkCalendar, working_seconds

__all__ = [
    "KPIS",
    "SimulationRun",
    "WhatIf",
    "compare_scenarios",
    "measure_run",
    "read_truth",
    "simulate_scenario",
]

# What a what-if compares, with the direction that is better.
KPIS: Final[dict[str, str]] = {
    "decision_days_median": "lower",
    "within_term_share": "higher",
    "closure_days_median": "lower",
    "handovers_per_case": "lower",
    "protocol_hours_per_case": "lower",
    "waiting_days_per_case": "lower",
}
# Events per batch written into a run's transaction.
_RECORD_BATCH: Final = 20_000
LEGAL_TERM_DAYS: Final = 56  # melding → beschikking: 6 weeks onderzoek + 2 weeks decision


@dataclass(frozen=True, slots=True)
class SimulationRun:
    """One simulation run.

    Attributes:
        scenario: the scenario as run (overrides applied).
        seed: its seed.
        source: the store's source for the run (None when run without a store).
        added: events written by this call (0 when the same run was recorded before).
        events: the events (case_id, activity, time_us, lifecycle, resource, attributes).
        truth: the true cause of each part of each waiting interval: case_id,
            activity, instance, enabled_us, start_us, cause (batching, contention,
            prioritisation, unavailability, extraneous), blocker (``protocol.team_meeting``,
            ..., or None for plain queueing and the end of the working day), seconds.
        cases: cases that arrived; closed: cases closed when the run ended.
        seconds: wall-clock time of the run.
        professionals: the team's professionals (for counting handovers).
    """

    scenario: Scenario
    seed: int
    source: Source | None
    added: int
    events: pd.DataFrame
    truth: pd.DataFrame
    cases: int
    closed: int
    seconds: float
    professionals: tuple[str, ...] = ()

    def truth_by_blocker(self) -> pd.DataFrame:
        """Waiting per blocker: total days, days per case, cases touched, share of all waiting."""
        return summarise_truth(self.truth, cases=self.cases)

    def kpis(self) -> dict[str, float]:
        """The what-if KPIs of this run (see :func:`measure_run`)."""
        return measure_run(
            self.events,
            calendar=self.scenario.calendar(),
            professionals=self.professionals,
            truth=self.truth,
        )

    def to_frame(self) -> pd.DataFrame:
        """The run's events (see :attr:`events`)."""
        return self.events

    def _repr_html_(self) -> str:
        kpis = pd.DataFrame({"kpi": list(self.kpis()), "value": list(self.kpis().values())})
        head = (
            f"<p>{escape(self.scenario.name)}, seed {self.seed}: {self.cases:,} cases, "
            f"{len(self.events):,} events in {self.seconds:.1f} s</p>"
        )
        return head + kpis.to_html(index=False, float_format="{:,.2f}".format)


def simulate_scenario(
    store: EventStore | None,
    scenario: str | Path,
    *,
    seed: int | None = None,
    overrides: Sequence[str] = (),
    name: str | None = None,
    created_by: str | None = None,
) -> SimulationRun:
    """Run a scenario and record its events in the store when the run has ended.

    The run is recorded in one transaction, as a file is (:meth:`EventStore.recording`):
    its source, all its events and its closing report become visible together, so a
    run stopped or killed half-way leaves nothing that an analysis could read, and
    running it again records it whole. The write lock is held only while the events
    are written, not while the run is computed.

    The source records the scenario's full settings, the overrides and the
    seed, so the run can be repeated exactly; the same settings and seed a
    second time add nothing (the run is recomputed, not rewritten). The
    ground truth stays out of the store: it is returned, and
    :func:`read_truth` rebuilds it from the source.

    Args:
        store: where to record the run, or None to only compute it.
        scenario: a shipped scenario (``baseline``, ``team-meeting``, ...) or a YAML file.
        seed: the random seed (default: the scenario's own).
        overrides: ``key=value`` settings, e.g. ``steering.caseload_cap=25``.
        name: the source's name (default: the scenario's name and the seed).
        created_by: who ran it.

    Raises:
        ScenarioError: the scenario or an override cannot be used.
        SourceExistsError: the store holds this run unfinished, left by a version of
            knelpunt that wrote runs as they went (purge that source and run again).

    Example:
        >>> import knelpunt as kp
        >>> with kp.open_store(":memory:") as store:
        ...     run = kp.simulate_scenario(store, "baseline", seed=3, overrides=["days=14"])
        ...     (run.source.kind, run.added == run.source.event_count, run.cases > 0)
        ('simulation', True, True)
    """
    checked, settings = read_scenario(scenario, overrides=overrides)
    seed = checked.seed if seed is None else seed
    if store is None:
        return _run(checked, seed)
    details = {
        "scenario": str(scenario),
        "settings": settings,
        "overrides": list(overrides),
        "seed": seed,
        "engine_version": ENGINE_VERSION,
        "blockers": checked.blockers.enabled(),
        # The engine makes up its clients and professionals: nothing to pseudonymise.
        "privacy": {"pseudonymised": False, "reason": "synthetic people (a simulation run)"},
    }
    digest = _run_hash(settings, seed)
    found = store.find_source(content_hash=digest)
    if found is not None:
        _require_finished(found)
        return _run(checked, seed, source=found)
    source = NewSource(
        name=name or f"{checked.name} (seed {seed})",
        kind="simulation",
        created_by=created_by,
        content_hash=digest,
        details=details,
    )
    return _run(checked, seed, into=(store, source))


def read_truth(store: EventStore, source_id: int) -> pd.DataFrame:
    """The ground truth of a recorded simulation run, rebuilt from its settings and seed.

    Raises:
        ScenarioError: the source is not a simulation run, or rerunning it does not
            give the recorded events (the engine changed since; see ``engine_version``).

    Example:
        >>> import knelpunt as kp
        >>> with kp.open_store(":memory:") as store:
        ...     run = kp.simulate_scenario(store, "baseline", seed=3, overrides=["days=14"])
        ...     truth = kp.read_truth(store, run.source.source_id)
        >>> truth.equals(run.truth), sorted(set(truth["cause"]))
        (True, ['contention', 'extraneous', 'unavailability'])
    """
    source = store.source(source_id)
    details = source.details
    if source.kind != "simulation" or "settings" not in details:
        raise ScenarioError(
            f"Source {source_id} ({source.name}) is a {source.kind} source; ground truth "
            "exists only for simulation runs ('knelpunt simulate')."
        )
    if details.get("engine_version") != ENGINE_VERSION:
        raise ScenarioError(
            f"Source {source_id} was made by simulation engine version "
            f"{details.get('engine_version')}; this knelpunt has version {ENGINE_VERSION} and "
            "cannot rebuild its truth exactly. Run the scenario again."
        )
    scenario = validate_scenario(details["settings"])
    result = run_engine(scenario, seed=int(details["seed"]))
    if len(result.events) != source.event_count:
        raise ScenarioError(
            f"Rerunning source {source_id} gave {len(result.events):,} events, not the "
            f"{source.event_count:,} recorded; its truth cannot be rebuilt. Run it again."
        )
    return result.truth


def summarise_truth(truth: pd.DataFrame, *, cases: int) -> pd.DataFrame:
    """Waiting per blocker and cause: days in all, days per case, cases, share of waiting."""
    if truth.empty:
        return pd.DataFrame(columns=["blocker", "cause", "days", "days_per_case", "cases", "share"])
    frame = truth.assign(blocker=truth["blocker"].fillna("(queueing, off-hours)"))
    grouped = frame.groupby(["blocker", "cause"], sort=False).agg(
        seconds=("seconds", "sum"), cases=("case_id", "nunique")
    )
    grouped["days"] = grouped["seconds"] / 86400.0
    grouped["days_per_case"] = grouped["days"] / max(cases, 1)
    grouped["share"] = grouped["seconds"] / grouped["seconds"].sum()
    return (
        grouped.drop(columns="seconds")
        .reset_index()
        .sort_values("days", ascending=False, ignore_index=True)[
            ["blocker", "cause", "days", "days_per_case", "cases", "share"]
        ]
    )


def measure_run(
    events: pd.DataFrame,
    *,
    calendar: WorkCalendar,
    professionals: Collection[str],
    profile: Profile | None = None,
    truth: pd.DataFrame | None = None,
) -> dict[str, float]:
    """The KPIs of a simulated log, from its events.

    - ``decision_days_median``: melding to the beschikking, calendar days (cases with one);
    - ``within_term_share``: of those, the share within 8 weeks (Wmo 2015 art. 2.3.2 and
      2.3.5: 6 weeks of onderzoek and 2 for the decision; Awb 4:13 for Jeugdwet);
    - ``closure_days_median``: melding to afsluiting, closed cases;
    - ``handovers_per_case``: changes from one of the ``professionals`` to another
      within a case;
    - ``protocol_hours_per_case``: working hours on the activities the profile
      (default: ``sociaal-domein``) classes as protocol, per case;
    - ``waiting_days_per_case``: from the ground truth, when given.
    """
    first = events.groupby("case_id", sort=False)["time_us"].min()
    cases = max(len(first), 1)
    done = events["lifecycle"] == "complete"
    decisions = events[done & (events["activity"] == "Beschikking versturen")]
    decided = decisions.groupby("case_id", sort=False)["time_us"].min()
    decision_days = (decided - first.reindex(decided.index)) / 86_400e6
    closures = events[done & (events["activity"] == "Afsluiting")]
    closed = closures.groupby("case_id", sort=False)["time_us"].max()
    closure_days = (closed - first.reindex(closed.index)) / 86_400e6
    staff = events[done & events["resource"].isin(list(professionals))]
    changes = staff.groupby("case_id", sort=False)["resource"].agg(
        lambda r: int((r.to_numpy()[1:] != r.to_numpy()[:-1]).sum())
    )
    profile = profile or read_profile("sociaal-domein")
    names = events["activity"].unique()
    protocol_steps = [a for a in names if profile.classify_activity(str(a)) == "protocol"]
    protocol = events[events["activity"].isin(protocol_steps)]
    # The n-th start of an activity in a case pairs with its n-th completion; a step
    # still running when the run ended has no completion and is left out.
    key = ["case_id", "activity", "n"]
    numbered = protocol.assign(n=protocol.groupby(["case_id", "activity", "lifecycle"]).cumcount())
    steps = numbered[numbered["lifecycle"] == "start"][[*key, "time_us"]].merge(
        numbered[numbered["lifecycle"] == "complete"][[*key, "time_us"]],
        on=key,
        suffixes=("_start", "_end"),
    )
    spent = working_seconds(
        steps["time_us_start"].to_numpy(), steps["time_us_end"].to_numpy(), calendar=calendar
    )
    hours = float(np.sum(spent)) / 3600.0
    result = {
        "decision_days_median": _median(decision_days),
        "within_term_share": float((decision_days <= LEGAL_TERM_DAYS).mean())
        if len(decision_days)
        else math.nan,
        "closure_days_median": _median(closure_days),
        "handovers_per_case": float(changes.sum()) / cases,
        "protocol_hours_per_case": hours / cases,
        "waiting_days_per_case": math.nan,
    }
    if truth is not None:
        result["waiting_days_per_case"] = float(truth["seconds"].sum()) / 86400.0 / cases
    return result


@dataclass(frozen=True, slots=True)
class WhatIf:
    """Two versions of a scenario run on the same seeds, KPI by KPI.

    Attributes:
        scenario: the scenario as written; changes: the overrides of the variant;
        overrides: the settings both versions share.
        runs: one row per run: version (``as written`` or ``changed``), seed,
            source_id, and every KPI.
    """

    scenario: str
    changes: tuple[str, ...]
    runs: pd.DataFrame
    overrides: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Per KPI: mean and standard deviation of each version, the mean paired
        difference with its 95% confidence interval (Student's t over the seeds), and
        whether the difference is clear of noise (the interval excludes 0)."""
        from scipy import stats

        base = self.runs[self.runs["version"] == "as written"].set_index("seed")
        changed = self.runs[self.runs["version"] == "changed"].set_index("seed")
        rows = []
        for kpi, better in KPIS.items():
            diff = (changed[kpi] - base[kpi]).dropna()
            n = len(diff)
            mean = float(diff.mean()) if n else math.nan
            half = (
                float(stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / math.sqrt(n))
                if n > 1
                else math.nan
            )
            clear = bool(n > 1 and (mean - half > 0 or mean + half < 0))
            rows.append(
                {
                    "kpi": kpi,
                    "better": better,
                    "as_written_mean": float(base[kpi].mean()),
                    "as_written_sd": float(base[kpi].std(ddof=1)) if len(base) > 1 else math.nan,
                    "changed_mean": float(changed[kpi].mean()),
                    "changed_sd": float(changed[kpi].std(ddof=1)) if len(changed) > 1 else math.nan,
                    "difference": mean,
                    "ci_low": mean - half,
                    "ci_high": mean + half,
                    "clear": clear,
                }
            )
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        return str(self.to_frame().to_html(index=False, float_format=lambda v: f"{v:,.2f}"))


def compare_scenarios(
    scenario: str | Path,
    changes: Sequence[str],
    *,
    seeds: Iterable[int] = range(1, 6),
    overrides: Sequence[str] = (),
    store: EventStore | None = None,
    on_run: Callable[[SimulationRun], None] | None = None,
) -> WhatIf:
    """Run a scenario as written and with ``changes``, on the same seeds, and compare.

    The same seed gives both versions the same arrivals and case draws (common
    random numbers), so the paired difference isolates what the change does.

    Args:
        scenario: a shipped scenario or a YAML file.
        changes: the overrides of the variant, e.g. ``["steering.caseload_cap=25"]``.
        seeds: the seeds to run (at least 2 for a confidence interval).
        overrides: settings for both versions (e.g. a shorter ``days=90``).
        store: record every run in it (default: compute only).
        on_run: called after each run (progress).

    Example:
        >>> w = compare_scenarios("baseline", ["steering.caseload_cap=4"], seeds=[1, 2, 3],
        ...                       overrides=["days=60", "tail_days=90"])
        >>> bool(w.to_frame().set_index("kpi").loc["decision_days_median", "clear"])
        True
    """
    if not changes:
        raise ScenarioError(
            "A what-if needs at least one change, e.g. steering.caseload_cap=25 "
            "(knelpunt simulate SCENARIO --runs 5 --set steering.caseload_cap=25)."
        )
    # Both versions are checked before anything runs: a bad change records nothing.
    read_scenario(scenario, overrides=[*overrides, *changes])
    rows = []
    for seed in seeds:
        for version, extra in (("as written", ()), ("changed", tuple(changes))):
            run = simulate_scenario(store, scenario, seed=seed, overrides=[*overrides, *extra])
            if on_run is not None:
                on_run(run)
            rows.append(
                {
                    "version": version,
                    "seed": seed,
                    "source_id": run.source.source_id if run.source else None,
                    **run.kpis(),
                }
            )
    return WhatIf(
        scenario=str(scenario),
        changes=tuple(changes),
        runs=pd.DataFrame(rows),
        overrides=tuple(overrides),
    )


def _run(
    scenario: Scenario,
    seed: int,
    *,
    source: Source | None = None,
    into: tuple[EventStore, NewSource] | None = None,
) -> SimulationRun:
    """Run the engine. ``source``: the run as recorded before; ``into``: record the run
    in that store as that new source (see :func:`_record_run`)."""
    began = time.perf_counter()
    result: Simulation = run_engine(scenario, seed=seed)
    seconds = time.perf_counter() - began
    run = SimulationRun(
        scenario=scenario,
        seed=seed,
        source=source,
        added=0,
        events=result.events,
        truth=result.truth,
        cases=result.cases,
        closed=result.closed,
        seconds=seconds,
        professionals=result.professionals,
    )
    return run if into is None else _record_run(*into, run, result)


def _record_run(
    store: EventStore, source: NewSource, run: SimulationRun, result: Simulation
) -> SimulationRun:
    """Write a computed run in one transaction: its source, its events and its report
    become visible together. When another process recorded the same run meanwhile,
    that source is returned and nothing is added."""
    report = {
        "complete": True,
        "cases": result.cases,
        "closed": result.closed,
        "events": len(result.events),
        "seed": run.seed,
        "blockers": run.scenario.blockers.enabled(),
        "end": datetime.fromtimestamp(result.end_us / 1e6, UTC).isoformat(),
        "seconds": round(run.seconds, 3),
    }
    try:
        with store.recording(source) as recording:
            for start in range(0, len(result.events), _RECORD_BATCH):
                recording.add_events(result.events.iloc[start : start + _RECORD_BATCH])
            recording.finish(report)
    except SourceExistsError as error:
        earlier = store.source(error.source_id)
        _require_finished(earlier)
        return replace(run, source=earlier)
    return replace(run, source=store.source(recording.source_id), added=len(result.events))


def _require_finished(source: Source) -> None:
    """Refuse a run's source without its report: the half of a run killed while an
    earlier knelpunt wrote it event batch by event batch."""
    if not source.report:
        raise SourceExistsError(
            source.source_id,
            f"Source {source.source_id} ({source.name}) holds this simulation run "
            f"unfinished ({source.event_count:,} events and no closing report): an earlier "
            "version of knelpunt was stopped while it wrote the run. Purge it ('knelpunt "
            f'purge {source.source_id} --reason "unfinished run"\') and run it again.',
        )


def _run_hash(settings: dict[str, Any], seed: int) -> str:
    text = json.dumps(
        {"settings": settings, "seed": seed, "engine": ENGINE_VERSION},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _median(values: pd.Series) -> float:
    return float(values.median()) if len(values) else math.nan
