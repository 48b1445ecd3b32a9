"""The definitions of :mod:`knelpunt.mining.maps`, written once more in SQL for DuckDB.

The fast path in ``maps`` answers a click in the dashboard; this relational
path is the portable definition (the same SQL shape runs on PostgreSQL or
Spark for logs beyond one machine) and a check: a test holds both to the
same numbers. Events are ordered within a case by time, then store position.
Durations are differences of ``clock_us``: the time itself, or with a
working calendar the working clock (see :mod:`knelpunt.worktime`).
"""

from __future__ import annotations

import contextlib

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from knelpunt.mining.maps import EDGE_COLUMNS, ProcessMap, case_frame, working_clock
from knelpunt.mining.projection import EventTable
from knelpunt.worktime import WorkCalendar

__all__ = ["discover_map_sql", "list_variants_sql", "summarise_cases_sql"]

_ORDER = "ORDER BY time_us, position"

_EDGES = f"""
WITH pairs AS (
    SELECT "case", activity AS src,
           lead(activity) OVER w AS dst,
           lead(clock_us) OVER w - clock_us AS duration_us
    FROM events
    WINDOW w AS (PARTITION BY "case" {_ORDER})
)
SELECT src, dst,
       count(*) AS count,
       count(DISTINCT "case") AS cases,
       avg(duration_us) / 1e6 AS mean_s,
       quantile_cont(duration_us, 0.5) / 1e6 AS median_s,
       quantile_cont(duration_us, 0.9) / 1e6 AS p90_s,
       min(duration_us) / 1e6 AS min_s,
       max(duration_us) / 1e6 AS max_s,
       sum(duration_us) / 1e6 AS total_s
FROM pairs WHERE dst IS NOT NULL
GROUP BY src, dst
"""

_ACTIVITIES = """
SELECT activity, count(*) AS count, count(DISTINCT "case") AS cases
FROM events GROUP BY activity
"""

_ENDS = """
SELECT arg_min(activity, (time_us, position)) AS first,
       arg_max(activity, (time_us, position)) AS last
FROM events GROUP BY "case"
"""

_CASES = f"""
WITH marked AS (
    SELECT *, lag(resource) OVER (PARTITION BY "case" {_ORDER}) AS previous
    FROM events
)
SELECT "case",
       count(*) AS events,
       count(DISTINCT activity) AS activities,
       count(DISTINCT resource) FILTER (WHERE resource >= 0) AS resources,
       count(*) FILTER (WHERE resource >= 0 AND previous >= 0 AND resource <> previous)
           AS handovers,
       min(time_us) AS start_us,
       max(time_us) AS end_us,
       max(clock_us) - min(clock_us) AS clock_us,
       list(activity {_ORDER}) AS trace
FROM marked GROUP BY "case"
"""

_VARIANTS = """
WITH per_variant AS (
    SELECT trace, count(*) AS cases, min("case") AS first_case,
           avg(duration_s) AS mean_s, median(duration_s) AS median_s,
           min(duration_s) AS min_s, max(duration_s) AS max_s
    FROM (SELECT "case", trace, clock_us / 1e6 AS duration_s FROM per_case)
    GROUP BY trace
)
SELECT row_number() OVER (ORDER BY cases DESC, first_case) AS variant, *
FROM per_variant
"""


def connect_quietly() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that draws no progress bar.

    DuckDB draws its bar on stdout, inside the CLI's ``--json`` output. In a
    Jupyter kernel without ipywidgets DuckDB refuses to change the setting at
    all (and has no bar to draw there), so that refusal is not an error.
    """
    connection = duckdb.connect()
    with contextlib.suppress(duckdb.InvalidInputException):
        connection.execute("SET enable_progress_bar = false")
    return connection


def _connect(table: EventTable, calendar: WorkCalendar | None = None) -> duckdb.DuckDBPyConnection:
    connection = connect_quietly()
    events = pa.table(
        {
            "case": table.case,
            "activity": table.activity,
            "resource": table.resource,
            "time_us": table.time_us,
            "clock_us": working_clock(table, calendar),
            "position": table.position,
        }
    )
    connection.register("events", events)
    return connection


def _query(connection: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    frame: pd.DataFrame = connection.execute(sql).df()
    return frame


def discover_map_sql(table: EventTable, *, calendar: WorkCalendar | None = None) -> ProcessMap:
    """:func:`~knelpunt.mining.maps.discover_map`, computed by DuckDB."""
    names = table.activities
    with _connect(table, calendar) as connection:
        edges = _query(connection, _EDGES)
        activities = _query(connection, _ACTIVITIES)
        ends = _query(connection, _ENDS)
    edges.insert(0, "source", names[edges.pop("src").to_numpy(dtype=np.int64)])
    edges.insert(1, "target", names[edges.pop("dst").to_numpy(dtype=np.int64)])
    edges = edges[list(EDGE_COLUMNS)].sort_values(
        ["count", "source", "target"], ascending=[False, True, True]
    )
    activities["activity"] = names[activities["activity"].to_numpy(dtype=np.int64)]
    activities = activities.sort_values(["count", "activity"], ascending=[False, True])
    return ProcessMap(
        edges=edges.reset_index(drop=True),
        activities=activities[["activity", "count", "cases"]].reset_index(drop=True),
        start_activities=_counted(names, ends["first"]),
        end_activities=_counted(names, ends["last"]),
        events=len(table),
        cases=len(ends),
        calendar=calendar,
    )


def _counted(names: np.ndarray, codes: pd.Series) -> dict[str, int]:
    counts = pd.Series(names[codes.to_numpy(dtype=np.int64)]).value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return {str(k): int(v) for k, v in ordered}


def _create_per_case(connection: duckdb.DuckDBPyConnection) -> None:
    """The per-case table both the case table and the variants start from."""
    connection.execute(f"CREATE TEMP TABLE per_case AS {_CASES}")


def summarise_cases_sql(table: EventTable, *, calendar: WorkCalendar | None = None) -> pd.DataFrame:
    """:func:`~knelpunt.mining.maps.summarise_cases`, computed by DuckDB."""
    with _connect(table, calendar) as connection:
        _create_per_case(connection)
        variants = _query(connection, _VARIANTS)[["variant", "trace"]]
        cases = _query(connection, 'SELECT * FROM per_case ORDER BY "case"')
    number = {tuple(t): int(v) for t, v in zip(variants["trace"], variants["variant"], strict=True)}
    codes = cases["case"].to_numpy(dtype=np.int64)
    return case_frame(
        cases,
        source_id=table.case_sources[codes],
        case_id=table.case_ids[codes],
        variant=np.array([number[tuple(t)] for t in cases["trace"]], dtype=np.int64),
        working=calendar is not None,
    )


def list_variants_sql(table: EventTable, *, calendar: WorkCalendar | None = None) -> pd.DataFrame:
    """:func:`~knelpunt.mining.maps.list_variants`, computed by DuckDB."""
    names = table.activities
    with _connect(table, calendar) as connection:
        _create_per_case(connection)
        variants = _query(connection, f"{_VARIANTS} ORDER BY variant")
    total = int(variants["cases"].sum()) if len(variants) else 0
    return pd.DataFrame(
        {
            "variant": variants["variant"].to_numpy(dtype=np.int64),
            "activities": [tuple(names[c] for c in trace) for trace in variants["trace"]],
            "cases": variants["cases"].to_numpy(dtype=np.int64),
            "share": variants["cases"].to_numpy(dtype=np.int64) / max(total, 1),
            "mean_s": variants["mean_s"].to_numpy(dtype=float),
            "median_s": variants["median_s"].to_numpy(dtype=float),
            "min_s": variants["min_s"].to_numpy(dtype=float),
            "max_s": variants["max_s"].to_numpy(dtype=float),
        }
    )
