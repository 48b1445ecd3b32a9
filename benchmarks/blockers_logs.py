"""Blocker analysis on completion-only real logs (receipt, BPIC 2015 municipality 1),
and the split and ranking timed on about a million simulated events.

Run from the repository root (prints Markdown; ``--write`` also replaces the
"Blocker analysis on completion-only logs" section of benchmarks/RESULTS.md,
just before "## Reproduce")::

    .venv/bin/python -m benchmarks.blockers_logs [--write] [--teams 17]

*Real logs*: ``receipt.xes.gz`` (the receipt phase of a Dutch municipality's
environmental-permit process, CoSeLoG) and ``BPIC15_1.xes.gz`` (building
permits, municipality 1) from ../shared/event_logs record completions only, so
every activity instance's start is estimated; BPIC 2015 has date-only
timestamps for about half of its events. Each is recorded in an in-memory store
and read back (timed as *read*), then ``find_blockers`` with the ``generiek``
profile and default options splits and ranks its waiting (timed as *split +
rank*). Logs that are missing are skipped with a message.

*A million events*: ``--teams`` one-year runs of the ``demo`` scenario (seeds
1, 2, ...; about 60,000 events each) side by side as the district teams of one
large municipality (case ids and resources prefixed with the team), recorded in
an SQLite store on disk. A fresh process loads the events and times the split
and ranking with the ``generiek`` profile; its peak RSS (``getrusage``) covers
loading, splitting and ranking, nothing of the simulation or recording.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

import knelpunt as kp
from knelpunt.analysis.waiting import PARTS

REPO: Final = Path(__file__).resolve().parent.parent
SHARED: Final = REPO.parent / "shared" / "event_logs"
RESULTS_MD: Final = Path(__file__).resolve().parent / "RESULTS.md"
SECTION: Final = "## Blocker analysis on completion-only logs"
BEFORE: Final = "## Reproduce"
PROFILE: Final = "generiek"
TOP: Final = 10
LOGS: Final = (
    ("receipt (CoSeLoG WABO, receipt phase)", "receipt.xes.gz"),
    ("BPIC 2015, municipality 1", "BPIC15_1.xes.gz"),
)
# The activity's label, where the log keeps one beside a coded name (BPIC 2015).
LABEL_COLUMN: Final = "activityNameEN"

READING: Final = """
How to read these (see also the module notes of `knelpunt.analysis.waiting`):
neither log records a start, so every start is estimated as the later of when
the case allowed it and when the resource completed its previous piece of work.
An instance whose resource was idle therefore waits zero seconds (its whole
span counts as processing), and an instance whose resource completed other work
in between waits exactly as long as that other work is taken to have lasted, so
contention and prioritisation are largely made by the estimate. Two rules of
the split keep waits for the outside world from being read as the resource's:
a resource free for more than an hour of working time between two pieces of
its (estimated) work had no queue then, so the wait before that is extraneous;
and being passed over by later cases is prioritisation only for a resource
seen to pass over work that was ready at once. Unavailability is counted
against the organisation's office hours (no hours can be learnt without
recorded starts). In BPIC 2015 the date-only events sit at local midnight, so
batches of them start at 00:00; batches that start at midnight to the second
are taken for dates, not for a scheduled run, and stay unclassified batching.

Would a domain expert find it plausible? *Receipt*: largely. The time goes to
the judgement steps (T06 stop advice, T02 check, T10), which fits a receipt
phase where most applications pass in minutes and a few are parked while
someone decides whether advice is needed; that waiting is shown as outside the
log (unclassified: the generic profile names no class, and nothing in the data
says whose it is), with a median of 4.7 working days per case at T06. T05's
batching (letters printed and sent in one sitting, about four per batch) is
believable and rightly unclassified. Office hours no longer lead the ranking
(before the two rules, the nights and weekends of long idle waits ranked
first, at 0.0 working days per case). *BPIC 2015*: mostly. Its longest waits
are legal terms and the applicant's time (receiving additional information
under AWB 4:5, the objection period, views on a draft decision, termination on
request), and the analysis now shows exactly those as waiting outside the
organisation (unclassified), with the backlog around the completeness check
(01_HOOFD_110_0: capacity) and informing the BAG administrator as the
organisation's own. A profile that classes the AWB45, BB, UOV and EIND steps
as client or protocol (legal terms) would name them; without recorded starts,
the split of contention against prioritisation is still not to be trusted.
"""


@dataclass(frozen=True, slots=True)
class LogResult:
    """What one log gives: sizes, timings, the split's totals, notes and top blockers."""

    name: str
    file: str
    events: int
    cases: int
    activities: int
    resources: int
    instances: int
    read_s: float
    analyse_s: float
    waiting_h: float
    totals: pd.DataFrame
    categories: pd.DataFrame
    notes: tuple[str, ...]
    top: pd.DataFrame
    diagnostics: dict[str, float]


def read_log(path: Path) -> tuple[kp.EventTable, dict[str, str], float]:
    """Record the log in an in-memory store and load it: the events, the activities'
    labels (when the log has them) and the seconds taken (labels not included)."""
    with kp.open_store(":memory:") as store:
        began = time.perf_counter()
        kp.ingest_log(store, path, duplicates="keep")
        events = kp.load_events(store)
        seconds = time.perf_counter() - began
        labels = activity_labels(kp.read_events(store, positions=False))
    return events, labels, seconds


def activity_labels(frame: pd.DataFrame) -> dict[str, str]:
    """Per coded activity name, its most frequent label in ``LABEL_COLUMN``."""
    if LABEL_COLUMN not in frame.columns:
        return {}
    named = frame[["concept:name", LABEL_COLUMN]].dropna()
    counts = named.groupby(["concept:name", LABEL_COLUMN]).size().reset_index(name="n")
    counts = counts.sort_values("n", ascending=False).drop_duplicates("concept:name")
    return {
        str(code): str(label)
        for code, label in zip(counts["concept:name"], counts[LABEL_COLUMN], strict=True)
        if str(label) != str(code)
    }


def analyse_log(name: str, path: Path) -> LogResult:
    events, labels, read_s = read_log(path)
    began = time.perf_counter()
    found = kp.find_blockers(events, profile=PROFILE)
    analyse_s = time.perf_counter() - began
    split = found.split
    top = found.to_frame().head(TOP)
    if not top.empty:
        top["label"] = [labels.get(str(activity), "") for activity in top["activity"]]
    return LogResult(
        name=name,
        file=path.name,
        events=len(events),
        cases=events.n_cases,
        activities=len(events.activities),
        resources=len(events.resources),
        instances=len(split.instances),
        read_s=read_s,
        analyse_s=analyse_s,
        waiting_h=float(split.instances["waiting_s"].sum()) / 3600,
        totals=split.totals(),
        categories=found.by_category(),
        notes=found.notes,
        top=top,
        diagnostics=diagnose(split),
    )


def diagnose(split: kp.WaitingSplit) -> dict[str, float]:
    """Facts about the data behind the split that a reader needs to judge it."""
    frame = split.instances
    waits = frame["waiting_s"].to_numpy(dtype=float)
    total = float(waits.sum())
    ordered = np.sort(waits)[::-1]
    largest = max(1, len(ordered) // 100)
    out = {
        "estimated_share": float((~frame["start_recorded"].astype(bool)).mean()),
        "waiting_share": float((waits > 0).mean()),
        "top1_share": float(ordered[:largest].sum() / total) if total > 0 else 0.0,
        "day_share": float((frame["precision"] == "day").mean()),
        "batches": float(len(split.batches)),
        "batches_midnight": 0.0,
    }
    if len(split.batches):
        local = split.batches["start"].dt.tz_convert(split.calendar.timezone)
        out["batches_midnight"] = float((local.dt.hour == 0).mean())
    return out


# --- about a million simulated events ----------------------------------------------


def simulated_log(teams: int) -> pd.DataFrame:
    """``teams`` one-year demo runs as one log of so many district teams."""
    frames = []
    for team in range(1, teams + 1):
        print(f"  simulating team {team} of {teams} ...", file=sys.stderr, flush=True)
        run = kp.simulate_scenario(None, "demo", seed=team)
        events = run.events
        prefix = f"T{team:02d}-"
        frames.append(
            pd.DataFrame(
                {
                    "case:concept:name": prefix + events["case_id"].astype(str),
                    "concept:name": events["activity"].astype(str),
                    "time:timestamp": pd.to_datetime(events["time_us"], unit="us", utc=True),
                    "lifecycle:transition": events["lifecycle"].astype(str),
                    "org:resource": (prefix + events["resource"].astype(str)).where(
                        events["resource"].notna()
                    ),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _peak_rss_mib() -> float:
    """The process's peak resident set (``getrusage``), MiB. On Linux a child counts
    from its parent's size when it was started, so the timing process is started
    before the parent simulates anything (see :func:`main`)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def _stdout_to_stderr() -> None:
    """In the timing process: DuckDB draws its progress bar on stdout, which is the
    report's; send it to stderr."""
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())


def _started() -> float:
    """Run first in the timing process: its peak RSS before any work."""
    return _peak_rss_mib()


def time_store(database: str, cache: str) -> dict[str, float]:
    """In a fresh process: load the store's events, then split and rank them."""
    began = time.perf_counter()
    with kp.open_store(database) as store:
        events = kp.load_events(store, cache=cache)
    load_s = time.perf_counter() - began
    loaded_mib = _peak_rss_mib()
    began = time.perf_counter()
    found = kp.find_blockers(events, profile=PROFILE)
    seconds = time.perf_counter() - began
    return {
        "events": float(len(events)),
        "cases": float(events.n_cases),
        "instances": float(len(found.split.instances)),
        "blockers": float(len(found.blockers)),
        "load_s": load_s,
        "seconds": seconds,
        "loaded_mib": loaded_mib,
        "peak_mib": _peak_rss_mib(),
    }


def time_million(teams: int, pool: concurrent.futures.Executor) -> dict[str, float]:
    """Simulate and record the large log here; load, split and rank it in ``pool``'s
    single process, started while this one was still small."""
    idle_mib = pool.submit(_started).result()
    began = time.perf_counter()
    log = simulated_log(teams)
    simulate_s = time.perf_counter() - began
    with tempfile.TemporaryDirectory(prefix="knelpunt-blockers-") as folder:
        database, cache = str(Path(folder) / "store.db"), str(Path(folder) / "cache")
        print(f"  recording {len(log):,} events ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        with kp.open_store(database) as store:
            kp.ingest_log(store, log, name=f"demo, {teams} teams", duplicates="keep")
            kp.load_events(store, cache=cache)  # written once, so the timed process reads it
        record_s = time.perf_counter() - began
        del log
        print("  splitting and ranking in a fresh process ...", file=sys.stderr, flush=True)
        measured = pool.submit(time_store, database, cache).result()
    return {
        "teams": float(teams),
        "simulate_s": simulate_s,
        "record_s": record_s,
        "idle_mib": idle_mib,
        **measured,
    }


# --- the report -------------------------------------------------------------------


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def log_markdown(result: LogResult) -> list[str]:
    rows = result.totals.to_dict("records")
    hours = {str(row["cause"]): float(row["hours"]) for row in rows}
    shares = {str(row["cause"]): float(row["share"]) for row in rows}
    facts = result.diagnostics
    lines = [
        f"### {result.name} (`{result.file}`)",
        "",
        f"{result.events:,} events, {result.cases:,} cases, {result.activities:,} activities, "
        f"{result.resources:,} resources; {result.instances:,} activity instances, "
        f"{facts['estimated_share']:.0%} with an estimated start, "
        f"{facts['day_share']:.0%} precise to a day. Read (record + load) "
        f"{result.read_s:.2f} s; split + rank {result.analyse_s:.2f} s.",
        "",
        f"Total waiting {result.waiting_h:,.0f} h. {facts['waiting_share']:.0%} of the "
        f"instances wait at all; the 1% that wait longest hold "
        f"{facts['top1_share']:.0%} of all waiting. {int(facts['batches']):,} batches, "
        f"{facts['batches_midnight']:.0%} of them starting at 00:00-01:00 local time.",
        "",
        "| cause | " + " | ".join(PARTS) + " |",
        "|---|" + "---:|" * len(PARTS),
        "| hours | " + " | ".join(f"{hours[p]:,.0f}" for p in PARTS) + " |",
        "| share | " + " | ".join(f"{100 * shares[p]:.1f}%" for p in PARTS) + " |",
        "",
        "By category (hours of the blockers kept): "
        + ", ".join(
            f"{row['category']} {float(row['waiting_h']):,.0f} h ({row['blockers']})"
            for row in result.categories.to_dict("records")
        )
        + ".",
        "",
        "Notes:",
        "",
        *(f"- {_cell(note)}" for note in result.notes),
        "",
        f"Top {TOP} blockers:",
        "",
        "| # | category | reason | activity | waiting (h) | cases | evidence |",
        "|---:|---|---|---|---:|---:|---|",
    ]
    for row in result.top.to_dict("records"):
        activity = f"{row['activity']} ({row['label']})" if row["label"] else row["activity"]
        lines.append(
            f"| {row['rank']} | {row['category']} | {row['reason']} | {_cell(activity)} "
            f"| {float(row['waiting_h']):,.0f} | {int(row['cases']):,} "
            f"| {_cell(row['evidence_en'])} |"
        )
    return [*lines, ""]


def markdown(results: Sequence[LogResult], million: dict[str, float] | None) -> str:
    lines = [
        SECTION,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.node()} "
        f"({platform.machine()}, Python {platform.python_version()}); "
        "`python -m benchmarks.blockers_logs --write`. Profile `generiek` (it classes "
        "no activity, so only the evidence decides), `find_blockers`' default options.",
        "",
    ]
    for result in results:
        lines += log_markdown(result)
    if million is not None:
        lines += [
            "### About a million events",
            "",
            f"{int(million['teams'])} one-year runs of the `demo` scenario (seeds 1 to "
            f"{int(million['teams'])}) as one log of so many district teams: simulated in "
            f"{million['simulate_s']:.0f} s, recorded in an SQLite store on disk in "
            f"{million['record_s']:.0f} s. Split and rank in a fresh process (profile "
            "`generiek`); peak RSS of that process (load, split and rank).",
            "",
            "| events | cases | activity instances | blockers | load (s) | split + rank (s) "
            "| RSS at start (MiB) | RSS after load (MiB) | peak RSS (MiB) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {int(million['events']):,} | {int(million['cases']):,} "
            f"| {int(million['instances']):,} | {int(million['blockers']):,} "
            f"| {million['load_s']:.1f} | {million['seconds']:.1f} "
            f"| {million['idle_mib']:,.0f} | {million['loaded_mib']:,.0f} "
            f"| {million['peak_mib']:,.0f} |",
            "",
        ]
    return "\n".join(lines) + READING


def replace_section(current: str, text: str) -> str:
    """``current`` with the section titled ``SECTION`` replaced by ``text`` (up to the
    next level-2 heading outside a code block), else ``text`` put before ``BEFORE``
    (else at the end). Titles match whole lines, so no other section is touched."""
    lines = current.splitlines(keepends=True)
    headings: list[tuple[int, str]] = []
    fenced = False
    for number, line in enumerate(lines):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            headings.append((number, line.strip()))
    block = text.rstrip("\n") + "\n"
    starts = [number for number, title in headings if title == SECTION]
    if starts:
        start = starts[0]
        end = next((number for number, _ in headings if number > start), len(lines))
        tail = "".join(lines[end:])
        return "".join(lines[:start]) + block + ("\n" + tail if tail else "")
    before = [number for number, title in headings if title == BEFORE]
    if before:
        at = before[0]
        return "".join(lines[:at]) + block + "\n" + "".join(lines[at:])
    return current.rstrip("\n") + "\n\n" + block


def run(
    teams: int, pool: concurrent.futures.Executor
) -> tuple[list[LogResult], dict[str, float] | None]:
    results = []
    for name, file in LOGS:
        path = SHARED / file
        if not path.exists():
            print(f"skipped {name}: {path} not found", file=sys.stderr, flush=True)
            continue
        print(f"analysing {name} ...", file=sys.stderr, flush=True)
        results.append(analyse_log(name, path))
    million = None
    if teams > 0:
        print(f"timing {teams} simulated teams ...", file=sys.stderr, flush=True)
        million = time_million(teams, pool)
    return results, million


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="Update benchmarks/RESULTS.md.")
    parser.add_argument(
        "--teams",
        type=int,
        default=17,
        help="One-year demo runs in the large log (17: about a million events; 0 skips it).",
    )
    args = parser.parse_args(argv)
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        1, mp_context=context, initializer=_stdout_to_stderr
    ) as pool:
        if args.teams > 0:
            pool.submit(_started).result()  # start the timing process while this one is small
        results, million = run(args.teams, pool)
    text = markdown(results, million)
    print(text)
    if args.write:
        current = RESULTS_MD.read_text(encoding="utf-8")
        RESULTS_MD.write_text(replace_section(current, text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
