"""Frozen records of the event store: sources, single events, results of writes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, Literal

import pandas as pd

from knelpunt.errors import LogSchemaError

__all__ = [
    "BATCH_COLUMNS",
    "AppendResult",
    "AuditEntry",
    "Event",
    "NewAuditEntry",
    "NewSource",
    "PurgeRecord",
    "RecordResult",
    "Source",
    "SourceKind",
    "UserRecord",
]

SourceKind = Literal["upload", "dataframe", "simulation", "capture"]

# The columns of an event batch handed to a store (a pandas DataFrame):
# time_us is microseconds since the Unix epoch in UTC; attributes is a JSON
# object as text or None; line is the line/row/event number in the source file.
BATCH_COLUMNS: Final = (
    "case_id",
    "activity",
    "time_us",
    "lifecycle",
    "resource",
    "attributes",
    "line",
    "idempotency_key",
)

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class NewSource:
    """A source about to be recorded: one upload, one simulation run or one capture.

    Attributes:
        name: a human name, e.g. the file name or the scenario name.
        kind: what produced the events.
        created_by: who recorded it (a user name), if known.
        content_hash: SHA-256 of the uploaded bytes (for uploads, with the privacy
            choices applied to them); a second source with the same hash is refused
            as "already recorded" (idempotent uploads).
        details: everything needed to trace the source: file name, format,
            encoding, the column mapping used, or a scenario and its seed.
    """

    name: str
    kind: SourceKind
    created_by: str | None = None
    content_hash: str | None = None
    details: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Source:
    """A recorded source, with live counts.

    Attributes:
        source_id: the store's id of the source.
        name: as given when recorded.
        kind: upload, dataframe, simulation or capture.
        created_at: when it was recorded (UTC).
        created_by: who recorded it, if known.
        content_hash: SHA-256 of the uploaded bytes (with the privacy choices), if any.
        details: file name, format, mapping, options, scenario parameters.
        report: the ingestion report (cases, activities, period, warnings),
            empty for sources still being appended to.
        event_count: events recorded for it now.
        reject_count: rows refused and kept with their reason.
    """

    source_id: int
    name: str
    kind: str
    created_at: datetime
    created_by: str | None
    content_hash: str | None
    details: Mapping[str, Any]
    report: Mapping[str, Any]
    event_count: int
    reject_count: int


@dataclass(frozen=True, slots=True)
class Event:
    """One event to append to a source (live capture, simulation).

    Attributes:
        case_id: the case the event belongs to.
        activity: what happened.
        timestamp: when; must carry a time zone.
        lifecycle: start, complete, ... (None if the log has no lifecycle).
        resource: who did it, if known.
        attributes: any further JSON-compatible attributes.
        idempotency_key: sending the same key twice to one source stores the
            event once.

    Raises:
        LogSchemaError: on an empty case id or activity, or a naive timestamp.

    Example:
        >>> from datetime import datetime, timezone
        >>> Event("c1", "Melding", datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)).time_us
        1736154000000000
    """

    case_id: str
    activity: str
    timestamp: datetime
    lifecycle: str | None = None
    resource: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        if not str(self.case_id).strip():
            raise LogSchemaError(
                "Event has an empty case id; give every event the case it belongs to."
            )
        if not str(self.activity).strip():
            raise LogSchemaError(
                f"Event of case {self.case_id!r} has an empty activity; name what happened."
            )
        if self.timestamp.tzinfo is None or self.timestamp.utcoffset() is None:
            raise LogSchemaError(
                f"Event {self.activity!r} of case {self.case_id!r} has a timestamp without a time "
                f"zone ({self.timestamp.isoformat()}); pass an aware datetime, e.g. "
                "datetime(..., tzinfo=ZoneInfo('Europe/Amsterdam'))."
            )

    @property
    def time_us(self) -> int:
        """The timestamp as microseconds since the Unix epoch (UTC)."""
        delta = self.timestamp.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What recording one file or frame did.

    Attributes:
        source: the source as stored (the earlier one if already recorded).
        added: events added by this call (0 if the file was already recorded).
        rejected: rows refused and kept in the store with their reason.
        already_recorded: True when the same content was recorded before.
        warnings: things the user should know (ambiguous times, estimated
            precision, ...); none of them lost data.
        seconds: wall-clock time the call took.
    """

    source: Source
    added: int
    rejected: int
    already_recorded: bool
    warnings: tuple[str, ...] = ()
    seconds: float = math.nan

    @property
    def message(self) -> str:
        """One readable sentence about the result."""
        if self.already_recorded:
            return (
                f"Already recorded as source {self.source.source_id} ('{self.source.name}', "
                f"{self.source.created_at:%Y-%m-%d %H:%M} UTC): 0 events added. To record it "
                f"again, e.g. with another mapping, purge source {self.source.source_id} first."
            )
        source = self.source
        text = f"Recorded {self.added:,} events as source {source.source_id} ('{source.name}')"
        if self.rejected:
            text += f"; {self.rejected:,} rows refused and kept with their reason"
        return text + "."

    def to_frame(self) -> pd.DataFrame:
        """The result as one row."""
        return pd.DataFrame(
            [{"source_id": self.source.source_id, "name": self.source.name, "added": self.added,
              "rejected": self.rejected, "already_recorded": self.already_recorded,
              "seconds": self.seconds}]
        )  # fmt: skip

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one append to a source did.

    Attributes:
        source_id: the source appended to.
        added: events stored now.
        duplicates: events skipped because their idempotency key was seen before.
        last_position: the store's global position after the append.
    """

    source_id: int
    added: int
    duplicates: int
    last_position: int


@dataclass(frozen=True, slots=True)
class PurgeRecord:
    """The logged trace of a purge: the only way events ever leave the store.

    Attributes:
        purge_id: the id of this purge in the log.
        source_id: the source that was removed.
        source_name: its name at the time.
        purged_at: when (UTC).
        purged_by: who asked for it.
        reason: why (e.g. a data-subject erasure request).
        events_removed: how many events were removed.
        rejects_removed: how many rejected rows were removed.
    """

    purge_id: int
    source_id: int
    source_name: str
    purged_at: datetime
    purged_by: str | None
    reason: str
    events_removed: int
    rejects_removed: int


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user of the dashboard and the capture API, as the store keeps it.

    The store keeps what it is given; roles and password hashing are
    :mod:`knelpunt.access`'s business.

    Attributes:
        name: the log-in name, unique in the store.
        role: viewer, analyst or admin.
        password_hash: the password's hash (argon2id, in PHC form); never the password.
        created_at: when the user was added (UTC).
        changed_at: when the role or password last changed (UTC).
        sessions_after: sessions begun before this moment are over (a log-out or a
            new password ends the user's sessions everywhere).
    """

    name: str
    role: str
    password_hash: str = field(repr=False)  # kept out of logs and tracebacks
    created_at: datetime
    changed_at: datetime
    sessions_after: datetime


@dataclass(frozen=True, slots=True)
class NewAuditEntry:
    """Something to write in the audit log (the store adds the moment and the id).

    Attributes:
        action: what happened, e.g. ``login``, ``login_failed``, ``record``, ``purge``,
            ``export``, ``simulate``, ``capture_open``, ``user_add``.
        actor: who did it (a user name), if known.
        target: what it was done to: a source, a user, a file name.
        address: the client's network address, if it came over the network.
        details: anything further, JSON-compatible.
    """

    action: str
    actor: str | None = None
    target: str | None = None
    address: str | None = None
    details: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry of the store's audit log, which nothing can change or remove.

    Attributes:
        entry_id: increasing in the order the entries were written.
        at: when (UTC).
        action: what happened (see :class:`NewAuditEntry`).
        actor: who did it, if known.
        target: what it was done to, if anything.
        address: from which network address, if any.
        details: anything further.
    """

    entry_id: int
    at: datetime
    action: str
    actor: str | None
    target: str | None
    address: str | None
    details: Mapping[str, Any]
