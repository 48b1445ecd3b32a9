"""knelpunt: an event-sourced process-bottleneck analyser for the Dutch social domain.

The notebook façade::

    import knelpunt as kp
    store = kp.open_store("knelpunt.db")
    result = kp.ingest_log(store, "export.csv")
    log = kp.read_events(store, sources=[result.source.source_id])

Importing knelpunt does not import pm4py or Dash.
"""

from __future__ import annotations

from knelpunt.api import (
    append_events,
    list_sources,
    purge_source,
    read_events,
    read_rejects,
    suggest_mapping,
)
from knelpunt.errors import KnelpuntError
from knelpunt.events.model import Event, NewSource, RecordResult, Source
from knelpunt.events.store import EventStore, open_store
from knelpunt.ingest.export import export_log
from knelpunt.ingest.mapping import ColumnMapping
from knelpunt.ingest.pipeline import ingest_log

__version__ = "0.1.0"

__all__ = [
    "ColumnMapping",
    "Event",
    "EventStore",
    "KnelpuntError",
    "NewSource",
    "RecordResult",
    "Source",
    "append_events",
    "export_log",
    "ingest_log",
    "list_sources",
    "open_store",
    "purge_source",
    "read_events",
    "read_rejects",
    "suggest_mapping",
]
