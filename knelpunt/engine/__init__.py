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
from knelpunt.engine.filters import EventFilter
from knelpunt.engine.results import export_relational, read_relational

__all__ = [
    "EventFilter",
    "InstanceResult",
    "RelationalResult",
    "compute_instances",
    "compute_relational",
    "export_relational",
    "read_relational",
]
