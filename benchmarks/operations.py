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


OPERATIONS: dict[str, Callable[[str, str | None], Callable[[], dict[str, Any]]]] = {
    "rustxes": _rustxes,
    "knelpunt": _knelpunt,
    "pm4py-xes": _pm4py_xes,
    "pm4py-csv": _pm4py_csv,
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
