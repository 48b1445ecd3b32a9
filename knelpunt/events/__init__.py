"""The event-sourced core: sources and events, append-only, in SQLite or PostgreSQL."""

from __future__ import annotations

from knelpunt.events.model import (
    AppendResult,
    AuditEntry,
    Event,
    NewAuditEntry,
    NewSource,
    PurgeRecord,
    RecordResult,
    Source,
    UserRecord,
)
from knelpunt.events.store import EventStore, Recording, open_store

__all__ = [
    "AppendResult",
    "AuditEntry",
    "Event",
    "EventStore",
    "NewAuditEntry",
    "NewSource",
    "PurgeRecord",
    "RecordResult",
    "Recording",
    "Source",
    "UserRecord",
    "open_store",
]
