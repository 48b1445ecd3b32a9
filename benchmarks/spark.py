"""DuckDB and Spark side by side: ``compute_relational`` on the same partitioned Parquet log.

``python -m benchmarks.spark --events 1000000 5000000 20000000 [--write]`` builds (once, cached in
``benchmarks/data/spark/``) the synthetic Parquet log of
:func:`benchmarks.generate.parquet_log` in the layout ``knelpunt export --format
parquet --partition-by source,year,month`` writes (``source=1/year=2024/month=3/``,
with ``knelpunt:source`` and ``knelpunt:position``), then runs, each in a fresh
process whose whole process tree (Spark's JVM included) is sampled for its peak
resident memory:

* **duckdb**: ``kp.compute_relational(folder)``, twice (first and again), and
  ``kp.compute_instances(folder)`` once;
* **spark**: a local Spark session on both cores (``local[2]``, 8 shuffle
  partitions, one more per 625,000 events beyond 5M, 4 GB driver heap),
  ``kp.compute_relational(folder, engine="spark")`` twice, ``kp.compute_instances``
  once, then ``compute_relational`` on a single month partition (the fixed cost);
* **pm4py**: ``pm4py.discover_performance_dfg`` on the same events read into pandas
  (outside the clock), for reference.

*Same numbers* holds Spark's map (every edge's eight statistics, relative 1e-9),
activities, start and end activities, variants and case table against DuckDB's,
and pm4py's edges and mean durations against DuckDB's. The 500M-event estimate is
drawn from the measured Spark costs; its assumptions are written beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from benchmarks.generate import DATA_DIR, SEED, parquet_log
from benchmarks.sections import RESULTS_MD, write_section

SECTION: Final = "## DuckDB and Spark side by side"
SPARK_DIR: Final = DATA_DIR / "spark"
CLUSTER_EVENTS: Final = 500_000_000
CLUSTER_CORES: Final = (32, 128, 512)
_EDGE_STATS: Final = ("count", "cases", "mean_s", "median_s", "p90_s", "min_s", "max_s", "total_s")


# --- the log ---------------------------------------------------------------------------


def partitioned_log(events: int) -> Path:
    """The synthetic log of ``events`` events as a hive-partitioned folder (cached).

    The columns and the layout are those of ``knelpunt export --format parquet
    --partition-by source,year,month``: pm4py's column names, ``knelpunt:source`` (1)
    and ``knelpunt:position`` (the order the rows were written, as a store records
    them), one folder per source, year and month of the event's time (UTC).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    folder = SPARK_DIR / f"synthetic-{events}-s{SEED}-v1-by-month"
    if folder.exists():
        return folder
    table = pq.read_table(parquet_log(events))
    stamps = table.column("time:timestamp")
    table = table.append_column("knelpunt:source", pa.array(np.ones(len(table), np.int64)))
    table = table.append_column(
        "knelpunt:position", pa.array(np.arange(1, len(table) + 1, dtype=np.int64))
    )
    table = table.append_column("source", pa.array(np.ones(len(table), np.int64)))
    table = table.append_column("year", pc.year(stamps).cast(pa.int64()))
    table = table.append_column("month", pc.month(stamps).cast(pa.int64()))
    SPARK_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=SPARK_DIR, prefix=".partitioning-"))
    ds.write_dataset(
        table,
        tmp / "events",
        format="parquet",
        partitioning=ds.partitioning(
            pa.schema([("source", pa.int64()), ("year", pa.int64()), ("month", pa.int64())]),
            flavor="hive",
        ),
        max_rows_per_group=1_000_000,
    )
    (tmp / "events").rename(folder)
    tmp.rmdir()
    return folder


def _partitions(folder: Path) -> list[Path]:
    return sorted({p.parent for p in folder.rglob("*.parquet")})


# --- the workers (each in its own process) ----------------------------------------------


def _frames(found: Any) -> dict[str, Any]:
    m = found.process_map
    return {
        "edges": m.edges,
        "activities": m.activities,
        "start": m.start_activities,
        "end": m.end_activities,
        "variants": found.variants,
        "cases": found.cases,
        "events": m.events,
        "n_cases": m.cases,
    }


def _work_duckdb(folder: Path) -> dict[str, Any]:
    import knelpunt as kp

    began = time.perf_counter()
    found = kp.compute_relational(folder)
    first = time.perf_counter() - began
    began = time.perf_counter()
    kp.compute_relational(folder)
    again = time.perf_counter() - began
    began = time.perf_counter()
    steps = kp.compute_instances(folder)
    instances = time.perf_counter() - began
    frames = _frames(found) | {"instance_times": steps.activities, "instances": steps.count}
    return {"first_s": first, "again_s": again, "instances_s": instances, "frames": frames}


# Events per shuffle partition at most, as the 1M and 5M runs had them with 8, so that
# a larger log's tasks stay the size of a smaller one's rather than growing with it.
EVENTS_PER_SHUFFLE_PARTITION: Final = 625_000


def shuffle_partitions(folder: Path) -> int:
    """Spark's shuffle partitions for the log in ``folder``: 8, or more for larger logs."""
    import pyarrow.dataset as ds

    events = ds.dataset(folder, format="parquet").count_rows()
    return max(8, -(-events // EVENTS_PER_SHUFFLE_PARTITION))


def _work_spark(folder: Path) -> dict[str, Any]:
    from pyspark.sql import SparkSession

    import knelpunt as kp

    began = time.perf_counter()
    session = (
        SparkSession.builder.master("local[2]")
        .appName("knelpunt-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions(folder)))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    start = time.perf_counter() - began
    began = time.perf_counter()
    found = kp.compute_relational(folder, engine="spark", spark=session)
    first = time.perf_counter() - began
    began = time.perf_counter()
    kp.compute_relational(folder, engine="spark", spark=session)
    again = time.perf_counter() - began
    began = time.perf_counter()
    steps = kp.compute_instances(folder, engine="spark", spark=session)
    instances = time.perf_counter() - began
    one = _partitions(folder)[0]
    began = time.perf_counter()
    small = kp.compute_relational(one, engine="spark", spark=session)
    one_s = time.perf_counter() - began
    session.stop()
    return {
        "start_s": start,
        "first_s": first,
        "again_s": again,
        "one_partition_s": one_s,
        "one_partition_events": small.process_map.events,
        "partitions": len(_partitions(folder)),
        "instances_s": instances,
        "frames": _frames(found) | {"instance_times": steps.activities, "instances": steps.count},
    }


def _work_pm4py(folder: Path) -> dict[str, Any]:
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        import pm4py
    columns = ["case:concept:name", "concept:name", "time:timestamp", "knelpunt:position"]
    frame = pd.read_parquet(folder, columns=columns).sort_values("knelpunt:position")
    frame = frame.drop(columns="knelpunt:position").reset_index(drop=True)
    began = time.perf_counter()
    dfg, _, _ = pm4py.discover_performance_dfg(frame)
    seconds = time.perf_counter() - began
    means = {f"{a}\t{b}": float(v["mean"]) for (a, b), v in dfg.items()}
    return {"first_s": seconds, "means": means}


_WORKERS: Final = {"duckdb": _work_duckdb, "spark": _work_spark, "pm4py": _work_pm4py}


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        root = psutil.Process(pid)
        total = root.memory_info().rss
        for child in root.children(recursive=True):
            with_child = child.memory_info().rss
            total += with_child
        return int(total)
    except psutil.Error:
        return 0


def _run(worker: str, folder: Path) -> dict[str, Any]:
    """One worker in a fresh process; its result, its wall time and its tree's peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.pickle"
        command = [sys.executable, "-m", "benchmarks.spark", "--worker", worker]
        command += ["--folder", str(folder), "--out", str(out)]
        began = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss(process.pid))
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
        wall = time.perf_counter() - began
        if code != 0:
            raise SystemExit(f"the {worker} run failed (exit {code}); its errors are above")
        result: dict[str, Any] = pickle.loads(out.read_bytes())  # our own file
    result.update(process_s=wall, peak_mb=peak / 1e6)
    return result


# --- comparing ---------------------------------------------------------------------------


def _largest_difference(left: pd.Series, right: pd.Series) -> float:
    a, b = left.to_numpy(dtype=float), right.to_numpy(dtype=float)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, np.abs(a - b) / scale, 0.0)
    return float(np.nanmax(rel)) if len(rel) else 0.0


def _same_frame(left: pd.DataFrame, right: pd.DataFrame, *, rtol: float) -> tuple[bool, float]:
    if list(left.columns) != list(right.columns) or len(left) != len(right):
        return False, float("inf")
    worst = 0.0
    for column in left.columns:
        a, b = left[column], right[column]
        if pd.api.types.is_float_dtype(a) and pd.api.types.is_float_dtype(b):
            worst = max(worst, _largest_difference(a, b))
        elif a.tolist() != b.tolist():
            return False, float("inf")
    return worst <= rtol, worst


def compare_engines(duckdb: dict[str, Any], spark: dict[str, Any]) -> str:
    """Spark's results against DuckDB's, in words."""
    said = []
    equal = True
    pairs = (
        ("edges", 1e-9),
        ("activities", 0.0),
        ("variants", 1e-9),
        ("cases", 0.0),
        ("instance_times", 1e-9),
    )
    for name, rtol in pairs:
        same, worst = _same_frame(duckdb[name], spark[name], rtol=rtol)
        equal &= same
        said.append(
            f"{name} {len(duckdb[name]):,} {'equal' if same else 'DIFFER'}"
            + (f" (largest relative difference {worst:.1e})" if rtol and same else "")
        )
    for name in ("start", "end", "events", "n_cases", "instances"):
        if duckdb[name] != spark[name]:
            equal = False
            said.append(f"{name} DIFFER")
    head = "**equal**" if equal else "**DIFFERENT**"
    return (
        f"{head}: "
        + "; ".join(said).replace("instance_times", "activity times")
        + "; start and end activities, events, cases and instances equal"
    )


def compare_pm4py(duckdb: dict[str, Any], means: dict[str, float]) -> str:
    """pm4py's performance DFG against DuckDB's edges: the same edges, the same means."""
    edges = duckdb["edges"]
    pairs = zip(edges["source"], edges["target"], edges["mean_s"], strict=True)
    ours = {f"{a}\t{b}": m for a, b, m in pairs}
    if set(ours) != set(means):
        return f"edges differ: {len(set(ours) ^ set(means))} of {len(ours)}"
    keys = sorted(ours)
    worst = _largest_difference(
        pd.Series([ours[k] for k in keys]), pd.Series([means[k] for k in keys])
    )
    verdict = "**equal**" if worst <= 1e-9 else "differ"
    return f"{verdict}: the same {len(keys)} edges, mean durations to {worst:.1e}"


# --- the estimate -------------------------------------------------------------------------


def estimate(events: int, duckdb: dict[str, Any], spark: dict[str, Any]) -> dict[str, Any]:
    """What the measured Spark costs say about 500M events on a cluster.

    The marginal cost is (whole log - one partition) / (the events between), on two
    cores kept busy; the fixed cost is the run on one partition (planning, stages,
    scheduling, collecting the small results).
    """
    one_events = spark["one_partition_events"]
    marginal = (spark["again_s"] - spark["one_partition_s"]) / max(events - one_events, 1)
    core_s_per_m = marginal * 2 * 1e6
    per_partition_events = events / spark["partitions"]
    frames = spark["frames"]
    case_bytes = frames["cases"].memory_usage(deep=True).sum() / max(frames["n_cases"], 1)
    cases_500m = CLUSTER_EVENTS * frames["n_cases"] / events
    duckdb_per_m = duckdb["again_s"] / (events / 1e6)
    return {
        "core_s_per_m": core_s_per_m,
        "fixed_s": spark["one_partition_s"],
        "per_partition_events": per_partition_events,
        "per_partition_core_s": core_s_per_m * per_partition_events / 1e6,
        "cluster_s": {
            cores: spark["one_partition_s"] + core_s_per_m * CLUSTER_EVENTS / 1e6 / cores
            for cores in CLUSTER_CORES
        },
        "cases_500m": cases_500m,
        "case_table_gb_500m": case_bytes * cases_500m / 1e9,
        "duckdb_500m_s": duckdb_per_m * CLUSTER_EVENTS / 1e6,
        "crossover_cores_500m": core_s_per_m * CLUSTER_EVENTS / 1e6
        / max(duckdb_per_m * CLUSTER_EVENTS / 1e6 - spark["one_partition_s"], 1e-9),
    }  # fmt: skip


# --- the section ---------------------------------------------------------------------------


def _mb(value: float) -> str:
    return f"{value:,.0f} MB"


def _row(events: int, results: dict[str, Any]) -> list[str]:
    duckdb, spark, pm = results["duckdb"], results["spark"], results["pm4py"]
    ratio = spark["again_s"] / duckdb["again_s"]
    return [
        f"| {events / 1e6:,.0f}M ({results['n_cases']:,} cases, {results['n_variants']:,} "
        f"variants, {spark['partitions']} partitions) | DuckDB {results['duckdb_version']} | - | "
        f"{duckdb['first_s']:.2f} s | {duckdb['again_s']:.2f} s | {duckdb['process_s']:.1f} s "
        f"| {_mb(duckdb['peak_mb'])} | (the reference) |",
        f"| | Spark {results['spark_version']} local[2] | {spark['start_s']:.1f} s | "
        f"{spark['first_s']:.2f} s | {spark['again_s']:.2f} s ({ratio:.1f}× DuckDB) | "
        f"{spark['process_s']:.1f} s | {_mb(spark['peak_mb'])} | {results['same_engines']} |",
        f"| | Spark, one month partition ({spark['one_partition_events']:,} events) | - | - | "
        f"{spark['one_partition_s']:.2f} s | - | - | |",
        f"| | pm4py {results['pm4py_version']} `discover_performance_dfg` | - | "
        f"{pm['first_s']:.2f} s | - | {pm['process_s']:.1f} s | {_mb(pm['peak_mb'])} | "
        f"{results['same_pm4py']} |",
    ]


def _crossover(runs: dict[int, dict[str, Any]]) -> str:
    """Where Spark would overtake DuckDB, from the runs' fixed and marginal costs."""
    sizes = sorted(runs)
    if len(sizes) < 2:
        return ""
    lo, hi = runs[sizes[0]], runs[sizes[-1]]
    span = (sizes[-1] - sizes[0]) / 1e6
    spark_m = (hi["spark"]["again_s"] - lo["spark"]["again_s"]) / span
    duck_m = (hi["duckdb"]["again_s"] - lo["duckdb"]["again_s"]) / span
    ratios = ", ".join(
        f"{n / 1e6:,.0f}M {runs[n]['spark']['again_s'] / runs[n]['duckdb']['again_s']:.1f}×"
        for n in sizes
    )
    said = (
        f"Spark's time over DuckDB's (again against again) by size: {ratios}. Between "
        f"{sizes[0] / 1e6:,.0f}M and {sizes[-1] / 1e6:,.0f}M events each further million "
        f"costs Spark {spark_m:.1f} s and DuckDB {duck_m:.2f} s on these two cores, so on one "
        f"machine the two lines "
    )
    if spark_m <= duck_m:
        return said + "cross (Spark's marginal cost is the lower): see the estimate below."
    return said + (
        f"do not cross: Spark's fixed cost shrinks in the ratio as the log grows, but each "
        f"event costs it {spark_m / max(duck_m, 1e-9):.0f}× what it costs DuckDB. The "
        f"crossover is in cores, not in events: with its marginal cost spread over n cores "
        f"as fast as these, Spark matches one DuckDB process of two cores from about "
        f"{2 * spark_m / max(duck_m, 1e-9):,.0f} cores, and a machine's memory and disk, "
        f"not its speed, end DuckDB's range (its peak grows with the log: "
        + ", ".join(f"{_mb(runs[n]['duckdb']['peak_mb'])} at {n / 1e6:,.0f}M" for n in sizes)
        + ")."
    )


def render(runs: dict[int, dict[str, Any]]) -> str:
    """The RESULTS.md section, from the runs of every size measured."""
    events = max(runs)
    results = runs[events]
    duckdb, spark = results["duckdb"], results["spark"]
    est = results["estimate"]
    dates = sorted({r["date"] for r in runs.values()})
    loads = ", ".join(
        f"{n / 1e6:,.0f}M {r['load_before']:.1f}/{r['load_after']:.1f}"
        for n, r in sorted(runs.items())
    )
    lines = [
        SECTION,
        "",
        "Issue 10: the map, variants and case table of `kp.compute_relational` on DuckDB "
        "(in process) and on Spark (local mode, `local[2]`: both cores, 8 shuffle "
        "partitions (one per 625,000 events beyond 5M), 4 GB driver heap) from the same "
        "Parquet folder, in the layout "
        "`knelpunt export --format parquet --partition-by source,year,month` writes "
        "(`benchmarks/spark.py`: the synthetic log of `benchmarks/generate.py`, one "
        "partition per month). Each side runs in a fresh process, twice (*first* and "
        "*again*); *Peak RSS* is the sampled peak of the whole process tree, Spark's JVM "
        "included. pm4py's `discover_performance_dfg` (the map's edges with "
        "mean/median/min/max/sum of durations, no case table or variants) runs on the same "
        "events read into pandas outside the clock, for reference. *Same numbers* holds "
        "every edge statistic, activity, variant and case row of Spark to DuckDB's. "
        f"Recorded {', '.join(dates)} on {results['machine']} (load average before/after "
        f"each size: {loads}; above 2, other processes took part of the cores and the times "
        "are upper bounds).",
        "",
        "| Log | Engine | Session start | First | Again | Process (all, incl. reading) | "
        "Peak RSS | Same numbers |",
        "|---|---|--:|--:|--:|--:|--:|---|",
    ]
    for n in sorted(runs):
        lines += _row(n, runs[n])
    lines += [
        "",
        "**Activity instances** (`kp.compute_instances`: starts paired with completions, "
        "enabled times, estimated starts, waiting and processing per activity; this log "
        "records completions only, so every start is estimated from its resource's "
        "previous completion, a window per resource and week with the week before "
        "carried), run after the map in the same process: "
        + "; ".join(
            f"{n / 1e6:,.0f}M DuckDB {runs[n]['duckdb']['instances_s']:.2f} s, Spark "
            f"{runs[n]['spark']['instances_s']:.2f} s"
            for n in sorted(runs)
            if "instances_s" in runs[n]["duckdb"]
        )
        + ".",
        "",
        "A run on a single month partition is Spark's fixed cost per run (planning, "
        "starting each stage's tasks, collecting the results), which weighs most on a "
        "small log. " + _crossover(runs),
        "",
        f"**500M events on a cluster, estimated from the {events / 1e6:,.0f}M run.** The "
        "marginal cost is (again − one partition) / (events between) = "
        f"{est['core_s_per_m']:.2f} core-seconds per million events on local[2] (both cores "
        f"taken as busy); a month partition of {est['per_partition_events']:,.0f} events "
        f"costs {est['per_partition_core_s']:.2f} core-seconds. 500M events in such "
        "partitions: about "
        + ", ".join(f"{s / 60:,.1f} min on {c} cores" for c, s in est["cluster_s"].items())
        + f" (fixed {est['fixed_s']:.1f} s + core-seconds / cores). DuckDB on one machine, "
        "linearly from its again time and if the events fit its memory or spill well: about "
        f"{est['duckdb_500m_s'] / 60:,.0f} min (its peak here, {_mb(duckdb['peak_mb'])} for "
        f"{events / 1e6:,.0f}M events, grows with the events and the cases); so a cluster "
        "overtakes one DuckDB process at 500M events from about "
        f"{est['crossover_cores_500m']:,.0f} cores of this speed, and where one machine's "
        "memory or disk does not hold the log, at any size. Assumptions: costs grow "
        "linearly with events (every shuffle is by case, each case's events are sorted "
        "where they are); cluster cores as fast as these and the network shuffle as cheap "
        "as a local one (optimistic); no skew (no single case or partition far larger than "
        "the rest); enough partitions to keep every core busy (500M events by month are "
        f"~{CLUSTER_EVENTS / est['per_partition_events']:,.0f} partitions of this size, or "
        "fewer larger ones). What does not shrink with cores: the case table comes back to "
        f"the driver, one row per case: {est['cases_500m'] / 1e6:,.0f}M cases of 500M events "
        f"at this log's {events / max(results['n_cases'], 1):.0f} events a case are about "
        f"{est['case_table_gb_500m']:,.1f} GB of pandas on the driver; and this synthetic "
        "log has nearly one variant per case, so its variants would be as many (real logs "
        "have far fewer: receipt 116 for 1,434 cases, Road Traffic Fines 231 for 150k), "
        "which is what `kp.discover_model(result)` then mines.",
        "",
        f"Spark's peak memory is mostly its JVM: the 4 GB driver heap it may fill "
        f"({_mb(spark['peak_mb'])} at {events / 1e6:,.0f}M events). Not measured here: a "
        "real cluster, or Spark's adaptive execution tuned for the data. Spark's times on "
        "this shared VM vary between runs: on 2026-12-06 the 5M map took 69.23 s and, an "
        "hour later with the same plan, 111.25 s (again); read them to within that."
        + " Before 2026-12-06 the activity instances ran out of a 4 GB heap at 20M "
        "events (and at 5M in a 1 GB heap): Spark's exact percentile keeps all of a "
        "group's values in one task's memory, and an activity's or an edge's group is "
        "millions of values. On Spark the percentiles are now taken from each group's "
        "sorted distinct values (a count, a sort and a window, which spill to disk); 5M "
        "then ran in a 1 GB heap. DuckDB keeps its own exact percentile, which is faster "
        "there (the sorted plan cost it 58% on the 5M map).",
        "",
    ]
    return "\n".join(lines)


# --- the command ------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {
        "duckdb_version": version("duckdb"),
        "spark_version": version("pyspark"),
        "pm4py_version": version("pm4py"),
    }


def run(events: int) -> dict[str, Any]:
    """Every worker on the log of ``events`` events; their results and the comparisons."""
    folder = partitioned_log(events)
    results: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    for worker in ("duckdb", "spark", "pm4py"):
        print(f"{worker} ...", file=sys.stderr, flush=True)
        results[worker] = _run(worker, folder)
        shown = {k: round(v, 2) for k, v in results[worker].items() if isinstance(v, float)}
        print(f"{worker}: {json.dumps(shown)}", file=sys.stderr, flush=True)
    results["same_engines"] = compare_engines(
        results["duckdb"]["frames"], results["spark"]["frames"]
    )
    results["same_pm4py"] = compare_pm4py(results["duckdb"]["frames"], results["pm4py"]["means"])
    results["estimate"] = estimate(events, results["duckdb"], results["spark"])
    results["load_after"] = os.getloadavg()[0]
    results["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results["machine"] = (
        f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"
    )
    results.update(_versions())
    frames = results["duckdb"]["frames"]
    results["n_cases"], results["n_variants"] = frames["n_cases"], len(frames["variants"])
    return results


RUNS: Final = SPARK_DIR / "runs.json"


def _kept(results: dict[str, Any]) -> dict[str, Any]:
    """The results without their frames, as JSON keeps them."""
    return {
        k: ({kk: vv for kk, vv in v.items() if kk not in ("frames", "means")}
            if isinstance(v, dict) else v)
        for k, v in results.items()
    }  # fmt: skip


def remember(events: int, results: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """This size's results with those of the other sizes measured before."""
    runs = {int(k): v for k, v in json.loads(RUNS.read_text()).items()} if RUNS.exists() else {}
    runs[events] = _kept(results)
    RUNS.parent.mkdir(parents=True, exist_ok=True)
    RUNS.write_text(json.dumps(runs, indent=1, default=float))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events",
        type=int,
        nargs="+",
        default=[1_000_000],
        help="events in the log; several sizes run one after the other (the section shows "
        "every size measured, kept in benchmarks/data/spark/runs.json)",
    )
    parser.add_argument("--write", action="store_true", help=f"write the section to {RESULTS_MD}")
    parser.add_argument("--worker", choices=sorted(_WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--render", action="store_true", help="only draw the section again from runs.json"
    )
    args = parser.parse_args(argv)
    if args.render:
        runs = {int(k): v for k, v in json.loads(RUNS.read_text()).items()}
        text = render(runs)
        print(text)
        if args.write:
            write_section(SECTION, text)
        return 0
    if args.worker:
        result = _WORKERS[args.worker](args.folder)
        args.out.write_bytes(pickle.dumps(result))
        return 0
    equal = True
    for events in args.events:
        results = run(events)
        equal &= results["same_engines"].startswith("**equal**")
        text = render(remember(events, results))
        print(text)
        if args.write:
            write_section(SECTION, text)
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
