"""Files and DataFrames in, canonical events out: the I/O shell around the event store."""

from __future__ import annotations

from knelpunt.ingest.export import export_log
from knelpunt.ingest.mapping import ColumnMapping, MappingSuggestion, suggest_mapping
from knelpunt.ingest.pipeline import ingest_log

__all__ = ["ColumnMapping", "MappingSuggestion", "export_log", "ingest_log", "suggest_mapping"]
