"""The event-sourced core: sources and events, append-only, in SQLite or PostgreSQL."""

from __future__ import annotations

from knelpunt.events.model import (
    AppendResult,
    Event,
    NewSource,
    PurgeRecord,
    RecordResult,
    Source,
)
from knelpunt.events.store import EventStore, Recording, open_store

__all__ = [
    "AppendResult",
    "Event",
    "EventStore",
    "NewSource",
    "PurgeRecord",
    "RecordResult",
    "Recording",
    "Source",
    "open_store",
]
