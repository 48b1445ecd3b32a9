"""Ibis or hand-written SQL: the performance DFG written once as an Ibis expression.

Issue 3 asks for one definition of each result that a later issue can run on
Apache Spark, and to measure before choosing between Ibis (one expression,
compiled to DuckDB, PostgreSQL and PySpark) and the hand-written DuckDB SQL in
:mod:`knelpunt.mining.relational` (with sqlglot to transpile it). This module
holds the Ibis side of that measurement:

* :func:`dfg_edges` is the edge table of
  :func:`knelpunt.mining.relational.discover_map_sql` (src, dst, count, cases,
  mean_s, median_s, p90_s, min_s, max_s, total_s) as one Ibis expression over
  a table shaped as relational.py registers it (case, activity, time_us,
  position, clock_us);
* :func:`edges_duckdb` runs it on Ibis's DuckDB backend over the very Arrow
  table relational.py registers; :func:`edges_sql` runs any SQL text on such
  a connection, :func:`edges_postgres` on a PostgreSQL database and
  :func:`edges_spark` on a local Spark session (if pyspark is installed);
* :func:`compiled` is the expression compiled for DuckDB, PostgreSQL and
  PySpark (Spark SQL); ``python -m benchmarks.ibis_eval`` writes those texts,
  and sqlglot's transpilation of relational.py's hand-written queries, to
  ``benchmarks/ibis_sql/`` (``--check`` says whether the files are current).

Needs the ``bench`` extra (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

__all__ = [
    "DIALECTS",
    "EDGE_STATS",
    "compare_edges",
    "compiled",
    "dfg_edges",
    "edges_duckdb",
    "edges_postgres",
    "edges_spark",
    "edges_sql",
    "events_table",
    "transpiled",
]

SQL_DIR: Final = Path(__file__).resolve().parent / "ibis_sql"
# Ibis's compiler names: DuckDB, PostgreSQL and Spark SQL (PySpark's dialect).
DIALECTS: Final = ("duckdb", "postgres", "pyspark")
# The columns of the edge table, after src and dst.
EDGE_STATS: Final = (
    "count",
    "cases",
    "mean_s",
    "median_s",
    "p90_s",
    "min_s",
    "max_s",
    "total_s",
)
# The hand-written queries of relational.py, as sqlglot reads them (DuckDB).
HANDWRITTEN: Final = {
    "edges": "_EDGES",
    "ends": "_ENDS",
    "cases": "_CASES",
    "variants": "_VARIANTS",
}
TRANSPILE_TO: Final = ("postgres", "spark")


def events_table(name: str = "events") -> Any:
    """An unbound Ibis table with the columns and types relational.py registers."""
    import ibis

    return ibis.table(
        {
            "case": "int32",
            "activity": "int32",
            "time_us": "int64",
            "position": "int64",
            "clock_us": "int64",
        },
        name=name,
    )


def dfg_edges(events: Any) -> Any:
    """The performance DFG's edge table as one Ibis expression.

    An edge is a pair of consecutive events of one case (ordered by time, then
    store position); its duration is the difference of their ``clock_us``.
    Per (src, dst): count, distinct cases, and mean, median and 90th
    percentile (continuous: linear interpolation), minimum, maximum and total
    duration in seconds; exactly relational.py's ``_EDGES``.
    """
    import ibis

    w = ibis.window(group_by=events.case, order_by=[events.time_us, events.position])
    pairs = events.select(
        events.case,
        src=events.activity,
        dst=events.activity.lead().over(w),
        duration_us=events.clock_us.lead().over(w) - events.clock_us,
    )
    pairs = pairs.filter(pairs.dst.notnull())
    d = pairs.duration_us
    return pairs.group_by(["src", "dst"]).aggregate(
        count=pairs.count(),
        cases=pairs.case.nunique(),
        mean_s=d.mean() / 1e6,
        median_s=d.quantile(0.5) / 1e6,
        p90_s=d.quantile(0.9) / 1e6,
        min_s=d.min() / 1e6,
        max_s=d.max() / 1e6,
        total_s=d.sum() / 1e6,
    )


def _spark_options() -> None:
    """Ibis's PySpark compiler reads one option that the PySpark backend would register.

    Registering it here (NaN kept as NaN, the backend's default) lets the
    expression compile to Spark SQL without pyspark installed.
    """
    import ibis
    import ibis.config

    if ibis.options.pyspark is None:

        class _PySparkOptions(ibis.config.Config):
            treat_nan_as_null: bool = False

        ibis.options.pyspark = _PySparkOptions()


def compiled(dialect: str, expression: Any = None) -> str:
    """The expression (default: :func:`dfg_edges` of :func:`events_table`) in a dialect."""
    import ibis

    if dialect == "pyspark":
        _spark_options()
    expr = dfg_edges(events_table()) if expression is None else expression
    return str(ibis.to_sql(expr, dialect=dialect))


def transpiled(query: str, dialect: str) -> str:
    """relational.py's hand-written DuckDB query ``query`` (a key of HANDWRITTEN), by sqlglot."""
    import sqlglot

    from knelpunt.mining import relational

    source = getattr(relational, HANDWRITTEN[query])
    if query == "variants":
        # relational.py first creates per_case (the case query) as a table; one statement here.
        source = source.replace(
            "WITH per_variant AS", f"WITH per_case AS ({relational._CASES}),\nper_variant AS", 1
        )
    return str(sqlglot.transpile(source, read="duckdb", write=dialect, pretty=True)[0])


def _connection(table: Any) -> Any:
    """A DuckDB connection with the table registered as relational.py registers it.

    It is relational.py's own ``_connect``, so both sides read the same Arrow table.
    """
    from knelpunt.mining import relational

    return relational._connect(table)


def _named(edges: pd.DataFrame, names: np.ndarray) -> pd.DataFrame:
    """Codes to activity names; sorted as ``discover_map_sql`` sorts its edges."""
    frame = edges.copy()
    frame.insert(0, "source", names[frame.pop("src").to_numpy(dtype=np.int64)])
    frame.insert(1, "target", names[frame.pop("dst").to_numpy(dtype=np.int64)])
    frame = frame[["source", "target", *EDGE_STATS]].sort_values(
        ["count", "source", "target"], ascending=[False, True, True]
    )
    return frame.reset_index(drop=True)


def edges_duckdb(table: Any) -> pd.DataFrame:
    """:func:`dfg_edges` on Ibis's DuckDB backend over relational.py's Arrow table."""
    import ibis

    with _connection(table) as connection:
        backend = ibis.duckdb.from_connection(connection)
        edges = backend.to_pandas(dfg_edges(backend.table("events")))
    return _named(edges, table.activities)


def edges_sql(table: Any, sql: str) -> pd.DataFrame:
    """A SQL text over the same DuckDB connection (e.g. the compiled DuckDB SQL)."""
    with _connection(table) as connection:
        edges: pd.DataFrame = connection.execute(sql).df()
    return _named(edges, table.activities)


def _columns(table: Any) -> dict[str, np.ndarray]:
    from knelpunt.mining.maps import working_clock

    return {
        "case": table.case,
        "activity": table.activity,
        "resource": table.resource,  # for the case query of relational.py
        "time_us": table.time_us,
        "position": table.position,
        "clock_us": working_clock(table, None),
    }


def load_postgres(table: Any, url: str) -> None:
    """The events into a new PostgreSQL table ``events`` (COPY), with the same columns."""
    import psycopg

    frame = pd.DataFrame(_columns(table))
    text = io.StringIO()
    frame.to_csv(text, index=False, header=False)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            'CREATE TABLE events ("case" integer, activity integer, resource integer, '
            "time_us bigint, position bigint, clock_us bigint)"
        )
        with connection.cursor().copy("COPY events FROM STDIN (FORMAT csv)") as copy:
            copy.write(text.getvalue())
        connection.execute("ANALYZE events")


def edges_postgres(table: Any, url: str, sql: str) -> pd.DataFrame:
    """A SQL text run on the PostgreSQL database ``url`` (see :func:`load_postgres`)."""
    import psycopg

    with psycopg.connect(url) as connection:
        cursor = connection.execute(sql)
        names = [c.name for c in cursor.description or ()]
        edges = pd.DataFrame(cursor.fetchall(), columns=names)
    for column in ("mean_s", "median_s", "p90_s", "min_s", "max_s", "total_s"):
        edges[column] = edges[column].astype(float)
    return _named(edges, table.activities)


def spark_session() -> Any:
    """A local Spark session on both cores, without its web UI."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("knelpunt-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def load_spark(session: Any, table: Any, folder: Path) -> None:
    """The events as a Parquet file Spark reads, registered as the view ``events``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "events.parquet"
    pq.write_table(pa.table(_columns(table)), path)
    events = session.read.parquet(str(path))
    events.cache().count()
    events.createOrReplaceTempView("events")


def edges_spark(session: Any, table: Any, sql: str) -> pd.DataFrame:
    """A SQL text run by Spark over the registered ``events`` view."""
    rows = session.sql(sql).collect()
    edges = pd.DataFrame([r.asDict() for r in rows])
    return _named(edges, table.activities)


def handwritten_rows(table: Any, query: str) -> pd.DataFrame:
    """relational.py's hand-written query ``query`` run on DuckDB as relational.py runs it."""
    from knelpunt.mining import relational

    with _connection(table) as connection:
        if query == "variants":
            connection.execute(f"CREATE TEMP TABLE per_case AS {relational._CASES}")
        rows: pd.DataFrame = connection.execute(getattr(relational, HANDWRITTEN[query])).df()
    return rows


def compare_rows(query: str, mine: pd.DataFrame, theirs: pd.DataFrame) -> str:
    """Whether another engine's rows of the ends, cases or variants query hold what DuckDB's
    do: '' if so, else what differs. Traces are compared as sequences (order matters)."""

    def traces(frame: pd.DataFrame) -> list[tuple[int, ...]]:
        return [tuple(int(a) for a in t) for t in frame["trace"]]

    if query == "ends":
        a = Counter(zip(mine["first"].astype(int), mine["last"].astype(int), strict=True))
        b = Counter(zip(theirs["first"].astype(int), theirs["last"].astype(int), strict=True))
        return "" if a == b else "other start/end activities"
    if query == "cases":
        a = dict(zip(mine["case"].astype(int), traces(mine), strict=True))
        b = dict(zip(theirs["case"].astype(int), traces(theirs), strict=True))
        off = sum(1 for case, trace in a.items() if b.get(case) != trace)
        return f"{off:,} of {len(a):,} cases have another trace (event order)" if off else ""
    a = Counter(dict(zip(traces(mine), mine["cases"].astype(int), strict=True)))
    b = Counter(dict(zip(traces(theirs), theirs["cases"].astype(int), strict=True)))
    off = sum(1 for trace in a.keys() | b.keys() if a[trace] != b[trace])
    return f"{off:,} of {len(a):,} variants differ in trace or cases" if off else ""


def compare_edges(mine: pd.DataFrame, theirs: pd.DataFrame, *, rtol: float = 1e-9) -> str:
    """Whether two edge tables hold the same numbers: '' if so, else what differs."""
    key = ["source", "target"]
    left, right = mine.set_index(key).sort_index(), theirs.set_index(key).sort_index()
    if not left.index.equals(right.index):
        return f"edges differ: {len(left)} against {len(right)}"
    for column in EDGE_STATS:
        if column not in right.columns:
            continue
        a = left[column].to_numpy(dtype=float)
        b = right[column].to_numpy(dtype=float)
        off = ~np.isclose(a, b, rtol=rtol, atol=1e-6)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            return f"{column} of {int(off.sum())} edges (e.g. {left.index[i]}: {a[i]} vs {b[i]})"
    return ""


def max_relative_difference(mine: pd.DataFrame, theirs: pd.DataFrame) -> float:
    """The largest relative difference of any statistic of any edge (same edges assumed)."""
    key = ["source", "target"]
    left, right = mine.set_index(key).sort_index(), theirs.set_index(key).sort_index()
    worst = 0.0
    for column in EDGE_STATS:
        if column in right.columns:
            a = left[column].to_numpy(dtype=float)
            b = right[column].to_numpy(dtype=float)
            scale = np.maximum(np.abs(a), np.abs(b))
            with np.errstate(invalid="ignore", divide="ignore"):
                rel = np.where(scale > 0, np.abs(a - b) / scale, 0.0)
            worst = max(worst, float(rel.max(initial=0.0)))
    return worst if math.isfinite(worst) else math.inf


def _files() -> dict[Path, str]:
    """benchmarks/ibis_sql/: the compiled expression and sqlglot's transpilations."""
    files = {SQL_DIR / f"dfg_edges.ibis.{d}.sql": compiled(d) + "\n" for d in DIALECTS}
    for query in HANDWRITTEN:
        for dialect in TRANSPILE_TO:
            path = SQL_DIR / f"{query}.handwritten-sqlglot.{dialect}.sql"
            files[path] = transpiled(query, dialect) + "\n"
    return files


def stale_files() -> list[str]:
    """The files in benchmarks/ibis_sql/ that differ from what is compiled now."""
    return [
        path.name
        for path, text in _files().items()
        if not path.exists() or path.read_text() != text
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ibis_eval",
        description="Write (or check) the compiled SQL texts in benchmarks/ibis_sql/.",
    )
    parser.add_argument("--check", action="store_true", help="only say whether they are current")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        print("stale: " + ", ".join(stale) if stale else "benchmarks/ibis_sql/ is current")
        return 1 if stale else 0
    SQL_DIR.mkdir(exist_ok=True)
    for path, text in _files().items():
        path.write_text(text)
        print(path.relative_to(SQL_DIR.parent.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main())
