"""Coverage-guided fuzzing of knelpunt's parsers with atheris (libFuzzer for Python).

The Hypothesis fuzz tests (tests/fuzz/) run in CI; this is the longer, optional
run by hand, guided by which lines of knelpunt an input reaches. Install the extra
(``pip install -e '.[fuzz]'``), then::

    .venv/bin/python scripts/fuzz_atheris.py xes -max_total_time=600 -rss_limit_mb=4096
    .venv/bin/python scripts/fuzz_atheris.py profile -runs=100000

Targets: csv, csv.gz, xlsx, xes, xes.gz, parquet (each through ``check_log``, which
reads and records in a throwaway store), any (the format found from the bytes),
profile, scenario. The seeds are real files of each kind, written by knelpunt
(a generated log, the shipped profiles and scenarios); libFuzzer mutates them.
Anything but a :class:`~knelpunt.errors.KnelpuntError` stops the run with the
input saved as ``crash-*``; replay one with ``scripts/fuzz_atheris.py TARGET crash-...``.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import sys
import tempfile
from importlib import resources
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["knelpunt"]):
    import knelpunt as kp
    from knelpunt.errors import KnelpuntError
    from knelpunt.profile import SHIPPED_PROFILES
    from knelpunt.simulate.scenario import SHIPPED_SCENARIOS
    from knelpunt.testing import make_log

NAMES = {
    "csv": "f.csv",
    "csv.gz": "f.csv.gz",
    "xlsx": "f.xlsx",
    "xes": "f.xes",
    "xes.gz": "f.xes.gz",
    "parquet": "f.parquet",
    "any": "upload",
}


def _seeds(target: str, folder: Path) -> None:
    """A few valid inputs of the target's kind, for libFuzzer to start from."""
    if target == "profile":
        for name in SHIPPED_PROFILES:
            text = (resources.files("knelpunt") / "profiles" / f"{name}.yaml").read_bytes()
            (folder / name).write_bytes(text)
        return
    if target == "scenario":
        for name in SHIPPED_SCENARIOS:
            folder_ = resources.files("knelpunt.simulate") / "scenarios"
            (folder / name).write_bytes((folder_ / f"{name}.yaml").read_bytes())
        return
    log = make_log(cases=3, seed=1)
    with kp.open_store(":memory:") as store, tempfile.TemporaryDirectory() as scratch:
        kp.ingest_log(store, log, name="seed")
        for kind in ("csv", "xes", "parquet"):
            written = kp.export_log(store, Path(scratch) / f"seed.{kind}", formulas="keep")
            (folder / f"seed.{kind}").write_bytes(written.read_bytes())
    plain = log.assign(**{"time:timestamp": log["time:timestamp"].dt.tz_localize(None)})
    buffer = io.BytesIO()
    plain.to_excel(buffer, index=False)
    (folder / "seed.xlsx").write_bytes(buffer.getvalue())
    wanted = {
        "csv": ["seed.csv"],
        "csv.gz": ["seed.csv"],
        "xes": ["seed.xes"],
        "xes.gz": ["seed.xes"],
        "xlsx": ["seed.xlsx"],
        "parquet": ["seed.parquet"],
        "any": ["seed.csv", "seed.xes", "seed.xlsx", "seed.parquet"],
    }[target]
    for path in list(folder.iterdir()):
        if path.name not in wanted:
            path.unlink()
        elif target.endswith(".gz"):
            path.write_bytes(gzip.compress(path.read_bytes()))


def _one_input(target: str, scratch: Path) -> object:
    if target in ("profile", "scenario"):
        reader = kp.read_profile if target == "profile" else kp.read_scenario
        path = scratch / "f.yaml"

        def test(data: bytes) -> None:
            path.write_bytes(data)
            with contextlib.suppress(KnelpuntError):
                reader(path)

        return test
    name = NAMES[target]

    def test(data: bytes) -> None:
        with contextlib.suppress(KnelpuntError):
            kp.check_log(io.BytesIO(data), name=name)

    return test


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in (*NAMES, "profile", "scenario"):
        targets = ",".join((*NAMES, "profile", "scenario"))
        sys.exit(f"usage: {sys.argv[0]} {{{targets}}} [libFuzzer options]")
    target = sys.argv[1]
    arguments = [sys.argv[0], *sys.argv[2:]]
    scratch = Path(tempfile.mkdtemp(prefix="knelpunt-fuzz-"))
    if not any(not a.startswith("-") for a in sys.argv[2:]):
        corpus = scratch / "corpus"
        corpus.mkdir()
        _seeds(target, corpus)
        arguments.append(str(corpus))
    atheris.Setup(arguments, _one_input(target, scratch))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
