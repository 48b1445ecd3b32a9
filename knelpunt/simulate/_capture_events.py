"""Validation of captured events: decoded JSON in, events or a list of problems out.

Pure functions, no store and no HTTP, so every rule is tested on its own;
:mod:`knelpunt.simulate.capture` answers 422 with these problems.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from knelpunt.events.model import Event
from knelpunt.schema import (
    ACTIVITY_KEY,
    CASE_ID_KEY,
    LIFECYCLE_KEY,
    POSITION_KEY,
    RESOURCE_KEY,
    SOURCE_KEY,
    TIMESTAMP_KEY,
)

__all__ = ["FIELDS", "MAX_TEXT", "EventIssue", "parse_events"]

# Longest case id, activity, resource, lifecycle or idempotency key accepted.
MAX_TEXT: Final = 500

FIELDS: Final = (
    "case_id",
    "activity",
    "timestamp",
    "lifecycle",
    "resource",
    "attributes",
    "idempotency_key",
)
# Attribute names that would collide with the event's own columns when read back.
_RESERVED: Final = frozenset(
    (
        CASE_ID_KEY,
        ACTIVITY_KEY,
        TIMESTAMP_KEY,
        LIFECYCLE_KEY,
        RESOURCE_KEY,
        POSITION_KEY,
        SOURCE_KEY,
    )
)
_EXAMPLE: Final = (
    '{"case_id": "C-1042", "activity": "Intake", "timestamp": "2025-03-04T09:15:00+01:00", '
    '"idempotency_key": "c1042-intake-1"}'
)


@dataclass(frozen=True, slots=True)
class EventIssue:
    """One problem with one event of a request.

    Attributes:
        index: the event's place in the batch (0-based); None for the request as a whole.
        field: the field concerned, if one.
        value: the value sent (shortened), if any.
        message: what is wrong and how to fix it.
    """

    index: int | None
    field: str | None
    value: Any
    message: str

    def as_json(self) -> dict[str, Any]:
        """The issue as the 422 answer lists it."""
        return {
            "index": self.index,
            "field": self.field,
            "value": self.value,
            "message": self.message,
        }


def _shown(value: Any) -> Any:
    """A value as echoed in an issue: scalars as they are, long texts and containers cut."""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and len(value) > 80:
        return value[:77] + "..."
    return value


def _text(
    data: Mapping[str, Any],
    name: str,
    index: int | None,
    issues: list[EventIssue],
    *,
    required: str | None,
    numbers: bool = False,
) -> str | None:
    """A text field: None when absent or null (an issue if ``required`` says why it is)."""
    value = data.get(name)
    if value is None:
        if required is not None:
            issues.append(EventIssue(index, name, None, f"{name} is required: {required}."))
        return None
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        kind = "text or a whole number" if numbers else "text"
        issues.append(
            EventIssue(index, name, _shown(value), f"{name} must be {kind}; send it as a string.")
        )
        return None
    if not value.strip():
        fix = required or "leave the field out when there is none"
        issues.append(EventIssue(index, name, value, f"{name} is empty; {fix}."))
        return None
    if len(value) > MAX_TEXT:
        issues.append(
            EventIssue(
                index,
                name,
                _shown(value),
                f"{name} is {len(value)} characters long; at most {MAX_TEXT} are accepted.",
            )
        )
        return None
    return value


def _timestamp(
    data: Mapping[str, Any], index: int | None, issues: list[EventIssue]
) -> datetime | None:
    value = data.get("timestamp")
    fix = (
        "write it as ISO 8601 with an offset, e.g. 2025-03-04T09:15:00+01:00 or "
        "2025-03-04T08:15:00Z"
    )
    if value is None:
        issues.append(EventIssue(index, "timestamp", None, f"timestamp is required; {fix}."))
        return None
    if not isinstance(value, str):
        issues.append(
            EventIssue(index, "timestamp", _shown(value), f"timestamp must be text; {fix}.")
        )
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        issues.append(
            EventIssue(index, "timestamp", _shown(value), f"timestamp cannot be read; {fix}.")
        )
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        issues.append(
            EventIssue(
                index,
                "timestamp",
                _shown(value),
                "timestamp has no offset, so the moment is ambiguous; add the offset "
                "(+01:00 in Dutch winter time, +02:00 in summer time) or Z for UTC.",
            )
        )
        return None
    return moment


def _attributes(
    data: Mapping[str, Any], index: int | None, issues: list[EventIssue]
) -> dict[str, Any]:
    value = data.get("attributes")
    if value is None:
        return {}
    if not isinstance(value, dict):
        issues.append(
            EventIssue(
                index,
                "attributes",
                _shown(value),
                'attributes must be an object of names and values, e.g. {"household_size": 3}.',
            )
        )
        return {}
    for key, item in value.items():
        where = f"attributes.{key}"
        if not key.strip() or len(key) > MAX_TEXT:
            issues.append(
                EventIssue(
                    index,
                    where,
                    _shown(key),
                    f"an attribute name must be 1 to {MAX_TEXT} characters.",
                )
            )
        elif key in _RESERVED:
            issues.append(
                EventIssue(
                    index,
                    where,
                    key,
                    f"the attribute name {key!r} is the event's own column; send that value in "
                    "its field (case_id, activity, timestamp, lifecycle, resource) or rename it.",
                )
            )
        elif isinstance(item, dict | list):
            issues.append(
                EventIssue(
                    index,
                    where,
                    _shown(item),
                    "attribute values must be text, a number, true/false or null; flatten "
                    'nested values into their own attributes, e.g. {"address_city": "Utrecht"}.',
                )
            )
    return value


def _event(data: Any, index: int | None, issues: list[EventIssue]) -> Event | None:
    """One event from its JSON object; None (and issues added) when it is invalid."""
    if not isinstance(data, dict):
        issues.append(
            EventIssue(
                index, None, _shown(data), f"an event must be a JSON object, e.g. {_EXAMPLE}."
            )
        )
        return None
    found = len(issues)
    for name in data:
        if name not in FIELDS:
            issues.append(
                EventIssue(
                    index,
                    name,
                    _shown(data[name]),
                    f"unknown field {name!r}; the fields are {', '.join(FIELDS)}. Put further "
                    "data in attributes.",
                )
            )
    case_id = _text(
        data,
        "case_id",
        index,
        issues,
        required='the case (dossier, household) the event belongs to, e.g. "C-1042"',
        numbers=True,
    )
    activity = _text(data, "activity", index, issues, required='what happened, e.g. "Intake"')
    moment = _timestamp(data, index, issues)
    lifecycle = _text(data, "lifecycle", index, issues, required=None)
    resource = _text(data, "resource", index, issues, required=None)
    attributes = _attributes(data, index, issues)
    key = _text(
        data,
        "idempotency_key",
        index,
        issues,
        required="a unique id of this event (e.g. a UUID) that you reuse when you resend it, "
        "so a retry is never stored twice",
    )
    if len(issues) > found or case_id is None or activity is None or moment is None:
        return None
    return Event(
        case_id=case_id,
        activity=activity,
        timestamp=moment,
        lifecycle=lifecycle,
        resource=resource,
        attributes=attributes,
        idempotency_key=key,
    )


def parse_events(payload: Any) -> tuple[list[Event], list[EventIssue]]:
    """Events from a decoded JSON request body: one event object or ``{"events": [...]}``.

    Pure: no store, no HTTP. A batch is usable only when the issues are empty;
    otherwise nothing of it is to be stored.

    Returns:
        The events (of the valid objects) and every problem found, in order.

    Example:
        >>> events, issues = parse_events({"case_id": "C1", "activity": "Intake",
        ...     "timestamp": "2025-03-04T09:15:00+01:00", "idempotency_key": "k1"})
        >>> events[0].time_us, issues
        (1741076100000000, [])
        >>> parse_events({"events": [{"case_id": "C1"}]})[1][0].field
        'activity'
    """
    issues: list[EventIssue] = []
    if isinstance(payload, dict) and "events" in payload:
        extra = sorted(set(payload) - {"events"})
        if extra:
            issues.append(
                EventIssue(
                    None,
                    extra[0],
                    None,
                    f'a batch is {{"events": [...]}} alone; move {", ".join(extra)} into '
                    "each event's attributes.",
                )
            )
        items = payload["events"]
        if not isinstance(items, list) or not items:
            issues.append(
                EventIssue(
                    None,
                    "events",
                    _shown(items),
                    "events must be a non-empty list of event objects, e.g. "
                    f'{{"events": [{_EXAMPLE}]}}.',
                )
            )
            return [], issues
        events = [_event(item, i, issues) for i, item in enumerate(items)]
    elif isinstance(payload, dict):
        events = [_event(payload, 0, issues)]
    else:
        issues.append(
            EventIssue(
                None,
                None,
                _shown(payload),
                f'send one event object, or a batch as {{"events": [...]}}; e.g. {_EXAMPLE}.',
            )
        )
        return [], issues
    return [e for e in events if e is not None], issues
