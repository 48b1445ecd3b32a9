"""Policy goals as criteria: what a profile's ``criteria:`` section may say.

Each criterion is one template with its parameters, a target, a scope and
the legal or policy reference it rests on. Activities are named as in the
profile's ``activities:`` section: exact names (case ignored) or patterns
with ``*`` and ``?``; ``"@start"`` and ``"@end"`` stand for a case's first
and last event. A profile lists them like this::

    criteria:
      - id: wmo-onderzoek
        name: Onderzoek binnen zes weken na de melding
        type: deadline                 # from one activity to another
        from: Melding*
        to: Verslag onderzoek
        within: 6 weeks                # hours, days, weeks, working days (werkdagen)
        target: 95%                    # share of the measured cases
        scope: {attributes: {case:scheme: [Wmo]}}
        reference: Wmo 2015 art. 2.3.2 lid 1

The templates (``type``) and their keys:

* ``deadline``: ``from``, ``to``, ``within``: the first ``to`` completed after
  the first ``from``, within the term. ``first_contact`` is the same with
  ``signal`` and ``contact`` (vroegsignalering).
* ``response``: ``when``, ``then``, ``within``: every ``when`` answered by a
  ``then`` within the term (an iWmo message and its return).
* ``precedence``: ``first``, ``then``: a ``first`` before the first ``then``
  (a network step before any maatwerk indication); cases without a ``then``
  are outside it.
* ``existence`` and ``absence``: ``activity``, optionally ``closed_by``: only
  closed cases are judged.
* ``max_resources``: ``at_most`` people doing the case's work, ``per`` case or
  household (the case attribute ``household``, default ``case:household``);
  ``activities`` says which work (default: the profile's ``work`` class).
* ``max_handovers``: ``at_most`` changes of the person doing that work.
* ``share``: ``condition`` (``{attribute: case:referrer, in: [huisarts]}`` or
  ``{activity: [Toewijzing verzenden]}``) and ``at_least`` or ``at_most``: a
  target for the share of cases that meet it.

Every criterion may have a ``scope``: ``attributes`` (case attribute → the
values kept), ``teams`` (the team of the case holder), ``has`` (activities the
case must hold) and ``since`` / ``until`` (dates: the moment the criterion
starts counting, for deadlines; else the case's first event).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal

__all__ = [
    "CRITERION_TYPES",
    "Condition",
    "Criterion",
    "Scope",
    "SpecError",
    "Term",
    "matches",
    "parse_criteria",
]

CRITERION_TYPES: Final = (
    "deadline",
    "first_contact",
    "response",
    "precedence",
    "existence",
    "absence",
    "max_resources",
    "max_handovers",
    "share",
)
# Per template: its own keys (beyond id, name, type, reference, target, scope).
_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "deadline": ("from", "to", "within"),
    "first_contact": ("signal", "contact", "within"),
    "response": ("when", "then", "within"),
    "precedence": ("first", "then"),
    "existence": ("activity", "closed_by"),
    "absence": ("activity", "closed_by"),
    "max_resources": ("at_most", "per", "household", "activities"),
    "max_handovers": ("at_most", "activities"),
    "share": ("condition", "at_least", "at_most"),
}
_COMMON: Final = ("id", "name", "type", "reference", "target", "scope")
_UNITS: Final[Mapping[str, str]] = {
    "hour": "hours", "hours": "hours", "h": "hours", "uur": "hours", "uren": "hours",
    "day": "days", "days": "days", "d": "days", "dag": "days", "dagen": "days",
    "week": "weeks", "weeks": "weeks", "w": "weeks", "weken": "weeks",
    "working day": "working days", "working days": "working days", "werkdag": "working days",
    "werkdagen": "working days", "wd": "working days",
}  # fmt: skip
_TERM: Final = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*([a-z ]+?)\s*")
_SHARE: Final = re.compile(r"\s*(\d+(?:[.,]\d+)?)\s*(%?)\s*")

Unit = Literal["hours", "days", "weeks", "working days"]
Where = tuple[str | int, ...]


class SpecError(ValueError):
    """A problem at a place in the criteria (the profile adds file and line)."""

    def __init__(self, where: Where, message: str) -> None:
        super().__init__(message)
        self.where = where


@dataclass(frozen=True, slots=True)
class Term:
    """A term such as six weeks or ten working days.

    Example:
        >>> Term.parse("10 werkdagen")
        Term(amount=10.0, unit='working days')
        >>> str(Term.parse("6 weeks"))
        '6 weeks'
    """

    amount: float
    unit: Unit

    @classmethod
    def parse(cls, text: str) -> Term:
        match = _TERM.fullmatch(text.casefold())
        unit = _UNITS.get(match.group(2)) if match else None
        if match is None or unit is None:
            raise ValueError(
                f"{text!r} is not a term; write a number and a unit: hours, days, weeks or "
                "working days (uren, dagen, weken, werkdagen), e.g. '6 weeks' or '10 werkdagen'"
            )
        amount = float(match.group(1).replace(",", "."))
        if unit in ("days", "weeks", "working days") and amount != int(amount):
            raise ValueError(f"{text!r}: count days, weeks and working days in whole numbers")
        return cls(amount, unit)  # type: ignore[arg-type]  # a value of _UNITS

    @property
    def days(self) -> int:
        """The term in whole days (weeks as 7 days); for days, weeks, working days."""
        return int(self.amount * (7 if self.unit == "weeks" else 1))

    def __str__(self) -> str:
        amount = int(self.amount) if self.amount == int(self.amount) else self.amount
        return f"{amount} {self.unit}"


@dataclass(frozen=True, slots=True)
class Scope:
    """Which cases a criterion is about (all, when empty).

    Attributes:
        attributes: per case attribute, the values kept.
        teams: the teams of the case holders kept.
        has: activities (names or patterns) a kept case holds.
        since, until: the reference moment (a deadline's start, else the case's
            first event) on or after ``since`` and before ``until``.
    """

    attributes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    teams: tuple[str, ...] = ()
    has: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """What makes a case count towards a share: an attribute value or an activity."""

    attribute: str | None = None
    values: tuple[str, ...] = ()
    activities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Criterion:
    """One policy goal as a criterion (see the module documentation).

    Attributes:
        id: a short name to refer to it.
        name: what it says, for people.
        kind: the template (one of :data:`CRITERION_TYPES`).
        reference: the law or policy it rests on.
        target: the share of the measured cases that should meet it (for
            ``share``: the share of cases, bounded by ``direction``).
        direction: ``at_least`` or ``at_most`` the target.
        scope: the cases it is about.
        start, end: the activities that open and close its window (``from`` and
            ``to``, ``signal`` and ``contact``, ``when`` and ``then``, ``first``
            and ``then``).
        term: the term of a deadline, first contact or response.
        activities: the activity of ``existence`` and ``absence``; the work
            whose people ``max_resources`` and ``max_handovers`` count.
        closed_by: for ``existence`` and ``absence``: only cases holding one
            of these are judged.
        limit: the ``at_most`` of ``max_resources`` and ``max_handovers``.
        per: ``case`` or ``household`` (``max_resources``).
        household: the case attribute naming the household.
        condition: what counts for a ``share``.
    """

    id: str
    name: str
    kind: str
    reference: str = ""
    target: float = 1.0
    direction: Literal["at_least", "at_most"] = "at_least"
    scope: Scope = field(default_factory=Scope)
    start: tuple[str, ...] = ()
    end: tuple[str, ...] = ()
    term: Term | None = None
    activities: tuple[str, ...] = ()
    closed_by: tuple[str, ...] = ()
    limit: int | None = None
    per: Literal["case", "household"] = "case"
    household: str = "case:household"
    condition: Condition | None = None

    @property
    def per_case(self) -> bool:
        """True when each case passes or breaches it (all but ``share``)."""
        return self.kind != "share"

    @property
    def timed(self) -> bool:
        """True when a breach is a term overrun (deadline, first contact, response)."""
        return self.kind in ("deadline", "first_contact", "response")


def parse_criteria(spec: object, where: Where = ("criteria",)) -> tuple[Criterion, ...]:
    """Criteria from a profile's ``criteria:`` section (every scalar as text).

    Raises:
        SpecError: with the place in the section and what to write instead.

    Example:
        >>> found = parse_criteria([{"id": "c1", "type": "deadline", "from": "Melding",
        ...                          "to": "Besluit", "within": "8 weken", "target": "90%"}])
        >>> found[0].term, found[0].target
        (Term(amount=8.0, unit='weeks'), 0.9)
    """
    if spec is None or (isinstance(spec, str) and spec.strip() in ("", "~", "null")):
        return ()
    if not isinstance(spec, list):
        raise SpecError(where, "expected a list of criteria, each starting with '- id: ...'.")
    found: list[Criterion] = []
    seen: set[str] = set()
    for i, entry in enumerate(spec):
        criterion = _criterion(entry, (*where, i))
        if criterion.id in seen:
            raise SpecError(
                (*where, i, "id"), f"the id {criterion.id!r} is used twice; give each its own."
            )
        seen.add(criterion.id)
        found.append(criterion)
    return tuple(found)


def _criterion(entry: object, where: Where) -> Criterion:
    if not isinstance(entry, Mapping):
        raise SpecError(where, "expected a criterion: a mapping with id, type and its keys.")
    given = {str(k): v for k, v in entry.items()}
    kind = _text(given.get("type"), (*where, "type"))
    if kind not in CRITERION_TYPES:
        raise SpecError(
            (*where, "type"), f"unknown type {kind!r}; use one of {', '.join(CRITERION_TYPES)}."
        )
    allowed = (*_COMMON, *_KEYS[kind])
    wrong = [key for key in given if key not in allowed]
    if wrong:
        raise SpecError(
            (*where, wrong[0]), f"not a key of a {kind} criterion; use {', '.join(allowed)}."
        )
    ident = _text(given.get("id"), (*where, "id"))
    if not ident:
        raise SpecError((*where, "id"), "every criterion needs an id, such as wmo-onderzoek.")
    values: dict[str, object] = {
        "id": ident,
        "name": _text(given.get("name", ident), (*where, "name")),
        "kind": kind,
        "reference": _text(given.get("reference", ""), (*where, "reference")),
        "scope": _scope(given.get("scope"), (*where, "scope")),
    }
    if "target" in given:
        values["target"] = _share(given["target"], (*where, "target"))
    if kind in ("deadline", "first_contact", "response", "precedence"):
        first, second = {
            "deadline": ("from", "to"),
            "first_contact": ("signal", "contact"),
            "response": ("when", "then"),
            "precedence": ("first", "then"),
        }[kind]
        values["start"] = _names(given.get(first), (*where, first), required=True)
        values["end"] = _names(given.get(second), (*where, second), required=True)
        if kind != "precedence":
            values["term"] = _term(given.get("within"), (*where, "within"))
    elif kind in ("existence", "absence"):
        values["activities"] = _names(given.get("activity"), (*where, "activity"), required=True)
        values["closed_by"] = _names(given.get("closed_by"), (*where, "closed_by"))
    elif kind in ("max_resources", "max_handovers"):
        values["limit"] = _count(given.get("at_most"), (*where, "at_most"))
        values["activities"] = _names(given.get("activities"), (*where, "activities"))
        if kind == "max_resources":
            per = _text(given.get("per", "case"), (*where, "per"))
            if per not in ("case", "household"):
                raise SpecError((*where, "per"), "write 'case' or 'household'.")
            values["per"] = per
            values["household"] = _text(
                given.get("household", "case:household"), (*where, "household")
            )
    else:
        values["condition"] = _condition(given.get("condition"), (*where, "condition"))
        bounds = [key for key in ("at_least", "at_most") if key in given]
        if len(bounds) != 1:
            raise SpecError(
                where, "a share criterion needs one target: at_least: 30% or at_most: 40%."
            )
        values["direction"] = bounds[0]
        values["target"] = _share(given[bounds[0]], (*where, bounds[0]))
    if kind != "share" and "target" not in given:
        values["target"] = 1.0
    return Criterion(**values)  # type: ignore[arg-type]  # keys checked above


def _scope(value: object, where: Where) -> Scope:
    if value is None or (isinstance(value, str) and not value.strip()):
        return Scope()
    if not isinstance(value, Mapping):
        raise SpecError(where, "expected a mapping with attributes, teams, has, since, until.")
    given = {str(k): v for k, v in value.items()}
    wrong = [k for k in given if k not in ("attributes", "teams", "has", "since", "until")]
    if wrong:
        raise SpecError((*where, wrong[0]), "use attributes, teams, has, since or until.")
    attributes = given.get("attributes") or {}
    if not isinstance(attributes, Mapping):
        raise SpecError(
            (*where, "attributes"), "expected attribute: [values], e.g. case:scheme: [Wmo]."
        )
    return Scope(
        attributes=tuple(
            (str(name), _names(kept, (*where, "attributes", str(name)), required=True))
            for name, kept in attributes.items()
        ),
        teams=_names(given.get("teams"), (*where, "teams")),
        has=_names(given.get("has"), (*where, "has")),
        since=_date(given.get("since"), (*where, "since")),
        until=_date(given.get("until"), (*where, "until")),
    )


def _condition(value: object, where: Where) -> Condition:
    if not isinstance(value, Mapping):
        raise SpecError(
            where,
            "expected {attribute: case:referrer, in: [huisarts]} or "
            "{activity: [Toewijzing verzenden]}.",
        )
    given = {str(k): v for k, v in value.items()}
    if "activity" in given and len(given) == 1:
        return Condition(activities=_names(given["activity"], (*where, "activity"), required=True))
    if set(given) == {"attribute", "in"}:
        return Condition(
            attribute=_text(given["attribute"], (*where, "attribute")),
            values=_names(given["in"], (*where, "in"), required=True),
        )
    raise SpecError(
        where, "give either activity: [...] or attribute: NAME with in: [values], not both."
    )


def _names(value: object, where: Where, *, required: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [] if value.strip() in ("", "~", "null") else [value]
    if value is None:
        value = []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(where, "expected a name or a list of names, such as [Intake, Melding*].")
    names = tuple(v.strip() for v in value if v.strip())
    if required and not names:
        raise SpecError(where, "missing; name at least one activity or value here.")
    return names


def _text(value: object, where: Where) -> str:
    if value is None:
        raise SpecError(where, "missing; fill it in.")
    if not isinstance(value, str):
        raise SpecError(where, "expected a single text value here.")
    return value.strip()


def _term(value: object, where: Where) -> Term:
    try:
        return Term.parse(_text(value, where))
    except ValueError as error:
        raise SpecError(where, str(error)) from None


def _share(value: object, where: Where) -> float:
    text = _text(value, where)
    match = _SHARE.fullmatch(text)
    if match is None:
        raise SpecError(where, f"{text!r} is not a share; write 95% or 0.95.")
    number = float(match.group(1).replace(",", "."))
    share = number / 100 if match.group(2) else number
    if not 0 <= share <= 1:
        raise SpecError(where, f"{text!r} is not a share between 0% and 100%.")
    return share


def _count(value: object, where: Where) -> int:
    text = _text(value, where)
    if not text.isdigit():
        raise SpecError(where, f"{text!r} is not a whole number; write e.g. 1.")
    return int(text)


def _date(value: object, where: Where) -> date | None:
    if value is None:
        return None
    text = _text(value, where)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SpecError(where, f"{text!r} is not a date; write it as 2025-01-31.") from None


def matches(names: Sequence[str], patterns: Sequence[str]) -> list[bool]:
    """For each name, whether one of the patterns (exact, case ignored, or ``*``/``?``)
    names it.

    Example:
        >>> matches(["Melding ontvangen", "Intake"], ["melding*"])
        [True, False]
    """
    import fnmatch

    wanted = [p.casefold() for p in patterns]
    return [
        any(fnmatch.fnmatchcase(name.casefold(), pattern) for pattern in wanted) for name in names
    ]
