"""Relational analytics written once (Ibis), run in-process on DuckDB or on Apache Spark.

Importing this package imports neither Ibis nor pyspark; :func:`compute_relational`
and :func:`compute_instances` do, when called.
"""

from __future__ import annotations

from knelpunt.engine.compute import (
    InstanceResult,
    RelationalResult,
    compute_instances,
    compute_relational,
)
from knelpunt.engine.criteria import CriteriaScores, compute_criteria
from knelpunt.engine.filters import EventFilter
from knelpunt.engine.results import export_relational, find_results, read_relational
from knelpunt.engine.waiting import WaitingResult, compute_waiting

__all__ = [
    "CriteriaScores",
    "EventFilter",
    "InstanceResult",
    "RelationalResult",
    "WaitingResult",
    "compute_criteria",
    "compute_instances",
    "compute_relational",
    "compute_waiting",
    "export_relational",
    "find_results",
    "read_relational",
]
