"""One measured operation, run in a fresh interpreter by :mod:`benchmarks.run`.

``python -m benchmarks.operations OPERATION INPUT RESULT_JSON [--store URL]``

The libraries an operation needs are imported first; then the clock runs
around the operation alone, and the peak resident set size of this process
(``ru_maxrss``, which includes the imports) plus that of its largest helper
process is read when it has finished.
The result goes to ``RESULT_JSON``, not stdout: pm4py prints a banner.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["OPERATIONS"]


def _rss_kb() -> int:
    """Peak RSS of this process plus that of its largest finished helper process.

    knelpunt parses large XES files in a helper process; counting its peak
    on top of ours is an upper bound on what both held at once.
    """
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return own + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def _rustxes(path: str, _store: str | None) -> Callable[[], dict[str, Any]]:
    import rustxes

    def run() -> dict[str, Any]:
        frame, _meta = rustxes.import_xes(path)
        return {"events": frame.height}

    return run


def _knelpunt(path: str, store_url: str | None) -> Callable[[], dict[str, Any]]:
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


def _pm4py_xes(path: str, _store: str | None) -> Callable[[], dict[str, Any]]:
    import pm4py

    def run() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pm4py.read_xes(path, variant="iterparse", return_legacy_log_object=False)
        return {"events": len(frame)}

    return run


def _pm4py_csv(path: str, _store: str | None) -> Callable[[], dict[str, Any]]:
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


def _knelpunt_map(path: str, store_url: str | None) -> Callable[[], dict[str, Any]]:
    """Outside the clock: record the log and build the projection. On it: map, variants, cases."""
    import knelpunt as kp

    table, built = _projection(path, store_url)

    def run() -> dict[str, Any]:
        found = kp.discover_map(table)
        variants = kp.list_variants(table)
        cases = kp.summarise_cases(table)
        return {
            "events": found.events,
            "edges": len(found.edges),
            "variants": len(variants),
            "cases": len(cases),
            "note": f"projection built from the store in {built:.2f} s (outside the clock)",
            "module": kp.__file__,
        }

    return run


def _pm4py_log(path: str, *, legacy: bool) -> Any:
    import pm4py

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pm4py.read_xes(path, variant="iterparse", return_legacy_log_object=legacy)


def _pm4py_map(path: str, _store: str | None) -> Callable[[], dict[str, Any]]:
    """Outside the clock: read the log. On it: performance DFG, variants, case statistics."""
    import pm4py
    from pm4py.statistics.traces.generic.pandas import case_statistics

    frame = _pm4py_log(path, legacy=False)

    def run() -> dict[str, Any]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dfg, _starts, _ends = pm4py.discover_performance_dfg(frame, perf_aggregation_key="all")
            variants = pm4py.get_variants(frame)
            cases = case_statistics.get_cases_description(frame)
        return {
            "events": len(frame),
            "edges": len(dfg),
            "variants": len(variants),
            "cases": len(cases),
        }

    return run


def _knelpunt_instances(path: str, store_url: str | None) -> Callable[[], dict[str, Any]]:
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


def _pm4py_instances(path: str, _store: str | None) -> Callable[[], dict[str, Any]]:
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


OPERATIONS: dict[str, Callable[[str, str | None], Callable[[], dict[str, Any]]]] = {
    "rustxes": _rustxes,
    "knelpunt": _knelpunt,
    "pm4py-xes": _pm4py_xes,
    "pm4py-csv": _pm4py_csv,
    "knelpunt-map": _knelpunt_map,
    "pm4py-map": _pm4py_map,
    "knelpunt-instances": _knelpunt_instances,
    "pm4py-instances": _pm4py_instances,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one benchmark operation.")
    parser.add_argument("operation", choices=sorted(OPERATIONS))
    parser.add_argument("input")
    parser.add_argument("result", type=Path)
    parser.add_argument("--store", default=None)
    args = parser.parse_args(argv)
    run = OPERATIONS[args.operation](args.input, args.store)
    baseline = _rss_kb()
    started = time.perf_counter()
    outcome = run()
    seconds = time.perf_counter() - started
    outcome.update(seconds=seconds, peak_rss_kb=_rss_kb(), baseline_rss_kb=baseline)
    args.result.write_text(json.dumps(outcome))
    return 0


if __name__ == "__main__":
    sys.exit(main())
