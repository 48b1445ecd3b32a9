"""The simulation engine: a social team handling cases, on SimPy.

Each case is a SimPy process that walks the steps of the scenario; each
professional, team leader and manager is a worker process that takes tasks
from its own queue, only in its working hours (the team calendar, Dutch
holidays, personal leave weeks). The engine is deterministic for a seed:
arrivals and every case's own draws come from separate random streams, so
switching a blocker on does not change who reports when, and two scenarios
run on the same seed differ only by what the blocker does (common random
numbers, which make what-if differences clear with few runs).

The team itself (whose leave falls in which weeks, who works part time and
which day off) belongs to the scenario: it is drawn from the scenario's own
``seed``, not the run's. Runs of one scenario on other seeds are then the same
team meeting other cases, so their differences are chance alone; to try
another team, change the scenario's seed (``seed=7`` as a setting).

Every waiting interval (an activity instance's enabled time to its start) is
split, as it happens, into its true parts: the cause in the categories of
Lashkevich et al. (batching, contention, prioritisation, unavailability,
extraneous) and the blocker responsible (``protocol.team_meeting``, ...; None
for plain queueing or the end of the working day). The parts of one
interval sum to the whole. This ground truth is returned beside the events,
never written into them, so that an analysis of the events can be scored
against it.
"""

from __future__ import annotations

import heapq
import json
import math
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import simpy

from knelpunt.simulate.scenario import DOMAINS, Scenario, Spread
from knelpunt.worktime import WorkCalendar

__all__ = ["ENGINE_VERSION", "TRUTH_COLUMNS", "Simulation", "run_engine"]

# Bump when the same scenario and seed would give different events.
ENGINE_VERSION: Final = 2

TRUTH_COLUMNS: Final = (
    "case_id",
    "activity",
    "instance",
    "enabled_us",
    "start_us",
    "cause",
    "blocker",
    "seconds",
)

_BATCH_RESOURCE: Final = "iWmo-berichtenverkeer"
_PROVIDERS: Final = tuple(f"Zorgaanbieder {c}" for c in "ABCDE")

EmitFn = Callable[[list[tuple[Any, ...]]], None]


@dataclass(frozen=True, slots=True)
class Simulation:
    """What one engine run produced.

    Attributes:
        events: one row per event, in time order: case_id, activity, time_us,
            lifecycle, resource, attributes (JSON text or None).
            ``emit`` gets the same rows with the attributes as dicts.
        truth: one row per part of a waiting interval (:data:`TRUTH_COLUMNS`).
        cases: cases that arrived.
        closed: cases closed before the run ended.
        end_us: the moment the run stopped (UTC microseconds).
        professionals: the names of the team's professionals (not team leaders,
            managers, providers or the message system).
    """

    events: pd.DataFrame
    truth: pd.DataFrame
    cases: int
    closed: int
    end_us: int
    professionals: tuple[str, ...]


class _Clock:
    """Working time of one person, read and added with plain floats (seconds)."""

    def __init__(self, calendar: WorkCalendar, low: float, high: float) -> None:
        clock = calendar.clock(int(low * 1e6), int(high * 1e6))
        self.opens: list[float] = (clock.opens / 1e6).tolist()
        self.closes: list[float] = (clock.closes / 1e6).tolist()
        self.before: list[float] = (clock.before / 1e6).tolist()

    def next_open(self, t: float) -> float:
        """``t`` if working at ``t``, else the next opening (inf if none is left)."""
        i = bisect_right(self.opens, t) - 1
        if i >= 0 and t < self.closes[i]:
            return t
        return self.opens[i + 1] if i + 1 < len(self.opens) else math.inf

    def read(self, t: float) -> float:
        i = bisect_right(self.opens, t) - 1
        if i < 0:
            return 0.0
        return self.before[i] + min(t - self.opens[i], self.closes[i] - self.opens[i])

    def add(self, t: float, work: float) -> float:
        """The instant at which ``work`` working seconds from ``t`` are done."""
        target = self.read(t) + work
        i = max(bisect_left(self.before, target) - 1, 0)
        while i + 1 < len(self.before) and self.before[i + 1] <= target:
            i += 1
        if i >= len(self.opens):
            return math.inf
        return self.opens[i] + (target - self.before[i])


@dataclass(slots=True)
class _Case:
    case_id: str
    number: int
    scheme: str
    complexity: str
    referrer: str
    household: str
    domains: tuple[str, ...]
    cost: float
    rng: np.random.Generator
    priority: int = 0
    manager: _Worker | None = None
    enabled: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    waits: list[tuple[str, str, str | None, float]] = field(default_factory=list)


@dataclass(slots=True)
class _Task:
    case: _Case
    activity: str
    work: float
    blocker: str | None
    enqueued: float
    done: simpy.Event
    attributes: dict[str, Any] | None = None


class _Worker:
    """One person: a queue of tasks, served in working hours, one at a time."""

    def __init__(self, sim: _Engine, name: str, discipline: str, clock: _Clock) -> None:
        self.sim = sim
        self.name = name
        self.discipline = discipline
        self.clock = clock
        self.queue: list[tuple[int, float, int, _Task]] = []
        self.wake: simpy.Event | None = None
        self.spans: list[tuple[float, float, float]] = []  # start, end, enqueued
        self.caseload = 0
        sim.env.process(self._serve())

    def put(self, task: _Task) -> None:
        heapq.heappush(self.queue, (task.case.priority, task.enqueued, self.sim.next_seq(), task))
        if self.wake is not None and not self.wake.triggered:
            self.wake.succeed()

    def _serve(self) -> Generator[simpy.Event, Any, None]:
        env = self.sim.env
        while True:
            if not self.queue:
                self.wake = env.event()
                yield self.wake
                self.wake = None
                continue
            opening = self.clock.next_open(env.now)
            if opening > env.now:
                if math.isinf(opening):
                    return
                yield env.timeout(opening - env.now)
                continue
            _, _, _, task = heapq.heappop(self.queue)
            start = env.now
            self._split_queue_wait(task, start)
            end = self.clock.add(start, task.work)
            if math.isinf(end):
                return
            group = {"org:group": self.discipline}
            self.sim.emit(task.case, task.activity, start, "start", self.name, group)
            yield env.timeout(end - start)
            self.spans.append((start, end, task.enqueued))
            done = {**group, **(task.attributes or {})}
            self.sim.emit(task.case, task.activity, end, "complete", self.name, done)
            task.done.succeed()

    def _split_queue_wait(self, task: _Task, start: float) -> None:
        """The wait in this queue: busy with earlier work (contention), busy with work
        enabled later (prioritisation), or off work (unavailability)."""
        waited = start - task.enqueued
        if waited <= 0:
            return
        contention = prioritised = 0.0
        for span_start, span_end, enqueued in reversed(self.spans):
            if span_end <= task.enqueued:
                break
            overlap = min(span_end, start) - max(span_start, task.enqueued)
            if overlap > 0:
                if enqueued > task.enqueued:
                    prioritised += overlap
                else:
                    contention += overlap
        case, blocker = task.case, task.blocker
        self.sim.truth_part(case, task.activity, "contention", blocker, contention)
        ruled = (
            "steering.priority_rules" if self.sim.blockers.steering.priority_rules.enabled else None
        )
        self.sim.truth_part(case, task.activity, "prioritisation", blocker or ruled, prioritised)
        off = waited - contention - prioritised
        self.sim.truth_part(case, task.activity, "unavailability", blocker, max(off, 0.0))


class _Engine:
    def __init__(self, scenario: Scenario, seed: int, emit: EmitFn | None) -> None:
        self.scenario = scenario
        self.seed = seed
        self.on_emit = emit
        self.zone = ZoneInfo(scenario.calendar().timezone)
        self.begin = datetime.combine(scenario.start, time(0), self.zone).timestamp()
        self.arrivals_end = self.begin + scenario.days * 86400.0
        self.horizon = self.arrivals_end + scenario.tail_days * 86400.0
        self.env = simpy.Environment(initial_time=self.begin)
        self.events: list[tuple[Any, ...]] = []
        self.pending: list[tuple[Any, ...]] = []
        self.truth: list[tuple[Any, ...]] = []
        self.seq = 0
        self.closed = 0
        # Per pool of workers (by id): cases waiting for a place under the caseload cap.
        self.place_queues: dict[int, deque[simpy.Event]] = {}
        self.blockers = scenario.blockers
        self._calendar = scenario.calendar()
        self.team_clock = _Clock(self._calendar, self.begin, self.horizon)
        # Settings as plain str-keyed dicts, converted once (not per case or per day).
        cases, routing = scenario.cases, scenario.routing
        self.seasonality = _plain(scenario.arrivals.seasonality)
        self.referrers = {str(k): _plain(v) for k, v in cases.referrers.items()}
        self.domain_factor = _plain(cases.domains_per_complexity)
        self.domain_chance = _plain(cases.domains)
        self.general_provision = _plain(routing.general_provision)
        self.network_meeting = _plain(routing.network_meeting)
        self.solved_by_network = _plain(routing.solved_by_network)
        outage = self.blockers.system.outage
        start = datetime.combine(outage.start, time(0), self.zone).timestamp()
        self.outage = (start, start + outage.days * 86400.0) if outage.enabled else None
        self._build_staff()

    # -- plumbing ---------------------------------------------------------------------

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def emit(
        self,
        case: _Case,
        activity: str,
        t: float,
        lifecycle: str,
        resource: str | None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        if lifecycle == "start" or activity in _INSTANT:
            count = case.counts.get(activity, 0) + 1
            case.counts[activity] = count
            self._close_wait(case, activity, t, count)
        row = (
            case.case_id,
            activity,
            round(t * 1e6),
            lifecycle,
            resource,
            attributes,
        )
        self.events.append(row)
        if self.on_emit is not None:
            self.pending.append(row)
            if len(self.pending) >= 5000:
                self.flush()
        if lifecycle == "complete":
            case.enabled = t

    def flush(self) -> None:
        if self.on_emit is not None and self.pending:
            self.on_emit(self.pending)
            self.pending = []

    def truth_part(
        self, case: _Case, activity: str, cause: str, blocker: str | None, seconds: float
    ) -> None:
        """A part of the wait before the next instance of ``activity`` in ``case``."""
        if seconds > 1e-6:
            case.waits.append((activity, cause, blocker, seconds))

    def _close_wait(self, case: _Case, activity: str, start: float, instance: int) -> None:
        parts, case.waits = case.waits, []
        wrong = [p for p in parts if p[0] != activity]
        if wrong:
            raise AssertionError(f"{case.case_id}: a wait for {wrong[0][0]} ended at {activity}")
        enabled = case.enabled
        total = start - enabled
        known = sum(p[3] for p in parts)
        if total - known > 1e-3:
            # Every wait is recorded where it happens; a remainder is an engine fault,
            # kept visible (and tested to be absent) rather than hidden.
            parts.append((activity, "extraneous", "unexplained", total - known))
        for _, cause, blocker, seconds in parts:
            self.truth.append(
                (
                    case.case_id,
                    activity,
                    instance,
                    round(enabled * 1e6),
                    round(start * 1e6),
                    cause,
                    blocker,
                    seconds,
                )
            )

    def wait(
        self, case: _Case, activity: str, until: float, cause: str, blocker: str | None
    ) -> Iterator[simpy.Event]:
        """Wait until ``until`` and record it as a part of the next wait of ``activity``."""
        now = self.env.now
        if until > now:
            self.truth_part(case, activity, cause, blocker, until - now)
            yield self.env.timeout(until - now)

    def draw(self, case: _Case, spread: Spread) -> float:
        if spread.median <= 0:
            return 0.0
        return float(case.rng.lognormal(math.log(spread.median), spread.sigma))

    # -- staff ------------------------------------------------------------------------

    def _build_staff(self) -> None:
        scenario = self.scenario
        rng = np.random.default_rng([scenario.seed, 1])  # the team is the scenario's
        weeks = max(int((self.horizon - self.begin) // (7 * 86400)), 1)
        self.workers: dict[str, list[_Worker]] = {}
        labels = {
            "generalist": "Generalist",
            "jeugd": "Jeugdconsulent",
            "schulden": "Schuldhulpverlener",
            "specialist": "Specialist",
        }
        for discipline, count in sorted(scenario.team.professionals.items()):
            for n in range(1, count + 1):
                clock = self._personal_clock(rng, weeks)
                name = f"{labels[discipline]} {n:02d}"
                self.workers.setdefault(discipline, []).append(
                    _Worker(self, name, discipline, clock)
                )
        self.leaders = [
            _Worker(self, f"Teamleider {n}", "teamleider", self.team_clock)
            for n in range(1, scenario.team.team_leaders + 1)
        ]
        blockers = scenario.blockers
        manager_clock = self._role_clock(blockers.steering.budget_approval.hours)
        self.managers = [
            _Worker(self, f"Manager {n}", "manager", manager_clock)
            for n in range(1, scenario.team.managers + 1)
        ]
        review = blockers.protocol.second_assessment
        self.reviewer = None
        if review.enabled:
            clock = self._role_clock(review.hours)
            self.reviewer = _Worker(self, "Gedragswetenschapper 1", "gedragswetenschapper", clock)

    def _role_clock(self, hours: Mapping[str, Any]) -> _Clock:
        return _Clock(self.scenario.role_calendar(hours), self.begin, self.horizon)

    def _personal_clock(self, rng: np.random.Generator, weeks: int) -> _Clock:
        leave = self.scenario.team.leave_weeks
        years = max(weeks / 52.0, 1.0)
        chosen = sorted(rng.choice(weeks, size=min(int(leave * years), weeks), replace=False))
        first = self.scenario.start - timedelta(days=self.scenario.start.weekday())
        closed = {first + timedelta(weeks=int(w), days=d) for w in chosen for d in range(5)}
        calendar = replace(self._calendar, closed=self._calendar.closed | closed)
        # Both draws are always made, so that one setting does not shift the other's stream.
        part_time, day_off = rng.random(), int(rng.integers(5))
        if part_time < self.scenario.team.part_time:
            hours = tuple(() if d == day_off else h for d, h in enumerate(calendar.hours))
            if any(hours):
                calendar = replace(calendar, hours=hours)
        return _Clock(calendar, self.begin, self.horizon)

    def pool(self, case: _Case) -> list[_Worker]:
        if case.scheme == "Jeugdwet" and self.workers.get("jeugd"):
            return self.workers["jeugd"]
        debt = case.scheme == "Participatiewet" and "financien" in case.domains
        if debt and self.workers.get("schulden"):
            return self.workers["schulden"]
        if self.workers.get("generalist"):
            return self.workers["generalist"]
        return next(w for w in self.workers.values() if w)

    # -- the flow ---------------------------------------------------------------------

    def run(self) -> Simulation:
        arrivals = self._arrivals()
        self.env.process(self._arrive(arrivals))
        if self.blockers.protocol.team_meeting.enabled:
            self.meeting_queue: list[tuple[int, float, int, _Case, simpy.Event]] = []
            self.env.process(self._meetings())
        if self.blockers.steering.waiting_list.enabled:
            self.slots = 0
            self.waiting: list[tuple[int, float, int, _Case, simpy.Event]] = []
            self.env.process(self._waiting_list())
        self.env.run(until=self.horizon)
        self.flush()
        events = pd.DataFrame(
            self.events,
            columns=["case_id", "activity", "time_us", "lifecycle", "resource", "attributes"],
        )
        events["attributes"] = [
            json.dumps(a, ensure_ascii=False, sort_keys=True) if a else None
            for a in events["attributes"]
        ]
        truth = pd.DataFrame(self.truth, columns=list(TRUTH_COLUMNS))
        professionals = tuple(w.name for pool in self.workers.values() for w in pool)
        return Simulation(
            events=events,
            truth=truth,
            cases=len(arrivals),
            closed=self.closed,
            end_us=round(self.env.now * 1e6),
            professionals=professionals,
        )

    def _arrivals(self) -> list[float]:
        """Arrival instants: a Poisson number per working day, spread over its hours."""
        scenario = self.scenario
        rng = np.random.default_rng([self.seed, 0])
        week = sum(stop - begin for spans in self._calendar.hours for begin, stop in spans) * 60.0
        rate = scenario.arrivals.per_week / week  # meldingen per working second
        months = (
            "jan",
            "feb",
            "mar",
            "apr",
            "may",
            "jun",
            "jul",
            "aug",
            "sep",
            "oct",
            "nov",
            "dec",
        )
        found: list[float] = []
        clock = self.team_clock
        i = bisect_left(clock.opens, self.begin)
        while i < len(clock.opens) and clock.opens[i] < self.arrivals_end:
            opens, closes = clock.opens[i], clock.closes[i]
            month = months[datetime.fromtimestamp(opens, self.zone).month - 1]
            mean = rate * (closes - opens) * self.seasonality.get(month, 1.0)
            count = int(rng.poisson(mean))
            found.extend(sorted(rng.uniform(opens, closes, size=count).tolist()))
            i += 1
        return found

    def _new_case(self, number: int, households: list[str]) -> _Case:
        cases = self.scenario.cases
        rng = np.random.default_rng([self.seed, 2, number])
        scheme = _pick(rng, cases.schemes)
        complexity = _pick(rng, cases.complexity)
        referrer = _pick(rng, self.referrers.get(scheme, {"gemeente": 1.0}))
        factor = self.domain_factor.get(complexity, 1.0)
        chance = self.domain_chance
        domains = tuple(d for d in DOMAINS if rng.random() < min(chance.get(d, 0.0) * factor, 1.0))
        if households and rng.random() < cases.repeat_household:
            household = households[int(rng.integers(len(households)))]
        else:
            household = f"H{len(households) + 1:05d}"
            households.append(household)
        cost = round(float(rng.lognormal(math.log(cases.cost.median), cases.cost.sigma)), -1)
        rules = self.blockers.steering.priority_rules
        order = [str(c) for c in rules.order]
        priority = order.index(complexity) if rules.enabled and complexity in order else 0
        return _Case(
            case_id=f"C{number:05d}",
            number=number,
            scheme=scheme,
            complexity=complexity,
            referrer=referrer,
            household=household,
            domains=domains,
            cost=cost,
            rng=rng,
            priority=priority,
        )

    def _arrive(self, arrivals: list[float]) -> Generator[simpy.Event, Any, None]:
        households: list[str] = []
        for number, at in enumerate(arrivals, start=1):
            if at > self.env.now:
                yield self.env.timeout(at - self.env.now)
            case = self._new_case(number, households)
            self.env.process(self._handle(case))

    def _handle(self, case: _Case) -> Generator[simpy.Event, Any, None]:
        env, b = self.env, self.blockers
        case.enabled = env.now
        self.emit(
            case,
            "Melding ontvangen",
            env.now,
            "complete",
            None,
            {
                "case:scheme": case.scheme,
                "case:complexity": case.complexity,
                "case:referrer": case.referrer,
                "case:household": case.household,
                "case:domains": ",".join(case.domains),
                "case:cost": case.cost,
            },
        )
        first = "Keukentafelgesprek" if case.scheme == "Wmo" else "Intake"
        nxt = "Registreren melding" if b.system.registration.enabled else first
        if b.steering.waiting_list.enabled:
            yield from self._take_slot(case, nxt)
        yield from self._assign(case, nxt, self.pool(case))
        if b.system.registration.enabled:
            yield from self._register(case, "Registreren melding")
        if b.client.waits.enabled:
            until = env.now + self.draw(case, self.scenario.steps.appointment_wait)
            yield from self.wait(case, first, until, "extraneous", "client.appointment")
        yield from self._work(case, first, self.scenario.steps.intake)
        if case.scheme == "Wmo":
            yield from self._work(case, "Verslag onderzoek", self.scenario.steps.report)
        if case.rng.random() < self.general_provision.get(case.scheme, 0.0):
            yield from self._close(case, "algemene_voorziening")
            return
        if case.rng.random() < self.network_meeting.get(case.complexity, 0.0):
            if b.client.waits.enabled:
                until = env.now + self.draw(case, self.scenario.steps.network_wait)
                yield from self.wait(case, "Netwerkberaad", until, "extraneous", "client.network")
            yield from self._work(case, "Netwerkberaad", self.scenario.steps.network_meeting)
            if case.rng.random() < self.solved_by_network.get(case.complexity, 0.0):
                yield from self._close(case, "eigen_netwerk")
                return
        yield from self._customised(case)

    def _customised(self, case: _Case) -> Generator[simpy.Event, Any, None]:
        """The maatwerk path: plan, indication, approvals, decision, assignment, delivery."""
        env, b, steps = self.env, self.blockers, self.scenario.steps
        handover = b.protocol.specialist_handover
        plan_blocker = None
        if handover.enabled and any(d in handover.domains for d in case.domains):
            # The specialist takes the case on, then holds the joint handover talk when
            # the specialist, the case manager and the citizen can all meet.
            # The case leaves its manager's caseload before it waits for a place in the
            # specialist's (in a team without specialists, the same pool: holding the old
            # place while waiting for a new one could leave the pool waiting on itself).
            if case.manager is not None:
                self._release(case.manager)
                case.manager = None
            yield from self._assign(
                case,
                "Overdracht specialist",
                self.workers.get("specialist") or self.pool(case),
                blocker="protocol.specialist_handover",
            )
            until = env.now + self.draw(case, handover.meeting_wait)
            yield from self.wait(
                case, "Overdracht specialist", until, "extraneous", "protocol.specialist_handover"
            )
            yield from self._work(
                case,
                "Overdracht specialist",
                handover.handover,
                blocker="protocol.specialist_handover",
            )
            plan_blocker = "protocol.specialist_handover"
        yield from self._work(case, "Plan opstellen", steps.plan, blocker=plan_blocker)
        rework = b.protocol.rework
        rounds = 0
        while rework.enabled and rounds < 5 and case.rng.random() < rework.probability:
            rounds += 1
            until = env.now + self.draw(case, rework.client_wait)
            yield from self.wait(
                case, "Formulier aanvullen", until, "extraneous", "protocol.rework"
            )
            yield from self._work(
                case, "Formulier aanvullen", rework.work, blocker="protocol.rework"
            )
        yield from self._work(case, "Indicatie stellen", steps.indication)
        second = b.protocol.second_assessment
        if self.reviewer is not None and case.complexity in second.complexity:
            yield from self._work(
                case,
                "Tweede beoordeling",
                second.work,
                worker=self.reviewer,
                blocker="protocol.second_assessment",
            )
        if b.protocol.team_meeting.enabled:
            yield from self._meeting(case)
        budget = b.steering.budget_approval
        if budget.enabled and case.cost > budget.threshold:
            manager = min(self.managers, key=lambda w: (len(w.queue), w.name))
            yield from self._work(
                case,
                "Budgetakkoord",
                budget.work,
                worker=manager,
                blocker="steering.budget_approval",
            )
        yield from self._work(case, "Beschikking versturen", steps.decision)
        if b.system.registration.enabled:
            yield from self._register(case, "Registreren beschikking")
        if case.rng.random() < self.scenario.routing.objection:
            until = env.now + float(case.rng.uniform(7, 42)) * 86400.0
            yield from self.wait(case, "Bezwaar ingediend", until, "extraneous", "client.objection")
            self.emit(case, "Bezwaar ingediend", env.now, "complete", None)
            yield from self._work(case, "Beschikking op bezwaar", steps.objection)
        yield from self._message(case, "Toewijzing verzenden", env.now, None)
        reply = env.now + self.draw(case, steps.provider_reply)
        yield from self._message(case, "Toewijzing retour", reply, "client.provider")
        provider = _PROVIDERS[int(case.rng.integers(len(_PROVIDERS)))]
        start = env.now + self.draw(case, steps.provider_start)
        yield from self.wait(case, "Levering", start, "extraneous", "client.provider")
        self.emit(case, "Levering", env.now, "start", provider)
        delivered = env.now + self.draw(case, steps.delivery)
        self.truth_part(
            case, "Start zorg ontvangen", "extraneous", "client.provider", start - case.enabled
        )
        yield from self._message(case, "Start zorg ontvangen", env.now, None)
        if delivered > env.now:
            yield env.timeout(delivered - env.now)
        self.emit(case, "Levering", env.now, "complete", provider)
        yield from self._work(case, "Evaluatie", steps.evaluation)
        yield from self._close(case, "volgens_plan")

    # -- steps ------------------------------------------------------------------------

    def _work(
        self,
        case: _Case,
        activity: str,
        spread: Spread,
        *,
        worker: _Worker | None = None,
        blocker: str | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> Generator[simpy.Event, Any, None]:
        who = worker or case.manager
        assert who is not None, "a case has a case manager from its intake on"
        work = self.draw(case, spread)
        task = _Task(case, activity, work, blocker, self.env.now, self.env.event(), attributes)
        who.put(task)
        yield task.done

    def _register(self, case: _Case, activity: str) -> Generator[simpy.Event, Any, None]:
        system = self.blockers.system
        yield from self._outage(case, activity)
        yield from self._work(
            case, activity, system.registration.work, blocker="system.registration"
        )
        if system.double_registration.enabled:
            second = "Registreren in tweede systeem"
            yield from self._outage(case, second)
            yield from self._work(
                case, second, system.double_registration.work, blocker="system.double_registration"
            )

    def _outage(self, case: _Case, activity: str) -> Iterator[simpy.Event]:
        if self.outage is not None and self.outage[0] <= self.env.now < self.outage[1]:
            yield from self.wait(case, activity, self.outage[1], "extraneous", "system.outage")

    def _message(
        self,
        case: _Case,
        activity: str,
        ready: float,
        blocker: str | None,
    ) -> Iterator[simpy.Event]:
        """An iWmo message: moved when ready, or in the next nightly batch run."""
        if blocker is not None:
            yield from self.wait(case, activity, ready, "extraneous", blocker)
        yield from self._outage(case, activity)
        batch = self.blockers.system.nightly_batch
        if batch.enabled:
            run = self._next_batch(self.env.now, batch.time)
            yield from self.wait(case, activity, run, "batching", "system.nightly_batch")
        self.emit(case, activity, self.env.now, "start", _BATCH_RESOURCE)
        yield self.env.timeout(60.0)
        self.emit(case, activity, self.env.now, "complete", _BATCH_RESOURCE)

    def _next_batch(self, now: float, at: time) -> float:
        local = datetime.fromtimestamp(now, self.zone)
        run = datetime.combine(local.date(), at, self.zone).timestamp()
        while run < now:
            local = local + timedelta(days=1)
            run = datetime.combine(local.date(), at, self.zone).timestamp()
        return run

    def _assign(
        self, case: _Case, activity: str, pool: list[_Worker], *, blocker: str | None = None
    ) -> Generator[simpy.Event, Any, None]:
        """Give the case a case manager: the least loaded of the pool, within the cap.
        A case that finds the whole pool at the cap waits for a place, in turn."""
        cap = self.blockers.steering.caseload_cap
        queue = self.place_queues.setdefault(id(pool), deque())
        before = self.env.now
        place: simpy.Event | None = None
        while True:
            chosen = min(pool, key=lambda w: (w.caseload, len(w.queue), w.name))
            if not cap.enabled or chosen.caseload < cap.cap:
                break
            # Back at the head of the line if another case took the place first.
            place, turn = self.env.event(), queue.append if place is None else queue.appendleft
            turn(place)
            yield place
        if self.env.now > before:
            self.truth_part(
                case, activity, "extraneous", "steering.caseload_cap", self.env.now - before
            )
        chosen.caseload += 1
        case.manager = chosen

    def _release(self, worker: _Worker) -> None:
        """The worker closes or hands over a case: the next case waiting for a place
        in its pool gets its turn."""
        worker.caseload -= 1
        queue = self.place_queues.get(id(self.workers.get(worker.discipline)))
        if queue:
            queue.popleft().succeed()

    def _close(self, case: _Case, reason: str) -> Generator[simpy.Event, Any, None]:
        closure = self.scenario.steps.closure
        yield from self._work(case, "Afsluiting", closure, attributes={"reden": reason})
        if case.manager is not None:
            self._release(case.manager)
        self.closed += 1

    def _meeting(self, case: _Case) -> Generator[simpy.Event, Any, None]:
        done = self.env.event()
        heapq.heappush(
            self.meeting_queue, (case.priority, self.env.now, self.next_seq(), case, done)
        )
        yield done

    def _meetings(self) -> Generator[simpy.Event, Any, None]:
        """The weekly team meeting: cases enabled before it are discussed in turn."""
        meeting = self.blockers.protocol.team_meeting
        weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(meeting.weekday)
        day = self.scenario.start + timedelta(days=(weekday - self.scenario.start.weekday()) % 7)
        leader = self.leaders[0]
        while True:
            start = datetime.combine(day, meeting.time, self.zone).timestamp()
            day += timedelta(days=7)
            if start >= self.horizon:
                return
            if start > self.env.now:
                yield self.env.timeout(start - self.env.now)
            if self.team_clock.next_open(start) != start:
                continue  # a holiday: no meeting this week
            end = start + meeting.length
            while self.meeting_queue and self.env.now + meeting.per_case <= end:
                _, enabled, _, case, done = heapq.heappop(self.meeting_queue)
                if enabled > start:
                    heapq.heappush(
                        self.meeting_queue, (case.priority, enabled, self.next_seq(), case, done)
                    )
                    break
                self.truth_part(
                    case,
                    "Multidisciplinair overleg",
                    "batching",
                    "protocol.team_meeting",
                    self.env.now - enabled,
                )
                group = {"org:group": leader.discipline}
                mdo = "Multidisciplinair overleg"
                self.emit(case, mdo, self.env.now, "start", leader.name, group)
                yield self.env.timeout(meeting.per_case)
                self.emit(case, mdo, self.env.now, "complete", leader.name, group)
                done.succeed()

    def _take_slot(self, case: _Case, nxt: str) -> Generator[simpy.Event, Any, None]:
        """An intake slot this week, or a place on the waiting list until one opens
        (the wait is part of the wait before ``nxt``, the case's next step)."""
        if self.slots > 0:
            self.slots -= 1
            return
        self.emit(case, "Wachtlijst", self.env.now, "complete", None)
        done = self.env.event()
        heapq.heappush(self.waiting, (case.priority, self.env.now, self.next_seq(), case, done))
        before = self.env.now
        yield done
        self.truth_part(case, nxt, "extraneous", "steering.waiting_list", self.env.now - before)

    def _waiting_list(self) -> Generator[simpy.Event, Any, None]:
        """Each Monday the week's intake slots open; the list is served first."""
        per_week = self.blockers.steering.waiting_list.intakes_per_week
        monday = self.scenario.start - timedelta(days=self.scenario.start.weekday())
        while True:
            at = datetime.combine(monday, time(0), self.zone).timestamp()
            monday += timedelta(days=7)
            if at >= self.horizon:
                return
            if at > self.env.now:
                yield self.env.timeout(at - self.env.now)
            self.slots = per_week
            while self.waiting and self.slots > 0:
                self.slots -= 1
                heapq.heappop(self.waiting)[4].succeed()


# Events without a start event: their instance starts when they complete.
_INSTANT: Final = frozenset({"Melding ontvangen", "Wachtlijst", "Bezwaar ingediend"})


def _plain(mapping: Mapping[Any, float]) -> dict[str, float]:
    return {str(k): float(v) for k, v in mapping.items()}


def _pick(rng: np.random.Generator, weights: Mapping[Any, float]) -> str:
    """A key drawn by weight; keys are taken in sorted order, so that the same settings
    give the same draw however the mapping was ordered (YAML file or stored JSON)."""
    keys = sorted(weights)
    values = np.array([weights[k] for k in keys], dtype=float)
    total = values.sum()
    if total <= 0:
        return str(keys[0])
    return str(keys[int(rng.choice(len(keys), p=values / total))])


def run_engine(scenario: Scenario, *, seed: int, emit: EmitFn | None = None) -> Simulation:
    """Run a scenario once (no store involved; see :func:`knelpunt.simulate_scenario`).

    Args:
        scenario: a checked scenario.
        seed: the random seed; the same seed gives the same events.
        emit: called with batches of event rows as the run goes (to write them
            into a store while it runs).
    """
    return _Engine(scenario, seed, emit).run()
