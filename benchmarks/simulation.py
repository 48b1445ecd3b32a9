"""Simulation benchmarks (issue 4): simulated cases per second, and how real a simulated log looks.

Used by :mod:`benchmarks.operations` (operations ``simulate`` and ``simulate-realism``).

*Throughput*: ``kp.simulate_scenario`` of the baseline scenario stretched to about
10,000 cases (:data:`THROUGHPUT_OVERRIDES`), with ``store=None`` (the engine
alone) or into a new SQLite or PostgreSQL store (the events appended in batches
while the run goes, the source finished at the end). After the clock the store
is read back: it must hold every event the run made.

*Realism*: the receipt log (the CoSeLoG WABO receipt phase, complete events only)
and simulated logs of the same number of cases are written as CSV files
(case, activity, start, end, resource); the distance measures of the
``log-distance-measures`` package are computed on them by
:mod:`benchmarks.realism.measure` in a separate virtual environment with its
own pins (``benchmarks/realism/requirements.txt``: the package needs
pandas < 3, knelpunt pins pandas 3). That environment is created on first use
in ``benchmarks/data/venv-realism`` (``python -m benchmarks.simulation --setup``
creates it alone).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import venv
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

__all__ = [
    "REALISM_COMPARISONS",
    "REALISM_RUNS",
    "SIMULATION_OPERATIONS",
    "THROUGHPUT_OVERRIDES",
    "realism_environment",
]

HERE: Final = Path(__file__).resolve().parent
REQUIREMENTS: Final = HERE / "realism" / "requirements.txt"
# The baseline (55 meldingen a week, about 2,650 cases a year) over 1,380 days of
# arrivals instead of a year: about 10,000 cases at the baseline's own load.
THROUGHPUT_OVERRIDES: Final = ("days=1380",)
THROUGHPUT_SEED: Final = 1
# Realism: the simulated logs (name, scenario, seed), each one year of arrivals as
# shipped, of which as many cases as the receipt log has are drawn. The blocker variants
# run on seed 2, as the floor's second baseline does: against baseline seed 1 they
# differ by the sampling noise the floor shows plus the blocker's effect.
REALISM_RUNS: Final = (
    ("baseline", "baseline", 1),
    ("baseline-seed2", "baseline", 2),
    ("team-meeting", "team-meeting", 2),
    ("waiting-list", "waiting-list", 2),
)
# The comparisons (reference, compared); the first is the one the issue asks for.
REALISM_COMPARISONS: Final = (
    ("receipt", "baseline"),
    ("baseline", "baseline-seed2"),
    ("baseline", "team-meeting"),
    ("baseline", "waiting-list"),
)
SAMPLE_SEED: Final = 2024
TIMEZONE: Final = "Europe/Amsterdam"


# -- throughput ----------------------------------------------------------------------------


def _simulate(
    scenario: str, store_url: str | None, _extra: str | None
) -> Callable[[], dict[str, Any]]:
    """Outside the clock: imports, the scenario read once, the store opened. On it:
    ``kp.simulate_scenario`` (into the store when given). After: the store read back."""
    import knelpunt as kp
    from knelpunt.simulate.scenario import read_scenario

    read_scenario(scenario, overrides=THROUGHPUT_OVERRIDES)  # warms the YAML and pydantic
    store = None if store_url is None else kp.open_store(store_url)

    def run() -> dict[str, Any]:
        result = kp.simulate_scenario(
            store, scenario, seed=THROUGHPUT_SEED, overrides=THROUGHPUT_OVERRIDES
        )
        events = len(result.events)

        def after() -> dict[str, Any]:
            check: dict[str, Any] = {
                "scenario": scenario,
                "overrides": list(THROUGHPUT_OVERRIDES),
                "seed": THROUGHPUT_SEED,
                "cases": result.cases,
                "closed": result.closed,
                "events": events,
                "engine_seconds": result.seconds,
                "store": "none"
                if store_url is None
                else ("postgresql" if store_url.startswith("postgres") else "sqlite"),
            }
            if store is not None:
                assert result.source is not None
                source = store.source(result.source.source_id)
                check["stored"] = source.event_count
                check["added"] = result.added
                check["finished"] = bool(source.report)
                store.close()
            return {"check": check}

        return {"events": events, "module": kp.__file__, "after": after}

    return run


# -- realism: the CSV files ----------------------------------------------------------------


def _instances(events: Any) -> Any:
    """A simulated run's events as activity instances: case, activity, start, end, resource.

    Starts and completions of the same activity in a case are paired first in,
    first out; a completion without a start (arrival, waiting list, objection)
    is an instant (start = end).
    """
    import pandas as pd

    frame = events[["case_id", "activity", "time_us", "lifecycle", "resource"]].copy()
    frame = frame.sort_values(["case_id", "activity", "time_us"], kind="stable")
    keys = ["case_id", "activity"]
    starts = frame[frame["lifecycle"] == "start"].copy()
    ends = frame[frame["lifecycle"] == "complete"].copy()
    starts["n"] = starts.groupby(keys).cumcount()
    ends["n"] = ends.groupby(keys).cumcount()
    paired = ends.merge(
        starts[[*keys, "n", "time_us"]], on=[*keys, "n"], how="left", suffixes=("", "_start")
    )
    paired["time_us_start"] = paired["time_us_start"].fillna(paired["time_us"])
    out = pd.DataFrame(
        {
            "case": paired["case_id"],
            "activity": paired["activity"],
            "start": _local(paired["time_us_start"]),
            "end": _local(paired["time_us"]),
            "resource": paired["resource"].fillna(""),
        }
    )
    return out.sort_values(["case", "end", "start"], kind="stable", ignore_index=True)


def _local(micros: Any) -> Any:
    import pandas as pd

    stamps = pd.to_datetime(micros.astype("int64"), unit="us", utc=True).dt.tz_convert(TIMEZONE)
    return stamps.map(lambda t: t.isoformat(timespec="seconds"))


def _sample(frame: Any, cases: int) -> Any:
    """``cases`` cases drawn at random (fixed seed) with all their rows."""
    import numpy as np

    ids = np.sort(frame["case"].unique())
    if len(ids) < cases:
        raise RuntimeError(f"the run has {len(ids):,} cases, fewer than the {cases:,} needed")
    chosen = np.random.default_rng(SAMPLE_SEED).choice(ids, size=cases, replace=False)
    return frame[frame["case"].isin(set(chosen.tolist()))].reset_index(drop=True)


def write_realism_logs(receipt_csv: Path, folder: Path) -> dict[str, Any]:
    """Write the receipt log and the simulated logs (same number of cases) as CSV."""
    import pandas as pd

    import knelpunt as kp

    folder.mkdir(parents=True, exist_ok=True)
    real = pd.read_csv(receipt_csv, dtype=str)
    stamps = pd.to_datetime(real["time:timestamp"], utc=True, format="ISO8601")
    receipt = pd.DataFrame(
        {
            "case": real["case:concept:name"],
            "activity": real["concept:name"],
            "start": stamps.dt.tz_convert(TIMEZONE).map(lambda t: t.isoformat(timespec="seconds")),
            "resource": real["org:resource"].fillna(""),
        }
    )
    receipt.insert(3, "end", receipt["start"])  # complete events only: start = end
    receipt.to_csv(folder / "receipt.csv", index=False)
    cases = receipt["case"].nunique()
    written: dict[str, Any] = {"receipt": {"cases": cases, "rows": len(receipt)}}
    for name, scenario, seed in REALISM_RUNS:
        run = kp.simulate_scenario(None, scenario, seed=seed)
        frame = _sample(_instances(run.events), cases)
        frame.to_csv(folder / f"{name}.csv", index=False)
        written[name] = {
            "scenario": scenario,
            "seed": seed,
            "run_cases": run.cases,
            "cases": int(frame["case"].nunique()),
            "rows": len(frame),
        }
    return written


# -- realism: the separate environment -----------------------------------------------------


def realism_environment(folder: Path) -> Path:
    """The realism environment's interpreter, created (or renewed when the pins changed)."""
    pins = REQUIREMENTS.read_bytes()
    stamp = folder / "requirements.sha256"
    python = folder / "bin" / "python"
    if python.exists() and stamp.exists() and stamp.read_text() == _digest(pins):
        return python
    if sys.version_info >= (3, 13):
        raise RuntimeError("log-distance-measures 2.2.0 needs Python 3.11 or 3.12")
    print(f"creating {folder} from {REQUIREMENTS} ...", file=sys.stderr, flush=True)
    venv.EnvBuilder(clear=True, with_pip=True).create(folder)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "-r", str(REQUIREMENTS)],
        check=True,
    )
    subprocess.run([str(python), "-m", "pip", "check"], check=True, capture_output=True)
    stamp.write_text(_digest(pins))
    return python


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _realism(
    folder: str, _store: str | None, receipt_csv: str | None
) -> Callable[[], dict[str, Any]]:
    """INPUT is the folder for the CSV files (the environment goes beside it), ``--extra``
    the receipt CSV. Outside the clock: the environment made. On it: the runs simulated,
    the CSV files written and the measures computed in the realism environment."""
    if receipt_csv is None:
        raise SystemExit("simulate-realism needs --extra RECEIPT_CSV")
    where = Path(folder)
    python = realism_environment(where.parent / "venv-realism")

    def run() -> dict[str, Any]:
        written = write_realism_logs(Path(receipt_csv), where)
        result = where / "measures.json"
        result.unlink(missing_ok=True)
        pairs = [f"{a}:{b}" for a, b in REALISM_COMPARISONS]
        subprocess.run(
            [str(python), "-m", "benchmarks.realism.measure", str(where), str(result), *pairs],
            check=True,
            cwd=HERE.parent,
        )
        measured = json.loads(result.read_text())
        return {
            "events": sum(int(w["rows"]) for w in written.values()),
            "after": lambda: {"check": {"logs": written, **measured}},
        }

    return run


SIMULATION_OPERATIONS: dict[str, Callable[..., Callable[[], dict[str, Any]]]] = {
    "simulate": _simulate,
    "simulate-realism": _realism,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setup", action="store_true", help="create the realism environment")
    args = parser.parse_args(argv)
    if args.setup:
        print(realism_environment(HERE / "data" / "venv-realism"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
