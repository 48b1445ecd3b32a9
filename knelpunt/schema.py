"""Canonical column names, shared by ingestion, the store and the analyses.

Column keywords follow pm4py's names so that notebook users can move between
the two libraries: a DataFrame read from the store can be handed to pm4py
as it is.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACTIVITY_KEY",
    "CASE_ID_KEY",
    "CASE_PREFIX",
    "DEFAULT_TIMEZONE",
    "LIFECYCLE_KEY",
    "POSITION_KEY",
    "RESOURCE_KEY",
    "ROLE_KEY",
    "SOURCE_KEY",
    "START_TIMESTAMP_KEY",
    "TEAM_KEY",
    "TIMESTAMP_KEY",
]

CASE_ID_KEY: Final = "case:concept:name"
ACTIVITY_KEY: Final = "concept:name"
TIMESTAMP_KEY: Final = "time:timestamp"
START_TIMESTAMP_KEY: Final = "start_timestamp"
RESOURCE_KEY: Final = "org:resource"
ROLE_KEY: Final = "org:role"
TEAM_KEY: Final = "org:group"
LIFECYCLE_KEY: Final = "lifecycle:transition"
CASE_PREFIX: Final = "case:"

# Added to DataFrames read back from the store, so every row stays traceable.
POSITION_KEY: Final = "knelpunt:position"
SOURCE_KEY: Final = "knelpunt:source"

# Naive timestamps in uploads are read in this zone unless told otherwise.
DEFAULT_TIMEZONE: Final = "Europe/Amsterdam"
