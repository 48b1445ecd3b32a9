"""Which column is the case, the activity, the timestamp? Suggest, then let the user decide."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import pandas as pd

from knelpunt.errors import MappingError
from knelpunt.ingest.timestamps import detect_format

__all__ = ["ColumnMapping", "MappingSuggestion", "named_like", "parse_mapping", "suggest_mapping"]


@dataclass(frozen=True, slots=True)
class ColumnMapping:
    """Which source column holds which part of an event.

    Attributes:
        case_id: the case (zaak, dossier, cliënt) the row belongs to.
        activity: what happened (activiteit, stap, status).
        timestamp: when it happened or was completed.
        start_timestamp: when the activity started, for files with one row per
            activity and a start and an end column; each such row becomes a
            ``start`` and a ``complete`` event.
        resource: who did it (medewerker, behandelaar).
        role: the resource's role or discipline.
        team: the resource's team or department.
        lifecycle: start/complete/... when the file has such a column.
        timestamp_format: a strftime pattern or ``ISO8601``; detected when None.

    Example:
        >>> ColumnMapping(case_id="Zaak", activity="Stap", timestamp="Datum").columns()
        {'case_id': 'Zaak', 'activity': 'Stap', 'timestamp': 'Datum'}
    """

    case_id: str
    activity: str
    timestamp: str
    start_timestamp: str | None = None
    resource: str | None = None
    role: str | None = None
    team: str | None = None
    lifecycle: str | None = None
    timestamp_format: str | None = None

    def columns(self) -> dict[str, str]:
        """The mapped fields and their columns (format and unmapped fields left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None and k != "timestamp_format"}

    def check(self, available: list[str], *, file: str) -> None:
        """Raise :class:`MappingError` when a mapped column is not in the file."""
        for name, column in self.columns().items():
            if column not in available:
                raise MappingError(
                    f"{file}: column {column!r} (mapped as {name}) not found. Available "
                    f"columns: {available}. Map it with --mapping {name}=<column> on the "
                    f"command line, or ColumnMapping({name}=...) in Python."
                )
        if self.lifecycle is not None and self.start_timestamp is not None:
            raise MappingError(
                f"{file}: map either a lifecycle column or a start timestamp column, not "
                "both; with a start column each row becomes a start and a complete event."
            )


@dataclass(frozen=True, slots=True)
class MappingSuggestion:
    """A suggested mapping, and why.

    Attributes:
        mapping: the best mapping found, or None when a required field has no candidate.
        candidates: for each field, the columns considered, best first.
        reasons: for each mapped field, a sentence on why that column was chosen.
        missing: required fields (case_id, activity, timestamp) with no candidate.
        chosen: the fields that did find a column, also when ``mapping`` is None.
    """

    mapping: ColumnMapping | None
    candidates: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    chosen: Mapping[str, str] = field(default_factory=dict)


# Names (normalised: lower case, no accents, no punctuation) that say what a
# column is, Dutch and English, most specific first.
_NAMES: dict[str, tuple[str, ...]] = {
    "case_id": (
        "caseconceptname",
        "caseid",
        "case",
        "zaakid",
        "zaaknummer",
        "zaak",
        "dossiernummer",
        "dossierid",
        "dossier",
        "casusnummer",
        "casus",
        "trajectid",
        "traject",
        "meldingid",
        "clientnummer",
        "clientid",
        "client",
        "casenumber",
        "caseno",
        "ticket",
        "ticketid",
    ),
    "activity": (
        "conceptname",
        "activity",
        "activityname",
        "activiteit",
        "taak",
        "taaknaam",
        "stap",
        "processtap",
        "handeling",
        "actie",
        "event",
        "eventname",
        "task",
        "status",
        "action",
    ),
    "timestamp": (
        "timetimestamp",
        "timestamp",
        "completetimestamp",
        "endtimestamp",
        "endtime",
        "end",
        "eind",
        "einddatum",
        "eindtijd",
        "afgerond",
        "completed",
        "datumtijd",
        "tijdstip",
        "datum",
        "date",
        "time",
        "datetime",
        "registratiedatum",
    ),
    "start_timestamp": (
        "starttimestamp",
        "starttime",
        "start",
        "begin",
        "startdatum",
        "begindatum",
        "begintijd",
        "starttijd",
        "startdate",
    ),
    "resource": (
        "orgresource",
        "resource",
        "medewerker",
        "behandelaar",
        "uitvoerder",
        "consulent",
        "casemanager",
        "user",
        "gebruiker",
        "employee",
        "agent",
        "performer",
    ),
    "role": ("orgrole", "role", "rol", "functie", "discipline", "functiegroep"),
    "team": ("orggroup", "team", "group", "groep", "afdeling", "wijkteam", "department", "unit"),
    "lifecycle": (
        "lifecycletransition",
        "lifecycle",
        "transition",
        "eventtype",
        "transitie",
        "levenscyclus",
    ),
}
_REQUIRED = ("case_id", "activity", "timestamp")
_LIFECYCLE_WORDS = {"start", "complete", "schedule", "suspend", "resume", "assign", "ate_abort"}


def _normal(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", text)


def _name_score(column: str, field_name: str) -> float:
    norm = _normal(column)
    names = _NAMES[field_name]
    if norm in names:
        return 3.0 - names.index(norm) / (2 * len(names))
    if any(len(n) >= 4 and n in norm for n in names):
        return 1.0
    return 0.0


def suggest_mapping(frame: pd.DataFrame) -> MappingSuggestion:
    """Suggest a :class:`ColumnMapping` from column names and a sample of contents.

    Names count most (Dutch and English, pm4py's own names best); contents
    decide between candidates: a timestamp column must mostly parse as
    dates, an activity has few distinct values, a case id repeats.

    Args:
        frame: the first rows of the file (a few thousand are plenty).

    Returns:
        The suggestion; ``mapping`` is None when a required field has no candidate.

    Example:
        >>> df = pd.DataFrame({"Zaaknummer": ["1", "1"], "Activiteit": ["Melding", "Intake"],
        ...                    "Datum": ["01-02-2025 09:00", "03-02-2025 10:30"]})
        >>> suggest_mapping(df).mapping
        ColumnMapping(case_id='Zaaknummer', activity='Activiteit', timestamp='Datum', start_timestamp=None, resource=None, role=None, team=None, lifecycle=None, timestamp_format=None)
    """  # noqa: E501
    sample = frame.head(5000)
    columns = [str(c) for c in sample.columns]
    date_share = {c: _date_share(sample[c]) for c in columns}
    scores: dict[str, list[tuple[float, str]]] = {}
    for field_name in _NAMES:
        ranked = []
        for column in columns:
            score = _name_score(column, field_name)
            score += _content_score(sample[column], field_name, date_share[column])
            if score > 0.5:
                ranked.append((score, column))
        ranked.sort(key=lambda item: -item[0])
        scores[field_name] = ranked

    chosen: dict[str, str] = {}
    reasons: dict[str, str] = {}
    taken: set[str] = set()
    order = (
        "timestamp",
        "case_id",
        "activity",
        "lifecycle",
        "start_timestamp",
        "resource",
        "role",
        "team",
    )
    for field_name in order:
        if field_name == "start_timestamp" and "lifecycle" in chosen:
            continue  # a lifecycle column already says which events start
        for score, column in scores[field_name]:
            if column in taken:
                continue
            if field_name != "case_id" and column.startswith("case:"):
                continue  # pm4py's prefix for case attributes
            if field_name == "start_timestamp" and score < 2:
                continue  # only a column named as a start time is one
            if field_name in ("timestamp", "start_timestamp") and date_share[column] < 0.5:
                continue
            chosen[field_name] = column
            taken.add(column)
            reasons[field_name] = _reason(column, field_name, score, date_share[column])
            break
    candidates = {f: tuple(c for _, c in scores[f]) for f in _NAMES}
    missing = tuple(f for f in _REQUIRED if f not in chosen)
    if missing:
        return MappingSuggestion(None, candidates, reasons, missing, chosen)
    return MappingSuggestion(ColumnMapping(**chosen), candidates, reasons, (), chosen)


def _date_share(values: pd.Series) -> float:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return 1.0
    if pd.api.types.is_numeric_dtype(values.dtype):
        return 0.0
    _, share = detect_format(values, sample=100)
    return share


def _content_score(values: pd.Series, field_name: str, date_share: float) -> float:
    if field_name in ("timestamp", "start_timestamp"):
        return 1.5 * date_share if date_share >= 0.5 else -5.0
    if date_share >= 0.8:
        return -5.0  # a date column is never a case, activity or resource
    text = values.dropna().astype(str)
    text = text[text != ""]
    if text.empty:
        return -1.0
    distinct = text.nunique()
    ratio = distinct / len(text)
    if field_name == "case_id":
        # Cases repeat over their events, but there are many of them.
        return 1.0 if 0.005 < ratio < 0.9 and distinct > 1 else 0.0
    if field_name == "activity":
        return 1.0 if distinct <= 500 and ratio < 0.5 else -1.0
    if field_name == "lifecycle":
        words = {w.lower() for w in text.unique()[:20]}
        return 2.0 if words and words <= _LIFECYCLE_WORDS else -2.0
    return 0.0


def _reason(column: str, field_name: str, score: float, date_share: float) -> str:
    what = "its name" if score >= 2 else "its contents"
    if field_name in ("timestamp", "start_timestamp"):
        return f"{column!r}: {what}; {date_share:.0%} of sampled values read as dates"
    return f"{column!r}: {what}"


def named_like(columns: list[str], field_name: str) -> list[str]:
    """Columns whose name says they hold ``field_name``, whatever their contents."""
    return [c for c in columns if _name_score(c, field_name) >= 2]


def parse_mapping(text: str | Mapping[str, str] | None) -> dict[str, str]:
    """Read ``case_id=Zaak,activity=Stap`` (the CLI's --mapping) into a dict.

    Raises:
        MappingError: on an unknown field name or a malformed pair.

    Example:
        >>> parse_mapping("case_id=Zaak nr, activity=Stap")
        {'case_id': 'Zaak nr', 'activity': 'Stap'}
    """
    if text is None:
        return {}
    pairs: dict[str, str] = {}
    items: list[tuple[str, Any]]
    if isinstance(text, str):
        items = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            if "=" not in part:
                raise MappingError(
                    f"Mapping part {part!r} is not field=column; write e.g. "
                    "--mapping case_id=Zaaknummer,activity=Stap,timestamp=Datum"
                )
            key, _, value = part.partition("=")
            items.append((key.strip(), value.strip()))
    else:
        items = list(text.items())
    allowed = [f.name for f in fields(ColumnMapping)]
    for key, value in items:
        if key not in allowed:
            raise MappingError(f"Unknown mapping field {key!r}; allowed: {', '.join(allowed)}.")
        pairs[key] = str(value)
    return pairs
