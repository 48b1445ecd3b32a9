"""The ingesting process the SIGKILL tests kill: ``python -m tests.faults.ingest_child
STORE FILE STAGE``.

It records FILE in STORE with :func:`knelpunt.ingest_log`, as ``knelpunt ingest``
does. With a STAGE other than ``random`` it stops at that point of the recording,
says so on stdout (``at STAGE``) and waits there to be killed:

* ``read``: a piece of the file has been read and the source's row written in the
  open transaction, before any event;
* ``append-first``: half of the first batch of events written;
* ``append-middle``: half of the fourth batch written, three batches before it;
* ``finish``: every event and the report written, the transaction not yet committed.

With ``random`` it says ``ready`` just before recording and ``done`` after it, then
waits as well; the test kills it after a delay of its own choosing.

With FILE a scenario name and STAGE ``simulate``, it runs that simulation into the
store instead and stops after its third batch of events was written; with
``simulate-finish`` once all its events and its report are written, the transaction not
yet committed.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import knelpunt as kp
from knelpunt.events import _sql
from knelpunt.ingest import pipeline

STAGES = (
    "read",
    "append-first",
    "append-middle",
    "finish",
    "random",
    "simulate",
    "simulate-finish",
)


def _halt(stage: str) -> None:
    print(f"at {stage}", flush=True)
    time.sleep(3600)  # killed long before this ends


def _hook(stage: str, store: kp.EventStore) -> None:
    if stage == "read":
        original_convert = pipeline.convert_chunk

        def convert(*args: Any, **kwargs: Any) -> Any:
            _halt(stage)
            return original_convert(*args, **kwargs)

        pipeline.convert_chunk = convert  # type: ignore[assignment]
    elif stage in ("append-first", "append-middle"):
        target = 1 if stage == "append-first" else 4
        calls = [0]
        original_load = type(store)._load_events

        def load(self: Any, cursor: Any, source_id: int, columns: Any, table: Any) -> None:
            calls[0] += 1
            if calls[0] == target:
                original_load(self, cursor, source_id, columns, table[: len(table) // 2])
                _halt(stage)
            original_load(self, cursor, source_id, columns, table)

        type(store)._load_events = load  # type: ignore[method-assign]
    elif stage == "simulate":
        batches = [0]
        original_batch = type(store)._load_events

        def load_batch(self: Any, cursor: Any, source_id: int, columns: Any, table: Any) -> None:
            original_batch(self, cursor, source_id, columns, table)
            batches[0] += 1
            if batches[0] == 3:
                _halt(stage)

        type(store)._load_events = load_batch  # type: ignore[method-assign]
    elif stage in ("finish", "simulate-finish"):
        original_finish = _sql._SQLRecording.finish

        def finish(self: Any, report: Any) -> None:
            original_finish(self, report)
            _halt(stage)

        _sql._SQLRecording.finish = finish  # type: ignore[method-assign]


def main(url: str, path: str, stage: str) -> None:
    if stage not in STAGES:
        raise SystemExit(f"unknown stage {stage!r}; one of {STAGES}")
    store = kp.open_store(url)
    _hook(stage, store)
    if stage.startswith("simulate"):
        kp.simulate_scenario(store, path)
        _halt("done")
    if stage == "random":
        print("ready", flush=True)
    result = kp.ingest_log(store, path)
    print(f"done {result.added}", flush=True)
    _halt("done")  # a kill after the commit finds the process still there


if __name__ == "__main__":
    main(*sys.argv[1:4])
