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
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

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
