"""One measured operation, run in a fresh interpreter by :mod:`benchmarks.run`.

``python -m benchmarks.operations OPERATION INPUT RESULT_JSON [--store URL] [--extra PATH]``

The libraries an operation needs are imported first (and whatever it
prepares outside the clock is done); then the clock runs around the
operation alone, and the peak resident set size of this process
(``ru_maxrss``, which includes the imports) plus that of its largest helper
process is read when it has finished. Where Linux allows it the peak is
also reset (``/proc/self/clear_refs``) just before the clock starts, so the
peak while the clock ran is known on its own (``VmHWM``).
After the clock an operation may add a ``check`` (its numbers in a form
:mod:`benchmarks.run` can hold against pm4py's); that is not timed.
The result goes to ``RESULT_JSON``, not stdout: pm4py prints a banner.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from benchmarks.capture_load import CAPTURE_OPERATIONS
from benchmarks.simulation import SIMULATION_OPERATIONS

__all__ = ["OPERATIONS"]

Operation = Callable[[str, str | None, str | None], Callable[[], dict[str, Any]]]


def _rss_kb() -> int:
    """Peak RSS of this process plus that of its largest finished helper process.

    knelpunt parses large XES files in a helper process; counting its peak
    on top of ours is an upper bound on what both held at once.
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return own + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def _status_kb(field: str) -> int | None:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status in KiB, None where there is none."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def _reset_peak() -> bool:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS; False if not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _rustxes(path: str, _store: str | None, _extra: str | None) -> Callable[[], dict[str, Any]]:
    import rustxes

    def run() -> dict[str, Any]:
        frame, _meta = rustxes.import_xes(path)
        return {"events": frame.height}

    return run


def _knelpunt(path: str, store_url: str | None, _extra: str | None) -> Callable[[], dict[str, Any]]:
    # What ingest_log imports lazily is imported here, outside the clock.
    import polars  # noqa: F401
    import rustxes  # noqa: F401

    import knelpunt as kp

    if store_url is None:
        raise SystemExit("knelpunt operations need --store")
    store = kp.open_store(store_url)

    def run() -> dict[str, Any]:
        try:
            result = kp.ingest_log(store, path, mode="strict", duplicates="keep")
        finally:
            store.close()
        if result.already_recorded:
            raise SystemExit(f"{store_url} already held {path}: the store was not fresh")
        return {
            "events": result.added,
            "rejected": result.rejected,
            "library_seconds": result.seconds,
            "module": kp.__file__,
        }

    return run


def _pm4py_xes(path: str, _store: str | None, _extra: str | None) -> Callable[[], dict[str, Any]]:
    import pm4py

    def run() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pm4py.read_xes(path, variant="iterparse", return_legacy_log_object=False)
        return {"events": len(frame)}

    return run


def _pm4py_csv(path: str, _store: str | None, _extra: str | None) -> Callable[[], dict[str, Any]]:
    import pandas as pd
    import pm4py

    def run() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(path, sep=";", encoding="cp1252")
            # pm4py 2.7 names the format parameter ``timest_format``.
            frame = pm4py.format_dataframe(
                frame,
                case_id="Zaaknummer",
                activity_key="Activiteit",
                timestamp_key="Datum",
                timest_format="%d-%m-%Y %H:%M:%S",
            )
        return {"events": len(frame)}

    return run


def _projection(path: str, store_url: str | None) -> tuple[Any, float]:
    """Record the log in a new store and build its projection; the seconds the build took."""
    import knelpunt as kp

    if store_url is None:
        raise SystemExit("knelpunt operations need --store")
    with kp.open_store(store_url) as store:
        kp.ingest_log(store, path, duplicates="keep")
        started = time.perf_counter()
        table = kp.load_events(store)
    return table, time.perf_counter() - started


def _map_run(table: Any, built: float, *, digits: int) -> Callable[[], dict[str, Any]]:
    """On the clock: map, variants and case table of a projection built beforehand."""
    import knelpunt as kp

    def run() -> dict[str, Any]:
        found = kp.discover_map(table)
        variants = kp.list_variants(table)
        cases = kp.summarise_cases(table)
        return {
            "events": found.events,
            "edges": len(found.edges),
            "variants": len(variants),
            "cases": len(cases),
            "note": f"projection built from the store in {built:.{digits}f} s (outside the clock)",
            "module": kp.__file__,
            "after": lambda: {"check": _knelpunt_check(found, variants, cases)},
        }

    return run


def _knelpunt_map(
    path: str, store_url: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: record the log and build the projection. On it: map, variants, cases."""

    table, built = _projection(path, store_url)

    return _map_run(table, built, digits=2)


def _pm4py_log(path: str, *, legacy: bool) -> Any:
    import pm4py

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm4py.read_xes(path, variant="iterparse", return_legacy_log_object=legacy)


def _pm4py_map(path: str, _store: str | None, _extra: str | None) -> Callable[[], dict[str, Any]]:
    """Outside the clock: read the log. On it: performance DFG, variants, case statistics."""
    import pm4py
    from pm4py.statistics.traces.generic.pandas import case_statistics

    frame = _pm4py_log(path, legacy=False)

    def run() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dfg, starts, ends = pm4py.discover_performance_dfg(frame, perf_aggregation_key="all")
            variants = pm4py.get_variants(frame)
            cases = case_statistics.get_cases_description(frame)
        return {
            "events": len(frame),
            "edges": len(dfg),
            "variants": len(variants),
            "cases": len(cases),
            "after": lambda: {"check": _pm4py_check(dfg, starts, ends, variants, cases)},
        }

    return run


def _knelpunt_instances(
    path: str, store_url: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: record the log, build the projection. On it: activity instances
    with waiting and processing in working time, and the per-activity summary."""
    import knelpunt as kp

    table, _ = _projection(path, store_url)
    office = kp.WorkCalendar.office_hours()

    def run() -> dict[str, Any]:
        found = kp.pair_instances(table, calendar=office)
        summary = kp.summarise_activities(found)
        return {
            "events": len(table),
            "instances": len(found.instances),
            "activities": len(summary),
            "module": kp.__file__,
        }

    return run


def _pm4py_instances(
    path: str, _store: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: read the log. On it: pair lifecycle events (``to_interval``) and
    compute waiting and processing in business hours (``assign_lead_cycle_time``)."""
    from pm4py.objects.log.util import interval_lifecycle

    log = _pm4py_log(path, legacy=True)

    def run() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            timed = interval_lifecycle.assign_lead_cycle_time(log)
        return {"events": sum(len(t) for t in log), "instances": sum(len(t) for t in timed)}

    return run


# -- process maps at scale: Parquet logs, a stored log, end to end, appending ----------------


def _need(value: str | None, what: str) -> str:
    if value is None:
        raise SystemExit(f"this operation needs {what}")
    return value


def _digest(lines: Iterable[str]) -> str:
    """A short SHA-256 of the lines, sorted: equal for equal sets of lines."""
    digest = hashlib.sha256()
    for line in sorted(lines):
        digest.update(line.encode() + b"\n")
    return digest.hexdigest()[:16]


def _knelpunt_check(found: Any, variants: Any = None, cases: Any = None) -> dict[str, Any]:
    """knelpunt's map (and variants and case table) in the form pm4py's are put in."""
    stats = ["mean_s", "median_s", "min_s", "max_s", "total_s"]
    edges = {
        f"{source} -> {target}": [float(v) for v in values]
        for source, target, *values in found.edges[["source", "target", *stats]].itertuples(
            index=False
        )
    }
    check: dict[str, Any] = {
        "edges": edges,
        "start": found.start_activities,
        "end": found.end_activities,
    }
    if variants is not None:
        check["variants"] = len(variants)
        check["variants_digest"] = _digest(
            "\x1f".join(map(str, activities)) + f"\t{count}"
            for activities, count in zip(variants["activities"], variants["cases"], strict=True)
        )
    if cases is not None:
        check["cases"] = len(cases)
        check["case_seconds"] = float(cases["duration_s"].sum())
    return check


def _pm4py_check(
    dfg: dict[Any, Any],
    starts: dict[str, int],
    ends: dict[str, int],
    variants: dict[Any, Any] | None = None,
    cases: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """pm4py's performance DFG (and variants and case statistics) for the comparison."""
    edges = {
        f"{a} -> {b}": [
            float(v["mean"]),
            float(v["median"]),
            float(v["min"]),
            float(v["max"]),
            float(v["sum"]),
        ]
        for (a, b), v in dfg.items()
    }
    check: dict[str, Any] = {
        "edges": edges,
        "start": {str(k): int(v) for k, v in starts.items()},
        "end": {str(k): int(v) for k, v in ends.items()},
    }
    if variants is not None:
        check["variants"] = len(variants)
        check["variants_digest"] = _digest(
            "\x1f".join(map(str, variant)) + f"\t{count if isinstance(count, int) else len(count)}"
            for variant, count in variants.items()
        )
    if cases is not None:
        check["cases"] = len(cases)
        check["case_seconds"] = float(sum(c["caseDuration"] for c in cases.values()))
    return check


def _second_call(call: Callable[[], Any]) -> str:
    """The same call once more, after the clock: how long it takes when warm."""
    started = time.perf_counter()
    call()
    seconds = time.perf_counter() - started
    return f"a second call in the same process (after the clock): {seconds:.2f} s"


def _warm(call: Callable[[], Any], times: int = 3) -> float:
    """The median seconds of ``times`` more calls in this process (after the clock)."""
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def _stored_projection(store_url: str) -> tuple[Any, float]:
    """The projection of a store that already holds the log; the seconds it took."""
    import knelpunt as kp

    started = time.perf_counter()
    with kp.open_store(store_url) as store:
        table = kp.load_events(store)
    return table, time.perf_counter() - started


def _knelpunt_map_stored(
    _path: str, store_url: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: the projection of the stored log. On it: map, variants, cases."""

    table, built = _stored_projection(_need(store_url, "--store"))

    return _map_run(table, built, digits=1)


def _knelpunt_dfg_stored(
    _path: str, store_url: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: the projection of the stored log. On it: ``discover_map`` alone."""
    import knelpunt as kp

    table, built = _stored_projection(_need(store_url, "--store"))

    note = f"projection built from the store in {built:.1f} s (outside the clock)"

    def again() -> dict[str, Any]:
        return {"note": f"{note}; {_second_call(lambda: kp.discover_map(table))}"}

    def run() -> dict[str, Any]:
        found = kp.discover_map(table)
        return {
            "events": found.events,
            "edges": len(found.edges),
            "note": note,
            "module": kp.__file__,
            "after": lambda: {"check": _knelpunt_check(found), **again()},
        }

    return run


def _pm4py_parquet(path: str) -> tuple[Any, float]:
    """``pd.read_parquet`` + ``pm4py.format_dataframe`` (sorts, adds pm4py's index columns)."""
    import pandas as pd
    import pm4py

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = pm4py.format_dataframe(pd.read_parquet(path))
    return frame, time.perf_counter() - started


def _pm4py_map_parquet(
    path: str, _store: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: read and format the Parquet log. On it: DFG, variants, cases."""
    import pm4py
    from pm4py.statistics.traces.generic.pandas import case_statistics

    frame, read = _pm4py_parquet(path)

    def run() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dfg, starts, ends = pm4py.discover_performance_dfg(frame, perf_aggregation_key="all")
            variants = pm4py.get_variants(frame)
            cases = case_statistics.get_cases_description(frame)
        return {
            "events": len(frame),
            "edges": len(dfg),
            "variants": len(variants),
            "cases": len(cases),
            "note": f"read + format_dataframe in {read:.1f} s (outside the clock)",
            "after": lambda: {"check": _pm4py_check(dfg, starts, ends, variants, cases)},
        }

    return run


def _pm4py_dfg_parquet(
    path: str, _store: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: read and format the Parquet log. On it: the performance DFG alone."""
    import pm4py

    frame, read = _pm4py_parquet(path)

    note = f"read + format_dataframe in {read:.1f} s (outside the clock)"

    def discover() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pm4py.discover_performance_dfg(frame, perf_aggregation_key="all")

    def run() -> dict[str, Any]:
        dfg, starts, ends = discover()
        return {
            "events": len(frame),
            "edges": len(dfg),
            "note": note,
            "after": lambda: {
                "check": _pm4py_check(dfg, starts, ends),
                "note": f"{note}; {_second_call(discover)}",
            },
        }

    return run


def _knelpunt_end_to_end(
    path: str, store_url: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """On the clock: record the log in a new store, build the projection, map, variants, cases."""
    import polars  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import knelpunt as kp

    url = _need(store_url, "--store")

    def run() -> dict[str, Any]:
        started = time.perf_counter()
        with kp.open_store(url) as store:
            result = kp.ingest_log(store, path, mode="strict", duplicates="keep")
            recorded = time.perf_counter()
            table = kp.load_events(store)
        built = time.perf_counter()
        found = kp.discover_map(table)
        variants = kp.list_variants(table)
        cases = kp.summarise_cases(table)
        done = time.perf_counter()
        return {
            "events": result.added,
            "edges": len(found.edges),
            "variants": len(variants),
            "cases": len(cases),
            "note": f"recording {recorded - started:.1f} s, projection {built - recorded:.1f} s, "
            f"map + variants + cases {done - built:.1f} s",
            "module": kp.__file__,
            "after": lambda: {"check": _knelpunt_check(found, variants, cases)},
        }

    return run


def _cache_folder(store_url: str) -> Path:
    return Path(f"{store_url}.projections")


def _knelpunt_append(
    _path: str, store_url: str | None, extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: the projection of a copy of the stored log, built and cached.
    On the clock: record the extra log (new cases) and catch the cached projection up."""
    import polars  # noqa: F401

    import knelpunt as kp

    url, more = _need(store_url, "--store"), _need(extra, "--extra")
    cache = _cache_folder(url)
    started = time.perf_counter()
    with kp.open_store(url) as store:
        before = len(kp.load_events(store, cache=cache))
    built = time.perf_counter() - started

    def run() -> dict[str, Any]:
        started = time.perf_counter()
        with kp.open_store(url) as store:
            result = kp.ingest_log(store, more, mode="strict", duplicates="keep")
            recorded = time.perf_counter()
            table = kp.load_events(store, cache=cache)
        done = time.perf_counter()
        if len(table) != before + result.added:
            raise SystemExit(f"caught up to {len(table):,} events, not {before + result.added:,}")
        return {
            "events": result.added,
            "total_events": len(table),
            "note": f"recording the new events {recorded - started:.2f} s, catching up the cached "
            f"projection of {before:,} events {done - recorded:.2f} s (it was built and cached "
            f"in {built:.1f} s outside the clock)",
            "module": kp.__file__,
        }

    return run


def _knelpunt_rebuild(
    path: str, store_url: str | None, extra: str | None
) -> Callable[[], dict[str, Any]]:
    """On the clock: record the log and the extra log in a new store, build and cache the
    projection from scratch (what appending is compared with)."""
    import polars  # noqa: F401

    import knelpunt as kp

    url, more = _need(store_url, "--store"), _need(extra, "--extra")
    cache = _cache_folder(url)

    def run() -> dict[str, Any]:
        started = time.perf_counter()
        with kp.open_store(url) as store:
            added = 0
            for log in (path, more):
                added += kp.ingest_log(store, log, mode="strict", duplicates="keep").added
            recorded = time.perf_counter()
            table = kp.load_events(store, cache=cache)
        done = time.perf_counter()
        return {
            "events": added,
            "total_events": len(table),
            "note": f"recording {recorded - started:.1f} s, projection built and cached "
            f"{done - recorded:.1f} s",
            "module": kp.__file__,
        }

    return run


# -- Ibis or hand-written SQL: the performance DFG on DuckDB, PostgreSQL and Spark ---------


def _edges_check(edges: Any) -> dict[str, Any]:
    """An edge table (source, target and the statistics) in the form the report reads."""
    from benchmarks.ibis_eval import EDGE_STATS

    return {
        "edges": {
            f"{row[0]} -> {row[1]}": [float(v) for v in row[2:]]
            for row in edges[["source", "target", *EDGE_STATS]].itertuples(index=False)
        }
    }


def _same_as(found: Any, table: Any, *, sql: bool = True, fast: bool = True) -> str:
    """Whether an edge table equals discover_map_sql's and discover_map's (after the clock)."""
    import knelpunt as kp
    from benchmarks.ibis_eval import compare_edges, max_relative_difference
    from knelpunt.mining import relational

    said = []
    for name, wanted, call in (
        ("discover_map_sql", sql, relational.discover_map_sql),
        ("discover_map", fast, kp.discover_map),
    ):
        if not wanted:
            continue
        theirs = call(table).edges
        differ = compare_edges(found, theirs)
        said.append(
            f"{name}: differ, {differ}"
            if differ
            else f"{name}: same {len(theirs)} edges × 8 statistics "
            f"(largest relative difference {max_relative_difference(found, theirs):.1e})"
        )
    return "same numbers as " + "; ".join(said) if said else ""


def _knelpunt_dfg_sql_stored(
    _path: str, store_url: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: the stored log's projection. On it: ``discover_map_sql`` (DuckDB)."""
    import duckdb  # noqa: F401

    from knelpunt.mining import relational

    table, built = _stored_projection(_need(store_url, "--store"))
    note = f"projection built from the store in {built:.1f} s (outside the clock)"

    def edges_alone() -> float:
        """The hand-written edge query alone, as the Ibis case runs it (after the clock)."""
        from benchmarks.ibis_eval import edges_sql

        return _warm(lambda: edges_sql(table, relational._EDGES))

    def run() -> dict[str, Any]:
        found = relational.discover_map_sql(table)
        return {
            "events": found.events,
            "edges": len(found.edges),
            "note": note,
            "module": relational.__file__,
            "after": lambda: _after(found),
        }

    def _after(found: Any) -> dict[str, Any]:
        same = _same_as(found.edges, table, sql=False)
        warm = {"map": _warm(lambda: relational.discover_map_sql(table)), "edges": edges_alone()}
        return {
            "check": {**_knelpunt_check(found), "same": same, "warm_s": warm},
            "note": f"{note}; warm, after the clock (median of 3): `discover_map_sql` "
            f"{warm['map']:.2f} s, its edge query alone (`_EDGES`) {warm['edges']:.2f} s; {same}",
        }

    return run


def _ibis_dfg_stored(
    _path: str, store_url: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: the stored log's projection. On it: the Ibis edge expression,
    built, compiled and run on DuckDB over relational.py's Arrow table."""
    import ibis
    import ibis.backends.duckdb  # noqa: F401

    import knelpunt as kp
    from benchmarks.ibis_eval import compiled, edges_duckdb, edges_sql
    from knelpunt.mining import relational

    table, built = _stored_projection(_need(store_url, "--store"))
    note = f"projection built from the store in {built:.1f} s (outside the clock)"

    def again() -> dict[str, float]:
        """Warm, paired: the hand-written edge query, the Ibis call and Ibis's compiled SQL
        as plain SQL, taken in turns (the order rotating), medians of each."""
        sql = compiled("duckdb")
        calls: dict[str, Callable[[], Any]] = {
            "hand_edges": lambda: edges_sql(table, relational._EDGES),
            "ibis": lambda: edges_duckdb(table),
            "compiled_sql": lambda: edges_sql(table, sql),
        }
        names = list(calls)
        seconds: dict[str, list[float]] = {name: [] for name in names}
        for turn in range(5 if len(table) <= 5_000_000 else 3):
            for name in names[turn % 3 :] + names[: turn % 3]:
                started = time.perf_counter()
                calls[name]()
                seconds[name].append(time.perf_counter() - started)
        return {name: statistics.median(found) for name, found in seconds.items()}

    def run() -> dict[str, Any]:
        found = edges_duckdb(table)
        return {
            "events": len(table),
            "edges": len(found),
            "note": note,
            "module": kp.__file__,
            "after": lambda: _after(found),
        }

    def _after(found: Any) -> dict[str, Any]:
        same = _same_as(found, table)
        warm = again()
        return {
            "check": {**_edges_check(found), "same": same, "warm_s": warm},
            "note": f"{note}; warm, after the clock, in turns (medians): the hand-written "
            f"`_EDGES` {warm['hand_edges']:.2f} s, the same Ibis call {warm['ibis']:.2f} s, "
            f"Ibis's compiled DuckDB SQL as plain SQL {warm['compiled_sql']:.2f} s; {same}",
        }

    return run


def _ibis_compile(
    _path: str, _store: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """On the clock: build the Ibis expression and compile it for DuckDB, PostgreSQL, Spark."""
    import ibis  # noqa: F401
    import sqlglot  # noqa: F401

    from benchmarks.ibis_eval import DIALECTS, compiled, stale_files

    def run() -> dict[str, Any]:
        seconds = {}
        for dialect in DIALECTS:
            started = time.perf_counter()
            compiled(dialect)
            seconds[dialect] = time.perf_counter() - started

        def after() -> dict[str, Any]:
            warm = {}
            for dialect in DIALECTS:
                started = time.perf_counter()
                compiled(dialect)
                warm[dialect] = time.perf_counter() - started
            stale = stale_files()
            return {
                "check": {
                    "first_ms": {d: 1000 * t for d, t in seconds.items()},
                    "warm_ms": {d: 1000 * t for d, t in warm.items()},
                    "stale": stale,
                },
                "note": "first compile in a fresh process: "
                + ", ".join(f"{d} {1000 * s:.0f} ms" for d, s in seconds.items())
                + "; again (warm): "
                + ", ".join(f"{d} {1000 * s:.0f} ms" for d, s in warm.items())
                + (
                    "; benchmarks/ibis_sql/ holds these texts"
                    if not stale
                    else f"; benchmarks/ibis_sql/ is stale: {', '.join(stale)}"
                ),
            }

        return {"events": 0, "after": after}

    return run


def _transpiled_runs(
    run_sql: Callable[[str], Any], dialect: str, table: Any
) -> tuple[str, dict[str, str]]:
    """sqlglot's transpilation of relational.py's hand-written queries, run on another engine
    and held against DuckDB's rows of the original (after the clock)."""
    from benchmarks.ibis_eval import (
        HANDWRITTEN,
        compare_edges,
        compare_rows,
        handwritten_rows,
        transpiled,
    )
    from knelpunt.mining import relational

    said: dict[str, str] = {}
    for query in HANDWRITTEN:
        try:
            result = run_sql(transpiled(query, dialect))
        except Exception as error:  # the engine's own error, reported as found
            first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            said[query] = f"fails ({type(error).__name__}: {first[:140]})"
            continue
        if query == "edges":
            differ = compare_edges(result, relational.discover_map_sql(table).edges)
        else:
            differ = compare_rows(query, handwritten_rows(table, query), result)
        said[query] = "runs, but " + differ if differ else "same result"
    text = "; ".join(f"{query}: {outcome}" for query, outcome in said.items())
    return f"relational.py's queries transpiled by sqlglot to {dialect}: {text}", said


def _ibis_dfg_postgres(
    path: str, store_url: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: record the log in memory, build the projection, COPY its columns
    into a new PostgreSQL database. On the clock: Ibis's compiled PostgreSQL SQL."""
    import pandas as pd
    import psycopg

    from benchmarks.ibis_eval import _named, compiled, edges_postgres, load_postgres

    url = _need(store_url, "--store")
    table, _ = _projection(path, ":memory:")
    started = time.perf_counter()
    load_postgres(table, url)
    with psycopg.connect(url) as connection:
        server = str((connection.execute("SHOW server_version").fetchone() or ("?",))[0])
    loaded = time.perf_counter() - started
    sql = compiled("postgres")
    note = f"COPY of the projection's columns into PostgreSQL {loaded:.1f} s (outside the clock)"

    def transpiled_runs() -> tuple[str, dict[str, str]]:
        def run_sql(text: str) -> Any:
            with psycopg.connect(url) as connection:
                cursor = connection.execute(text)
                names = [c.name for c in cursor.description or ()]
                frame = pd.DataFrame(cursor.fetchall(), columns=names)
            if "src" in frame.columns:
                for column in ("mean_s", "median_s", "p90_s", "min_s", "max_s", "total_s"):
                    frame[column] = frame[column].astype(float)
                return _named(frame, table.activities)
            return frame

        return _transpiled_runs(run_sql, "postgres", table)

    def run() -> dict[str, Any]:
        found = edges_postgres(table, url, sql)
        return {
            "events": len(table),
            "edges": len(found),
            "note": note,
            "after": lambda: _after(found),
        }

    def _after(found: Any) -> dict[str, Any]:
        same = _same_as(found, table)
        warm = _warm(lambda: edges_postgres(table, url, sql))
        said, transpiled = transpiled_runs()
        return {
            "check": {
                **_edges_check(found),
                "same": same,
                "warm_s": warm,
                "transpiled": transpiled,
                "engine": f"PostgreSQL {server}",
            },
            "note": f"{note}; warm, after the clock (median of 3): {warm:.2f} s; {same}; {said}",
        }

    return run


def _jvm_peak_mb(session: Any) -> str:
    """The Spark JVM's peak RSS (VmHWM), which the process's own peak does not include."""
    with contextlib.suppress(Exception):
        pid = session.sparkContext._gateway.proc.pid
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return f"the Spark JVM's own peak RSS {int(line.split()[1]) / 1024:,.0f} MB"
    return "the Spark JVM's peak RSS unknown"


def _ibis_dfg_spark(
    path: str, _store: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: record the log in memory, build the projection, start a local Spark
    session (2 cores), write the columns to Parquet and cache them in Spark. On the clock:
    Ibis's compiled Spark SQL, collected."""
    import shutil
    import tempfile

    import pandas as pd

    from benchmarks.ibis_eval import _named, compiled, edges_spark, load_spark, spark_session

    table, _ = _projection(path, ":memory:")
    folder = Path(tempfile.mkdtemp(prefix="knelpunt-bench-spark-"))
    started = time.perf_counter()
    session = spark_session()
    load_spark(session, table, folder)
    loaded = time.perf_counter() - started
    sql = compiled("pyspark")
    note = (
        f"Spark {session.version} local[2]: start + Parquet + cache {loaded:.1f} s (outside "
        "the clock); Peak RSS is the Python process only"
    )

    def after(found: Any) -> dict[str, Any]:
        def run_sql(text: str) -> Any:
            rows = session.sql(text).collect()
            frame = pd.DataFrame([r.asDict() for r in rows])
            return _named(frame, table.activities) if "src" in frame.columns else frame

        same = _same_as(found, table)
        warm = _warm(lambda: edges_spark(session, table, sql))
        jvm = _jvm_peak_mb(session)
        text, transpiled = _transpiled_runs(run_sql, "spark", table)
        said = f"{note}; {jvm}; warm, after the clock (median of 3): {warm:.2f} s; {same}; {text}"
        check = {
            **_edges_check(found),
            "same": same,
            "warm_s": warm,
            "transpiled": transpiled,
            "engine": f"Spark {session.version} local[2]",
            "jvm": jvm,
        }
        session.stop()
        shutil.rmtree(folder, ignore_errors=True)
        return {"check": check, "note": said}

    def run() -> dict[str, Any]:
        found = edges_spark(session, table, sql)
        return {
            "events": len(table),
            "edges": len(found),
            "note": note,
            "after": lambda: after(found),
        }

    return run


# -- discovery and conformance, side by side with pm4py ---------------------------------


def _quiet_pm4py() -> None:
    """No progress bars from pm4py (they would only fill the run's log)."""
    from pm4py.util import constants

    constants.SHOW_PROGRESS_BAR = False


def _pm4py_completions(path: str) -> tuple[Any, int]:
    """The log as pm4py reads it, completions only (and events without a lifecycle), each
    case's events in time order, ties in file order: what knelpunt's default
    ``lifecycles=COMPLETIONS`` models and checks (tests/mining/test_conformance.py reads it so)."""
    import pandas as pd

    frame = _pm4py_log(path, legacy=False)
    events = len(frame)
    # Cases numbered in the order the file first has them, as knelpunt's case codes are.
    frame["_first"] = pd.factorize(frame["case:concept:name"])[0]
    if "lifecycle:transition" in frame.columns:
        lifecycle = frame["lifecycle:transition"].astype("string").str.lower()
        frame = frame[lifecycle.isna() | (lifecycle == "complete")]
    frame = frame.sort_values(["case:concept:name", "time:timestamp"], kind="stable")
    return frame.reset_index(drop=True), events


def _net_shape(places: int, transitions: int, silent: int, arcs: int) -> dict[str, int]:
    return {"places": places, "transitions": transitions, "silent": silent, "arcs": arcs}


def _knelpunt_net_check(model: Any) -> dict[str, Any]:
    net = model.net
    silent = sum(1 for t in net.transitions if t.label is None)
    return {
        "net": _net_shape(len(net.places), len(net.transitions), silent, len(net.arcs)),
        "tree": str(model.tree),
    }


def _pm4py_net_check(net: Any, tree: Any) -> dict[str, Any]:
    from knelpunt.mining.models import _tree_from_pm4py

    silent = sum(1 for t in net.transitions if t.label is None)
    return {
        "net": _net_shape(len(net.places), len(net.transitions), silent, len(net.arcs)),
        # knelpunt's rendering of pm4py's tree, so the two strings are comparable.
        "tree": str(_tree_from_pm4py(tree)),
    }


def _knelpunt_discover(
    path: str, store_url: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: record the log, build the projection. On it: IMf 0.2 on the
    variants of the completions (``kp.discover_model``)."""
    import pm4py  # noqa: F401

    import knelpunt as kp

    table, built = _projection(path, store_url)

    def run() -> dict[str, Any]:
        model = kp.discover_model(table, noise=0.2)
        return {
            "events": len(table),
            "transitions": len(model.net.transitions),
            "note": f"{model.origin}; projection built in {built:.2f} s (outside the clock)",
            "module": kp.__file__,
            "after": lambda: {"check": _knelpunt_net_check(model)},
        }

    return run


def _pm4py_discover(
    path: str, _store: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: read the log, keep the completions. On it: IMf 0.2 to a Petri net
    (``pm4py.discover_petri_net_inductive``); after it, the tree for the comparison."""
    import pm4py

    _quiet_pm4py()
    frame, events = _pm4py_completions(path)

    def run() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net, _initial, _final = pm4py.discover_petri_net_inductive(frame, noise_threshold=0.2)
        return {
            "events": events,
            "transitions": len(net.transitions),
            "note": f"{len(frame):,} completion events of "
            f"{frame['case:concept:name'].nunique():,} cases",
            "after": lambda: {"check": _pm4py_net_check(net, tree())},
        }

    def tree() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pm4py.discover_process_tree_inductive(frame, noise_threshold=0.2)

    return run


def _sample_digest(pairs: Iterable[tuple[tuple[str, ...], int]]) -> str:
    """The drawn sample as (trace, cases) pairs, for checking that both sides align the same."""
    return _digest("\x1f".join(trace) + f"\t{n}" for trace, n in pairs if n > 0)


def _knelpunt_conformance(
    path: str, store_url: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: record the log, build the projection, discover the IMf 0.2 model.
    On it: ``kp.check_conformance(sample=500, time_budget=20)``."""
    import knelpunt as kp

    table, _ = _projection(path, store_url)
    model = kp.discover_model(table, noise=0.2)

    def run() -> dict[str, Any]:
        found = kp.check_conformance(table, model, sample=SAMPLE, time_budget=20)
        return {
            "events": len(table),
            "note": summary(found),
            "module": kp.__file__,
            "after": lambda: after(found),
        }

    def summary(found: Any) -> str:
        return (
            f"token replay of {len(found.cases):,} cases; alignments of "
            f"{found.aligned_cases:,} of {found.sampled_cases:,} sampled cases in the 20 s budget"
            + (f" ({found.timed_out} variant(s) timed out)" if found.timed_out else "")
        )

    def after(found: Any) -> dict[str, Any]:
        """Untimed: the token replay alone (one case aligned), and the whole sample aligned
        without the budget, whose fitness is pm4py's to compare with."""
        started = time.perf_counter()
        kp.check_conformance(table, model, sample=1, time_budget=FULL_BUDGET)
        replay = time.perf_counter() - started
        started = time.perf_counter()
        whole = kp.check_conformance(table, model, sample=SAMPLE, time_budget=FULL_BUDGET)
        aligned = time.perf_counter() - started
        return {
            "check": {
                **conformance_check(found),
                "alignment_fitness_all": whole.alignment_fitness,
                "aligned_all": whole.aligned_cases,
            },
            "note": f"{summary(found)}; after the clock: token replay alone (one case aligned) "
            f"{replay:.1f} s; "
            f"the same call with a {FULL_BUDGET:g} s budget aligned {whole.aligned_cases:,} of "
            f"{whole.sampled_cases:,} cases in {aligned:.1f} s",
        }

    def conformance_check(found: Any) -> dict[str, Any]:
        sampled = found.variants[found.variants["sampled"] > 0]
        return {
            "fitness": found.fitness,
            "fitting_share": found.fitting_share,
            "mean_trace_fitness": found.mean_trace_fitness,
            "alignment_fitness": found.alignment_fitness,
            "sampled": found.sampled_cases,
            "aligned": found.aligned_cases,
            "sample_digest": _sample_digest(
                (tuple(map(str, a)), int(n))
                for a, n in zip(sampled["activities"], sampled["sampled"], strict=True)
            ),
        }

    return run


SAMPLE = 500  # cases aligned by the conformance cases
FULL_BUDGET = 300.0  # seconds for aligning the whole sample after the clock
SEED = 0  # check_conformance's default seed


def _pm4py_model(frame: Any) -> tuple[Any, Any, Any]:
    import pm4py

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm4py.discover_petri_net_inductive(frame, noise_threshold=0.2)


def _pm4py_conformance_tbr(
    path: str, _store: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: read the log, keep the completions, discover pm4py's IMf 0.2 net.
    On it: ``pm4py.fitness_token_based_replay`` on every case."""
    import pm4py

    _quiet_pm4py()
    frame, events = _pm4py_completions(path)
    net, initial, final = _pm4py_model(frame)

    def run() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = pm4py.fitness_token_based_replay(frame, net, initial, final)
        return {
            "events": events,
            "note": f"token replay of {frame['case:concept:name'].nunique():,} cases",
            "after": lambda: {
                "check": {
                    "fitness": float(found["log_fitness"]),
                    "fitting_share": float(found["perc_fit_traces"]) / 100,
                    "mean_trace_fitness": float(found["average_trace_fitness"]),
                }
            },
        }

    return run


def _pm4py_sample(frame: Any) -> tuple[Any, str]:
    """The cases check_conformance aligns, drawn the same way: variants numbered as knelpunt
    numbers them (most cases first, ties by the case the file has first), then per variant
    a multivariate hypergeometric draw of SAMPLE cases with seed SEED; of each variant its
    first cases. Cases of one variant align alike, so the sample is the same one."""
    import numpy as np

    cases = frame.groupby("case:concept:name", sort=False).agg(
        trace=("concept:name", tuple), first=("_first", "min")
    )
    variants = cases.groupby("trace").agg(cases=("first", "size"), first=("first", "min"))
    variants = variants.sort_values(["cases", "first"], ascending=[False, True])
    counts = variants["cases"].to_numpy(dtype=np.int64)
    if int(counts.sum()) <= SAMPLE:
        drawn = counts.copy()
    else:
        drawn = np.random.default_rng(SEED).multivariate_hypergeometric(counts, SAMPLE)
    wanted = dict(zip(variants.index, drawn.tolist(), strict=True))
    chosen = []
    for trace, group in cases.sort_values("first").groupby("trace", sort=False):
        chosen += group.index[: wanted[trace]].tolist()
    sample = frame[frame["case:concept:name"].isin(set(chosen))]
    pairs = zip(variants.index, drawn.tolist(), strict=True)
    return sample.reset_index(drop=True), _sample_digest(
        (tuple(map(str, t)), int(n)) for t, n in pairs
    )


def _pm4py_conformance_alignments(
    path: str, _store: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: read the log, keep the completions, discover pm4py's IMf 0.2 net,
    draw check_conformance's sample. On it: ``pm4py.fitness_alignments`` of the sample."""
    import pm4py

    _quiet_pm4py()
    frame, events = _pm4py_completions(path)
    net, initial, final = _pm4py_model(frame)
    sample, digest = _pm4py_sample(frame)

    def run() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = pm4py.fitness_alignments(sample, net, initial, final)
        return {
            "events": events,
            "note": f"alignments of {sample['case:concept:name'].nunique():,} sampled cases",
            "after": lambda: {
                "check": {
                    "alignment_fitness": float(found["averageFitness"]),
                    "sampled": int(sample["case:concept:name"].nunique()),
                    "sample_digest": digest,
                }
            },
        }

    return run


OPERATIONS: dict[str, Operation] = {
    "rustxes": _rustxes,
    "knelpunt": _knelpunt,
    "pm4py-xes": _pm4py_xes,
    "pm4py-csv": _pm4py_csv,
    "knelpunt-map": _knelpunt_map,
    "pm4py-map": _pm4py_map,
    "knelpunt-instances": _knelpunt_instances,
    "pm4py-instances": _pm4py_instances,
    "knelpunt-map-stored": _knelpunt_map_stored,
    "knelpunt-dfg-stored": _knelpunt_dfg_stored,
    "pm4py-map-parquet": _pm4py_map_parquet,
    "pm4py-dfg-parquet": _pm4py_dfg_parquet,
    "knelpunt-end-to-end": _knelpunt_end_to_end,
    "knelpunt-append": _knelpunt_append,
    "knelpunt-rebuild": _knelpunt_rebuild,
    "knelpunt-dfg-sql-stored": _knelpunt_dfg_sql_stored,
    "ibis-dfg-stored": _ibis_dfg_stored,
    "ibis-compile": _ibis_compile,
    "ibis-dfg-postgres": _ibis_dfg_postgres,
    "ibis-dfg-spark": _ibis_dfg_spark,
    "knelpunt-discover": _knelpunt_discover,
    "pm4py-discover": _pm4py_discover,
    "knelpunt-conformance": _knelpunt_conformance,
    "pm4py-conformance-tbr": _pm4py_conformance_tbr,
    "pm4py-conformance-alignments": _pm4py_conformance_alignments,
    **CAPTURE_OPERATIONS,
    **SIMULATION_OPERATIONS,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one benchmark operation.")
    parser.add_argument("operation", choices=sorted(OPERATIONS))
    parser.add_argument("input")
    parser.add_argument("result", type=Path)
    parser.add_argument("--store", default=None)
    parser.add_argument("--extra", default=None, help="a second log (appending)")
    args = parser.parse_args(argv)
    run = OPERATIONS[args.operation](args.input, args.store, args.extra)
    baseline = _rss_kb()
    # ru_maxrss follows the reset below, so the peak before it is kept here.
    own_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reset = _reset_peak()
    clock_start = _status_kb("VmRSS")
    started = time.perf_counter()
    outcome = run()
    seconds = time.perf_counter() - started
    own = max(own_before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    outcome.update(
        seconds=seconds,
        peak_rss_kb=own + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        baseline_rss_kb=baseline,
        clock_start_rss_kb=clock_start,
        clock_peak_rss_kb=_status_kb("VmHWM") if reset else None,
    )
    after = outcome.pop("after", None)
    if after is not None:
        outcome.update(after())
    args.result.write_text(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
