"""Where the time of one ``kp.ingest_log`` goes: wall time per stage, optionally cProfile.

``python -m benchmarks.profile_ingest [PATH] [--duplicates keep|reject] [--cprofile N]``

PATH defaults to the BPIC 2012 log. The stages are timed by wrapping
knelpunt's internal functions (cheap, so the total stays close to an
unprofiled run); a stage whose function has been renamed is reported as
missing rather than guessed. ``--cprofile N`` runs a second, separate
recording under cProfile and prints the N functions with the most own time.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import io
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks.run import BPIC_2012

__all__ = ["profile"]

# (label, module, attribute); an indented label is part of the one above it.
_STAGES = (
    ("scan_file: SHA-256, line count, encoding check", "knelpunt.ingest.pipeline", "scan_file"),
    ("XES prolog check (DTD refusal)", "knelpunt.ingest.readers", "_check_prolog"),
    ("rustxes.import_xes (parse)", "rustxes", "import_xes"),
    ("polars → pandas (DataFrame.to_pandas)", "polars", "DataFrame.to_pandas"),
    ("reading chunks (CSV: pandas.read_csv)", None, "chunks"),
    ("convert_chunk", "knelpunt.ingest.pipeline", "convert_chunk"),
    ("  parse_times (timestamps)", "knelpunt.ingest.convert", "parse_times"),
    ("  _as_text (case, activity, resource, lifecycle)", "knelpunt.ingest.convert", "_as_text"),
    ("  encode_rows (attributes → JSON)", "knelpunt.ingest.convert", "encode_rows"),
    ("_drop_duplicates (duplicate hashing)", "knelpunt.ingest.pipeline", "_drop_duplicates"),
    ("_batch_rows (DataFrame → Python values)", "knelpunt.events._sql", "_batch_rows"),
    (
        "_load_events (SQLite multi-row INSERTs)",
        "knelpunt.events.sqlite",
        "SQLiteEventStore._load_events",
    ),
    ("COMMIT (leaving the write transaction)", "knelpunt.events.sqlite", "SQLiteEventStore._write"),
)


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.missing: list[str] = []

    def add(self, label: str, seconds: float) -> None:
        self.seconds[label] += seconds
        self.calls[label] += 1

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(label, time.perf_counter() - started)

        return timed

    def wrap_exit(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        """For a context manager: time only its exit (the COMMIT)."""

        @contextlib.contextmanager
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            manager = function(*args, **kwargs)
            value = manager.__enter__()
            try:
                yield value
            except BaseException:
                if not manager.__exit__(*sys.exc_info()):
                    raise
            else:
                started = time.perf_counter()
                manager.__exit__(None, None, None)
                self.add(label, time.perf_counter() - started)

        return timed

    def wrap_chunks(self, label: str, read_raw: Callable[..., Any]) -> Callable[..., Any]:
        """Time the raw reader's chunk generator (the reading, not the consumer)."""

        def timed_read_raw(*args: Any, **kwargs: Any) -> Any:
            raw = read_raw(*args, **kwargs)
            original = raw.chunks

            def chunks() -> Iterator[Any]:
                iterator = original()
                while True:
                    started = time.perf_counter()
                    try:
                        item = next(iterator)
                    except StopIteration:
                        self.add(label, time.perf_counter() - started)
                        return
                    self.add(label, time.perf_counter() - started)
                    yield item

            return dataclasses.replace(raw, chunks=chunks)

        return timed_read_raw


@contextlib.contextmanager
def _instrumented(clock: _Clock) -> Iterator[None]:
    import importlib

    undo: list[tuple[Any, str, Any]] = []
    try:
        for label, module_name, attribute in _STAGES:
            if module_name is None:  # the chunk reader, wrapped through read_raw
                pipeline = importlib.import_module("knelpunt.ingest.pipeline")
                target, name = pipeline, "read_raw"
                wrapper = clock.wrap_chunks(label, pipeline.read_raw)
            else:
                target = importlib.import_module(module_name)
                *owners, name = attribute.split(".")
                for owner in owners:
                    target = getattr(target, owner, None)
                if target is None or not hasattr(target, name):
                    clock.missing.append(f"{module_name}.{attribute}")
                    continue
                original = getattr(target, name)
                make = clock.wrap_exit if name == "_write" else clock.wrap
                wrapper = make(label, original)
            undo.append((target, name, target.__dict__.get(name, getattr(target, name))))
            setattr(target, name, wrapper)
        yield
    finally:
        for target, name, original in reversed(undo):
            setattr(target, name, original)


def _ingest(path: Path, duplicates: str) -> tuple[float, int]:
    import knelpunt as kp

    with tempfile.TemporaryDirectory(prefix="knelpunt-profile-") as folder:
        store = kp.open_store(Path(folder) / "store.db")
        try:
            started = time.perf_counter()
            result = kp.ingest_log(store, path, mode="strict", duplicates=duplicates)  # type: ignore[arg-type]
            return time.perf_counter() - started, result.added
        finally:
            store.close()


def profile(path: Path, *, duplicates: str = "keep", top: int = 0) -> str:
    """Run one recording with the stages timed; returns the report as Markdown."""
    # Import outside the clock, as the benchmark does.
    import polars  # noqa: F401
    import rustxes  # noqa: F401

    import knelpunt

    clock = _Clock()
    with _instrumented(clock):
        total, events = _ingest(path, duplicates)
    lines = [
        f"`kp.ingest_log({path.name}, duplicates={duplicates!r})` into a new SQLite file: "
        f"{events:,} events in {total:.2f} s (knelpunt from {Path(knelpunt.__file__).parent}).",
        "",
        "| Stage | Seconds | Share | Calls |",
        "|---|--:|--:|--:|",
    ]
    top_level = 0.0
    for label, _module, _attribute in _STAGES:
        if label not in clock.seconds:
            continue
        seconds = clock.seconds[label]
        if not label.startswith(" "):
            top_level += seconds
        shown = label.replace("  ", "↳ ", 1) if label.startswith(" ") else label
        lines.append(f"| {shown} | {seconds:.2f} | {seconds / total:.0%} | {clock.calls[label]} |")
    rest = total - top_level
    lines.append(
        f"| rest (mapping, sample, bookkeeping per chunk, source rows) | {rest:.2f} | "
        f"{rest / total:.0%} | |"
    )
    lines.append(f"| **total** | **{total:.2f}** | 100% | |")
    if clock.missing:
        lines += ["", f"Not found (renamed?): {', '.join(clock.missing)}."]
    if top:
        profiler = cProfile.Profile()
        profiler.enable()
        _ingest(path, duplicates)
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(top)
        lines += [
            "",
            f"cProfile, top {top} by own time (a separate run):",
            "",
            "```",
            text.getvalue().strip(),
            "```",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=BPIC_2012)
    parser.add_argument("--duplicates", choices=("keep", "reject"), default="keep")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N")
    args = parser.parse_args(argv)
    print(profile(args.path, duplicates=args.duplicates, top=args.cprofile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
