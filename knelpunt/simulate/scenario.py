"""The scenario: everything a simulation run needs, read from one YAML file.

A scenario describes a social team and its cases: who reports (schemes,
complexity, life domains, referrers), how often (arrivals with a monthly
season), how long each step takes, how cases are routed, who works when, and
which blockers are switched on. Shipped scenarios live in
``knelpunt/simulate/scenarios/``; ``baseline`` has every blocker off, and
each variant switches one on. A variant names what it changes::

    extends: baseline
    name: Weekly team meeting approves every indication
    blockers:
      protocol:
        team_meeting: {enabled: true, weekday: tue, time: "10:00"}

Durations are written as text (``45min``, ``2h``, ``3 days``, ``2w``): the
work of a step is in working time of the person doing it; waits for the
citizen, the network or a provider are in calendar time. A spread is the
median and the 90th percentile of a log-normal distribution.

Every value is checked: an error names the file, the line and the key path
(``blockers → steering → caseload_cap → cap``), what was found and what is
allowed. :func:`apply_overrides` changes a scenario from the command line
(``steering.caseload_cap=25`` switches the cap on at 25).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import typing
from collections.abc import Mapping, Sequence
from datetime import date, time
from importlib import resources as package_files
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.dataclasses import dataclass

from knelpunt.errors import CalendarError, ScenarioError
from knelpunt.worktime import WorkCalendar, load_yaml, yaml_loader

__all__ = [
    "DOMAINS",
    "SHIPPED_SCENARIOS",
    "Scenario",
    "Spread",
    "apply_overrides",
    "read_scenario",
]

Scheme = Literal["Wmo", "Jeugdwet", "Participatiewet"]
Complexity = Literal["laag", "midden", "hoog"]
Discipline = Literal["generalist", "jeugd", "schulden", "specialist"]
Referrer = Literal[
    "gemeente",
    "huisarts",
    "jeugdarts",
    "medisch_specialist",
    "gecertificeerde_instelling",
    "zelfmelder",
    "netwerk",
    "justitie",
]
# The 13 life domains of the Zelfredzaamheid-Matrix (ZRM 2017).
Domain = Literal[
    "financien",
    "werk_opleiding",
    "tijdsbesteding",
    "huisvesting",
    "huiselijke_relaties",
    "geestelijke_gezondheid",
    "lichamelijke_gezondheid",
    "middelengebruik",
    "basale_adl",
    "instrumentele_adl",
    "sociaal_netwerk",
    "maatschappelijke_participatie",
    "justitie",
]
DOMAINS: Final[tuple[str, ...]] = typing.get_args(Domain)
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Month = Literal["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

SHIPPED_SCENARIOS: Final = (
    "baseline",
    "demo",
    "team-meeting",
    "specialist-handover",
    "second-assessment",
    "rework",
    "registration",
    "nightly-batch",
    "outage",
    "double-registration",
    "caseload-cap",
    "budget-approval",
    "waiting-list",
    "priority-rules",
)

_STRICT = ConfigDict(extra="forbid", frozen=True)


_UNITS: Final = {
    "s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0,
    "min": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
    "w": 604800.0, "week": 604800.0, "weeks": 604800.0,
}  # fmt: skip
_DURATION: Final = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*")


def _seconds(value: object) -> float:
    """Text such as ``45min``, ``2h``, ``3 days`` or ``2w`` as seconds (never negative)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"write a duration with its unit, e.g. '{value}h' or '{value} days'")
    match = _DURATION.fullmatch(str(value).lower())
    if match is None or match.group(2) not in _UNITS:
        raise ValueError(
            f"{value!r} is not a duration; write a number and a unit (s, min, h, days, w), "
            "e.g. '45min', '2h', '3 days' or '2w'"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


Duration = Annotated[float, BeforeValidator(_seconds)]
Share = Annotated[float, Field(ge=0, le=1)]
Weight = Annotated[float, Field(ge=0)]


def _clock_time(value: object) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise ValueError(
            f"{value!r} is not a time of day; write it as HH:MM, e.g. '10:00'"
        ) from None


ClockTime = Annotated[time, BeforeValidator(_clock_time)]


@dataclass(config=_STRICT)
class Spread:
    """A log-normal duration given by its median and 90th percentile (``p90 ≥ median``)."""

    median: Duration
    p90: Duration

    def __post_init__(self) -> None:
        if self.p90 < self.median:
            raise ValueError("p90 is below the median; the 90th percentile is at least the median")

    @property
    def sigma(self) -> float:
        """The log-normal's sigma (0 when p90 equals the median: a fixed duration)."""
        return lognormal_sigma(self.median, self.p90)


def lognormal_sigma(median: float, p90: float) -> float:
    """Sigma of the log-normal with this median and 90th percentile (0 for median 0)."""
    if median <= 0:
        return 0.0
    return (math.log(p90) - math.log(median)) / 1.2815515655446004


def _spread(median: str, p90: str) -> Any:
    """A default spread, checked like one read from a file."""
    return Field(default_factory=lambda: _SPREAD.validate_python({"median": median, "p90": p90}))


_SPREAD: Final = TypeAdapter(Spread)


@dataclass(config=_STRICT)
class Amount:
    """A log-normal amount of money (euro) given by its median and 90th percentile."""

    median: Annotated[float, Field(gt=0)]
    p90: Annotated[float, Field(gt=0)]

    def __post_init__(self) -> None:
        if self.p90 < self.median:
            raise ValueError("p90 is below the median; the 90th percentile is at least the median")

    @property
    def sigma(self) -> float:
        """The log-normal's sigma."""
        return lognormal_sigma(self.median, self.p90)


@dataclass(config=_STRICT)
class Cases:
    """The practice cases: who reports, with what, through whom."""

    schemes: dict[Scheme, Weight]
    complexity: dict[Complexity, Weight]
    referrers: dict[Scheme, dict[Referrer, Weight]]
    domains: dict[Domain, Share]
    domains_per_complexity: dict[Complexity, Annotated[float, Field(gt=0, le=10)]]
    repeat_household: Share = 0.1
    cost: Amount = Amount(median=3000.0, p90=15000.0)


@dataclass(config=_STRICT)
class Arrivals:
    """Meldingen per week on average, with a factor per month (1 when left out)."""

    per_week: Annotated[float, Field(gt=0, le=100_000)]
    seasonality: dict[Month, Annotated[float, Field(ge=0, le=10)]] = Field(default_factory=dict)


@dataclass(config=_STRICT)
class Team:
    """Who works: professionals per discipline, team leaders, managers, their hours.

    Everyone works the team calendar (Dutch holidays included) except for their
    ``leave_weeks`` of leave a year, drawn per person; a ``part_time`` share of the
    professionals also has one weekday off every week.
    """

    professionals: dict[Discipline, Annotated[int, Field(ge=0, le=1000)]]
    team_leaders: Annotated[int, Field(ge=1, le=100)] = 1
    managers: Annotated[int, Field(ge=1, le=100)] = 1
    calendar: dict[str, Any] = Field(default_factory=dict)
    leave_weeks: Annotated[int, Field(ge=0, le=20)] = 5
    part_time: Share = 0.0


@dataclass(config=_STRICT)
class Steps:
    """The work of each step (working time) and the waits outside the team (calendar time)."""

    intake: Spread
    report: Spread
    network_meeting: Spread
    plan: Spread
    indication: Spread
    decision: Spread
    evaluation: Spread
    closure: Spread
    objection: Spread
    appointment_wait: Spread
    network_wait: Spread
    provider_reply: Spread
    provider_start: Spread
    delivery: Spread


@dataclass(config=_STRICT)
class Routing:
    """Where cases go, by case attribute."""

    general_provision: dict[Scheme, Share]
    network_meeting: dict[Complexity, Share]
    solved_by_network: dict[Complexity, Share]
    objection: Share = 0.03


@dataclass(config=_STRICT)
class TeamMeeting:
    """Protocol: indications are approved only in the weekly multidisciplinary meeting."""

    main: ClassVar[str] = "weekday"  # a bare value in an override sets this
    enabled: bool = False
    weekday: Weekday = "tue"
    time: ClockTime = time(10, 0)
    length: Duration = 10800.0
    per_case: Duration = 180.0


@dataclass(config=_STRICT)
class SpecialistHandover:
    """Protocol: cases with one of these domains must be handed to a specialist, in a
    joint handover talk (warme overdracht) that waits until the specialist, the case
    manager and the citizen can all meet."""

    main: ClassVar[str] = ""
    enabled: bool = False
    domains: tuple[Domain, ...] = ("geestelijke_gezondheid", "middelengebruik")
    meeting_wait: Spread = _spread("7 days", "21 days")
    handover: Spread = _spread("30min", "1h")


@dataclass(config=_STRICT)
class SecondAssessment:
    """Protocol: the team's behavioural scientist (gedragswetenschapper) assesses every
    indication of these complexities a second time, in the hours set aside for it."""

    main: ClassVar[str] = ""
    enabled: bool = False
    complexity: tuple[Complexity, ...] = ("midden", "hoog")
    hours: dict[str, Any] = Field(
        default_factory=lambda: dict.fromkeys(("mon", "tue", "thu"), "08:30-17:00")
    )
    work: Spread = _spread("1h", "2h")


@dataclass(config=_STRICT)
class Rework:
    """Protocol: an incomplete form goes back to the citizen, again with this probability."""

    main: ClassVar[str] = "probability"  # a bare value in an override sets this
    enabled: bool = False
    probability: Annotated[float, Field(ge=0, le=0.9)] = 0.3
    client_wait: Spread = _spread("5 days", "14 days")
    work: Spread = _spread("30min", "1h")


@dataclass(config=_STRICT)
class Registration:
    """System: the professional registers the melding and the decision in the case system."""

    main: ClassVar[str] = ""
    enabled: bool = False
    work: Spread = _spread("20min", "45min")


@dataclass(config=_STRICT)
class NightlyBatch:
    """System: iWmo/iJw messages (301 out, 302 and 305 in) move only in the nightly run."""

    main: ClassVar[str] = "time"  # a bare value in an override sets this
    enabled: bool = False
    time: ClockTime = time(2, 0)


@dataclass(config=_STRICT)
class Outage:
    """System: the case system is down for these days; registration and messages wait."""

    main: ClassVar[str] = "days"  # a bare value in an override sets this
    enabled: bool = False
    start: date = date(2025, 3, 3)
    days: Annotated[int, Field(ge=1, le=365)] = 5


@dataclass(config=_STRICT)
class DoubleRegistration:
    """System: everything registered is typed in a second system too."""

    main: ClassVar[str] = ""
    enabled: bool = False
    work: Spread = _spread("15min", "30min")


@dataclass(config=_STRICT)
class CaseloadCap:
    """Steering: a professional takes no new case while holding this many (a case is
    held from its assignment until it is closed or handed over)."""

    main: ClassVar[str] = "cap"  # a bare value in an override sets this
    enabled: bool = False
    cap: Annotated[int, Field(ge=1, le=1000)] = 25


@dataclass(config=_STRICT)
class BudgetApproval:
    """Steering: indications above the threshold need a manager's approval, in the
    manager's few hours for it."""

    main: ClassVar[str] = "threshold"  # a bare value in an override sets this
    enabled: bool = False
    threshold: Annotated[float, Field(ge=0)] = 5000.0
    hours: dict[str, Any] = Field(
        default_factory=lambda: {"tue": "13:00-15:00", "thu": "13:00-15:00"}
    )
    work: Spread = _spread("10min", "20min")


@dataclass(config=_STRICT)
class WaitingList:
    """Steering: the team starts at most this many intakes a week; the rest wait on a list."""

    main: ClassVar[str] = "intakes_per_week"  # a bare value in an override sets this
    enabled: bool = False
    intakes_per_week: Annotated[int, Field(ge=1, le=100_000)] = 40


@dataclass(config=_STRICT)
class PriorityRules:
    """Steering: queues are served in this order of complexity, not first come first served."""

    main: ClassVar[str] = ""
    enabled: bool = False
    order: tuple[Complexity, ...] = ("laag", "midden", "hoog")


@dataclass(config=_STRICT)
class ClientWaits:
    """Client and network: waiting for the citizen, the network or a provider."""

    main: ClassVar[str] = ""
    enabled: bool = True


@dataclass(config=_STRICT)
class ProtocolBlockers:
    team_meeting: TeamMeeting = TeamMeeting()
    specialist_handover: SpecialistHandover = SpecialistHandover()
    second_assessment: SecondAssessment = SecondAssessment()
    rework: Rework = Rework()


@dataclass(config=_STRICT)
class SystemBlockers:
    registration: Registration = Registration()
    nightly_batch: NightlyBatch = NightlyBatch()
    outage: Outage = Outage()
    double_registration: DoubleRegistration = DoubleRegistration()


@dataclass(config=_STRICT)
class SteeringBlockers:
    caseload_cap: CaseloadCap = CaseloadCap()
    budget_approval: BudgetApproval = BudgetApproval()
    waiting_list: WaitingList = WaitingList()
    priority_rules: PriorityRules = PriorityRules()


@dataclass(config=_STRICT)
class ClientBlockers:
    waits: ClientWaits = ClientWaits()


@dataclass(config=_STRICT)
class Blockers:
    """The switchable blockers, by whose decision they are."""

    protocol: ProtocolBlockers = ProtocolBlockers()
    system: SystemBlockers = SystemBlockers()
    steering: SteeringBlockers = SteeringBlockers()
    client: ClientBlockers = ClientBlockers()

    def switches(self) -> dict[str, bool]:
        """Every blocker as ``kind.name``, and whether it is switched on; a run switches
        one with the override ``kind.name.enabled=true`` (or ``false``)."""
        found = {}
        for kind in ("protocol", "system", "steering", "client"):
            group = getattr(self, kind)
            for name in group.__dataclass_fields__:
                found[f"{kind}.{name}"] = bool(getattr(group, name).enabled)
        return found

    def enabled(self) -> list[str]:
        """The switched-on blockers as ``kind.name``."""
        return [name for name, on in self.switches().items() if on]


@dataclass(config=_STRICT)
class Scenario:
    """A validated scenario (read it with :func:`read_scenario`).

    Attributes:
        name: what the scenario shows.
        start: the first day of arrivals.
        days: days with arrivals; open cases are then handled to the end.
        seed: the default seed of a run (``--seed`` overrides it), and the seed the
            team's leave weeks and part-time days are drawn from (a run's seed
            does not change the team).
        tail_days: days after the last arrival the run goes on at most.
    """

    name: str
    start: date
    days: Annotated[int, Field(ge=1, le=3650)]
    cases: Cases
    arrivals: Arrivals
    team: Team
    steps: Steps
    routing: Routing
    blockers: Blockers = Blockers()
    seed: Annotated[int, Field(ge=0)] = 1
    tail_days: Annotated[int, Field(ge=0, le=3650)] = 365
    description: str = ""

    def calendar(self) -> WorkCalendar:
        """The team's working calendar (Mon-Fri 08:30-17:00 and Dutch holidays if not given)."""
        spec = {
            "hours": dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "08:30-17:00"),
            "holidays": "NL",
            **self.team.calendar,
        }
        return WorkCalendar.from_mapping(spec)

    def role_calendar(self, hours: Mapping[str, Any]) -> WorkCalendar:
        """The hours a role has for its part (a manager's for budget approvals, the
        behavioural scientist's for second assessments), holidays from the team calendar."""
        team = self.calendar()
        spec = {"holidays": team.holidays or False, "timezone": team.timezone}
        return WorkCalendar.from_mapping({**spec, "hours": dict(hours)})


_ADAPTER: Final = TypeAdapter(Scenario)


def read_scenario(
    scenario: str | Path, *, overrides: Sequence[str] = ()
) -> tuple[Scenario, dict[str, Any]]:
    """Read and check a scenario: a shipped name (``baseline``) or a YAML file.

    Args:
        scenario: a name from :data:`SHIPPED_SCENARIOS` or a path.
        overrides: ``key=value`` settings applied on top (see :func:`apply_overrides`).

    Returns:
        The scenario and the resolved settings it was built from (plain data,
        recorded with each run so that the run can be repeated exactly).

    Raises:
        ScenarioError: the file cannot be read, or a value is missing or not allowed.

    Example:
        >>> scenario, _ = read_scenario("baseline", overrides=["steering.caseload_cap=20"])
        >>> scenario.blockers.steering.caseload_cap
        CaseloadCap(enabled=True, cap=20)
    """
    path, nodes, data = _load(scenario, seen=())
    data = apply_overrides(data, overrides)
    return validate_scenario(data, path=path, nodes=nodes, overrides=overrides), data


def validate_scenario(
    data: Mapping[str, Any],
    *,
    path: Path | None = None,
    nodes: object = None,
    overrides: Sequence[str] = (),
) -> Scenario:
    """A :class:`Scenario` from plain settings (as :func:`read_scenario` returns them).

    Args:
        data: the settings.
        path, nodes: the file they were read from, and its YAML nodes (for line numbers).
        overrides: the ``key=value`` overrides applied to them: a wrong value that
            came from one is blamed on the override, not on the file.

    Raises:
        ScenarioError: a value is missing or not allowed; the message names the key.
    """
    where = f"{path}" if path is not None else "the scenario"
    try:
        scenario = _ADAPTER.validate_python(dict(data))
    except ValidationError as error:
        raise ScenarioError(
            _explain(error, where=where, nodes=nodes, overrides=_override_keys(overrides))
        ) from None
    blockers = scenario.blockers
    checks = (
        ("team → calendar", scenario.calendar),
        (
            "blockers → steering → budget_approval → hours",
            lambda: scenario.role_calendar(blockers.steering.budget_approval.hours),
        ),
        (
            "blockers → protocol → second_assessment → hours",
            lambda: scenario.role_calendar(blockers.protocol.second_assessment.hours),
        ),
    )
    for key, check in checks:
        try:
            check()
        except CalendarError as error:
            raise ScenarioError(f"{where}: {key}: {error}") from None
    return scenario


def apply_overrides(data: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Settings with ``key=value`` overrides applied (a new copy; the input is unchanged).

    Keys are dotted paths (``arrivals.per_week=90``); a path that starts with
    ``protocol``, ``system``, ``steering`` or ``client`` is under ``blockers``.
    A blocker set to ``on``/``off`` is switched; set to a number, it is
    switched on with that as its main setting (``steering.caseload_cap=25``).
    Values are read as YAML (``90``, ``true``, ``[a, b]``).

    Raises:
        ScenarioError: an override without ``=`` or with an unknown key.

    Example:
        >>> apply_overrides({"blockers": {}}, ["steering.caseload_cap=25"])
        {'blockers': {'steering': {'caseload_cap': {'enabled': True, 'cap': 25}}}}
    """
    import yaml

    result: dict[str, Any] = json.loads(json.dumps(dict(data), default=str))
    for text in overrides:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(
                f"The override {text!r} has no '='; write it as key=value, "
                "e.g. steering.caseload_cap=25 or arrivals.per_week=90."
            )
        parts = key.split(".")
        if parts[0] in _BLOCKER_KINDS:
            parts = ["blockers", *parts]
        try:
            value: Any = yaml.load(raw, Loader=yaml_loader(yaml.SafeLoader)) if raw.strip() else ""
        except yaml.YAMLError as problem:
            raise ScenarioError(
                f"The override {text!r}: the value is not valid YAML "
                f"({getattr(problem, 'problem', None) or problem}); put text in quotes, "
                "e.g. name='Team Noord'."
            ) from None
        if isinstance(value, date):
            value = value.isoformat()
        if len(parts) == 3 and parts[0] == "blockers":
            main = _main_settings().get(f"{parts[1]}.{parts[2]}")
            if main is None:
                allowed = ", ".join(sorted(_main_settings()))
                raise ScenarioError(f"The override {text!r} names no blocker. Blockers: {allowed}.")
            if isinstance(value, str) and value.lower() in ("on", "off"):
                value = {"enabled": value.lower() == "on"}
            elif isinstance(value, bool):
                value = {"enabled": value}
            elif main and not isinstance(value, dict):
                value = {"enabled": True, main: value}
            elif not isinstance(value, dict):
                raise ScenarioError(
                    f"The override {text!r}: {parts[1]}.{parts[2]} takes on or off."
                )
            target = _walk(result, parts[:-1], text)
            merged = dict(target.get(parts[-1]) or {})
            merged.update(value)
            target[parts[-1]] = merged
        else:
            _walk(result, parts[:-1], text)[parts[-1]] = value
    return result


_BLOCKER_KINDS: Final = ("protocol", "system", "steering", "client")


def _main_settings() -> dict[str, str]:
    """Each blocker as ``kind.name``, with the setting a bare override value sets
    (``steering.caseload_cap=25`` sets ``cap``; "" for blockers with only on/off)."""
    found = {}
    for kind in _BLOCKER_KINDS:
        group = Blockers.__dataclass_fields__[kind].default
        for name in group.__dataclass_fields__:
            found[f"{kind}.{name}"] = getattr(group, name).main
    return found


def _walk(data: dict[str, Any], parts: Sequence[str], text: str) -> dict[str, Any]:
    node = data
    for part in parts:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ScenarioError(f"The override {text!r}: {part} holds a value, not settings.")
        node = child
    return node


def _load(scenario: str | Path, *, seen: tuple[str, ...]) -> tuple[Path, object, dict[str, Any]]:
    """The settings of a scenario file, with its ``extends`` chain merged in."""
    path = _locate(scenario)
    if str(path) in seen:
        raise ScenarioError(f"{path}: 'extends' goes round in a circle ({' → '.join(seen)}).")
    raw, nodes = load_yaml(path, error=ScenarioError)
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping of settings (name, start, ...).")
    data = _typed(raw, nodes)
    parent = data.pop("extends", None)
    if parent is None:
        return path, nodes, data
    if not isinstance(parent, str):
        raise ScenarioError(
            f"{path}: 'extends' names one scenario, a shipped one or a file beside this one "
            f"(e.g. extends: baseline), not {type(parent).__name__} {str(parent)[:60]!r}."
        )
    base_name = parent if str(parent) in SHIPPED_SCENARIOS else path.parent / str(parent)
    _, _, base = _load(base_name, seen=(*seen, str(path)))
    return path, nodes, _merge(base, data)


def _locate(scenario: str | Path) -> Path:
    if isinstance(scenario, str) and scenario in SHIPPED_SCENARIOS:
        folder = package_files.files("knelpunt.simulate") / "scenarios"
        return Path(str(folder / f"{scenario}.yaml"))
    path = Path(scenario)
    try:
        found = path.is_file()
    except (OSError, ValueError):  # a name too long for a path, or holding a NUL
        found = False
    if not found:
        shipped = ", ".join(SHIPPED_SCENARIOS)
        raise ScenarioError(
            f"No scenario {str(scenario)[:200]!r}: not a file and not a shipped scenario "
            f"({shipped})."
        )
    return path


def _typed(value: object, node: object) -> Any:
    """YAML read as text (no surprises with ``no`` or ``0123``), with plain scalars that
    are numbers or booleans turned into them; quoted scalars stay text."""
    import yaml

    if isinstance(value, dict) and isinstance(node, yaml.MappingNode):
        by_key = {k.value: v for k, v in node.value}
        return {k: _typed(v, by_key.get(k)) for k, v in value.items()}
    if isinstance(value, list) and isinstance(node, yaml.SequenceNode):
        return [_typed(v, n) for v, n in zip(value, node.value, strict=True)]
    if isinstance(value, str) and isinstance(node, yaml.ScalarNode) and node.style is None:
        lowered = value.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered in ("null", "~", ""):
            return None
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                continue
    return value


def _merge(base: dict[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in change.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _override_keys(overrides: Sequence[str]) -> dict[tuple[str, ...], str]:
    """Per key path an override sets (as :func:`apply_overrides` reads it), its text."""
    found = {}
    for text in overrides:
        parts = text.partition("=")[0].strip().split(".")
        if parts[0] in _BLOCKER_KINDS:
            parts = ["blockers", *parts]
        found[tuple(parts)] = text
    return found


def _explain(
    error: ValidationError,
    *,
    where: str,
    nodes: object,
    overrides: Mapping[tuple[str, ...], str] | None = None,
) -> str:
    lines = []
    for problem in error.errors()[:10]:
        place = [str(p) for p in problem["loc"]]
        # An override whose key path leads to the problem set the value (the last wins).
        blamed = [
            text for key, text in (overrides or {}).items() if tuple(place[: len(key)]) == key
        ]
        line = _line_of(nodes, place)
        at = (
            f"the override {blamed[-1]!r}"
            if blamed
            else f"{where}{f', line {line}' if line else ''}"
        )
        key = " → ".join(place) or "(top)"
        kind = problem["type"]
        if kind in ("extra_forbidden", "unexpected_keyword_argument"):
            message = "unknown key; remove it or fix its spelling"
            message += _allowed_keys(place)
        elif kind == "missing":
            message = "missing; add it (the shipped baseline scenario shows every key)"
        else:
            found = problem.get("input")
            shown = "" if isinstance(found, dict | list) else f" (found {found!r})"
            message = f"{problem['msg'].removeprefix('Value error, ')}{shown}"
        lines.append(f"{at}: {key}: {message}")
    more = len(error.errors()) - 10
    if more > 0:
        lines.append(f"... and {more} more")
    return "\n".join(lines)


def _allowed_keys(place: Sequence[str]) -> str:
    target: Any = Scenario
    for part in place[:-1]:
        fields = getattr(target, "__dataclass_fields__", None)
        if fields is None or part not in fields:
            return ""
        target = fields[part].type
        target = _resolve(target)
    fields = getattr(target, "__dataclass_fields__", None)
    if not fields:
        return ""
    names = [f.name for f in dataclasses.fields(target)]  # ClassVars are not fields
    return f". Allowed here: {', '.join(names)}"


def _resolve(annotation: object) -> object:
    if isinstance(annotation, str):
        return globals().get(annotation, annotation)
    return annotation


def _line_of(nodes: object, place: Sequence[str]) -> int | None:
    import yaml

    node = nodes
    line = None
    for part in place:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if k.value == part), None)
        if match is None:
            break
        line = match[0].start_mark.line + 1
        node = match[1]
    return line
