"""Relational analytics written once (Ibis), run in-process on DuckDB or on Apache Spark.

Importing this package imports neither Ibis nor pyspark; :func:`compute_relational`
does, when called.
"""

from __future__ import annotations

from knelpunt.engine.compute import RelationalResult, compute_relational
from knelpunt.engine.results import export_relational, read_relational

__all__ = ["RelationalResult", "compute_relational", "export_relational", "read_relational"]
