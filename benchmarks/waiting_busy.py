"""Timing of the waiting split's busy time (``_Splitter.busy``) on a large store.

Times ``split_waiting`` (and, within it, ``busy``) and ``find_blockers`` on all
sources of a store, and saves or compares the split, so that a change to the
split can be checked for identical results::

    .venv/bin/python -m benchmarks.waiting_busy /tmp/busy-1m.db --save before.pkl
    .venv/bin/python -m benchmarks.waiting_busy /tmp/busy-1m.db --compare before.pkl

Work on a copy of the store: opening it may write to it.
"""

from __future__ import annotations

import argparse
import functools
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

import knelpunt as kp
from knelpunt.analysis.waiting import _Splitter


def _timed_busy(spent: list[float]) -> Callable[..., Any]:
    """``_Splitter.busy`` that adds its wall time to ``spent``."""
    original = _Splitter.busy

    @functools.wraps(original)
    def busy(self: _Splitter, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, *args)
        finally:
            spent.append(time.perf_counter() - started)

    return busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path, help="a copy of the SQLite store")
    parser.add_argument("--save", type=Path, help="write the split and blockers here")
    parser.add_argument("--compare", type=Path, help="check them against a saved run")
    args = parser.parse_args()

    spent: list[float] = []
    _Splitter.busy = _timed_busy(spent)  # type: ignore[method-assign]
    with kp.open_store(f"sqlite:///{args.store.resolve()}") as store:
        events = kp.load_events(store)
    print(f"{len(events.time_us):,} events")

    started = time.perf_counter()
    split = kp.split_waiting(events)
    print(f"split_waiting: {time.perf_counter() - started:.1f} s (busy {spent[-1]:.1f} s)")
    started = time.perf_counter()
    blockers = kp.find_blockers(events)
    print(f"find_blockers: {time.perf_counter() - started:.1f} s (busy {spent[-1]:.1f} s)")

    found = {
        "split": split.instances,
        "blockers_split": blockers.split.instances,
        "blockers": repr(blockers.blockers),
    }
    if args.save:
        args.save.write_bytes(pickle.dumps(found))
    if args.compare:
        saved = pickle.loads(args.compare.read_bytes())
        for name in ("split", "blockers_split"):
            pd.testing.assert_frame_equal(found[name], saved[name], check_exact=True)
        assert found["blockers"] == saved["blockers"], "the blockers differ"
        print("identical to", args.compare)


if __name__ == "__main__":
    main()
