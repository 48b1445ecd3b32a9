"""Policy-criteria benchmarks (issue 6): how long evaluating the criteria and
comparing two sets take, and the throughput and staffing criteria beside the same
counts made with pm4py.

Run from the repository root (prints Markdown; ``--write`` also replaces the
"Policy criteria and comparison" section of benchmarks/RESULTS.md)::

    .venv/bin/python -m benchmarks.criteria [--write] [--repeat 3]

*Logs*: the demo year (``knelpunt demo``: a simulated social team, 2025) with
the ``sociaal-domein`` profile, and BPIC 2015 municipality 1 (real, from
../shared/event_logs) with the ``generiek`` profile. Recording is not timed;
each timing is the best of ``--repeat`` runs in this process.

*pm4py side by side* (BPIC 2015): "closed within eight weeks" as pm4py's case
durations (``pm4py.get_all_case_durations``) of at most 56 days, and "at most
three professionals" as the distinct ``org:resource`` per case on pm4py's
DataFrame. knelpunt's own count differs where the rules differ: a term ends
with the local calendar day, not after 56 x 24 hours, and a case still running
when the log ends is not measurable rather than passed.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

import knelpunt as kp
from benchmarks.sections import write_section

REPO: Final = Path(__file__).resolve().parent.parent
BPIC15_1: Final = REPO.parent / "shared" / "event_logs" / "BPIC15_1.xes.gz"
SECTION: Final = "## Policy criteria and comparison"
ZONE: Final = ZoneInfo("Europe/Amsterdam")
T = TypeVar("T")


def best_of(repeat: int, work: Callable[[], T]) -> tuple[float, T]:
    """The shortest wall time of ``repeat`` runs, and the last result."""
    times = []
    result: Any = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def demo_rows(repeat: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with kp.open_store(":memory:") as store:
        run = kp.simulate_scenario(store, "demo")
        events = kp.load_events(store)
        attributes = kp.read_case_attributes(store)
        groups = kp.read_resource_groups(store, attribute="org:group")
        common: dict[str, Any] = {
            "profile": "sociaal-domein",
            "attributes": attributes,
            "groups": groups,
        }
        label = f"demo year ({run.cases:,} cases, {len(events.time_us):,} events)"
        seconds, plain = best_of(
            repeat, lambda: kp.evaluate_criteria(events, blockers=False, **common)
        )
        rows.append(
            {
                "operation": "evaluate_criteria, 13 criteria, no blocker links",
                "log": label,
                "seconds": seconds,
                "result": _card(plain, "eerste-contact"),
            }
        )
        seconds, linked = best_of(
            repeat, lambda: kp.evaluate_criteria(events, blockers=True, **common)
        )
        rows.append(
            {
                "operation": "evaluate_criteria with blockers found and linked",
                "log": label,
                "seconds": seconds,
                "result": f"{len(linked.links):,} links",
            }
        )
        half = datetime(2025, 7, 1, tzinfo=ZONE)
        first = kp.select_cases(events, until=half)
        second = kp.select_cases(events, since=half)
        for blockers in (False, True):
            seconds, found = best_of(
                repeat,
                lambda blockers=blockers: kp.compare(  # type: ignore[misc]
                    first, second, blockers=blockers, resamples=1000, **common
                ),
            )
            significant = int(found.criteria["significant"].fillna(False).sum())
            rows.append(
                {
                    "operation": "compare, 1,000 resamples"
                    + (", with blockers" if blockers else ""),
                    "log": f"demo: first vs second half ({first.n_cases:,} / "
                    f"{second.n_cases:,} cases)",
                    "seconds": seconds,
                    "result": f"{significant} of {len(found.criteria)} criteria significant",
                }
            )
    return rows


def bpic_rows(repeat: int) -> list[dict[str, Any]]:
    import pm4py

    rows: list[dict[str, Any]] = []
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, BPIC15_1)
        events = kp.load_events(store)
        label = f"BPIC 2015 mun. 1 ({events.n_cases:,} cases, {len(events.time_us):,} events)"
        seconds, found = best_of(
            repeat, lambda: kp.evaluate_criteria(events, profile="generiek", blockers=False)
        )
        rows.append(
            {
                "operation": "knelpunt: evaluate_criteria, generiek (3 criteria)",
                "log": label,
                "seconds": seconds,
                "result": f"{_card(found, 'doorlooptijd')}; {_card(found, 'behandelaars')}",
            }
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "install r4pm": a hint, not a fault
        log = pm4py.read_xes(str(BPIC15_1))

    def by_pm4py() -> tuple[float, float]:
        durations = pm4py.get_all_case_durations(log)
        within = sum(d <= 56 * 86_400 for d in durations) / len(durations)
        people = log.groupby("case:concept:name")["org:resource"].nunique()
        return within, float((people <= 3).mean())

    seconds, (within, staffed) = best_of(repeat, by_pm4py)
    rows.append(
        {
            "operation": "pm4py: case durations <= 56 days; distinct org:resource <= 3",
            "log": label,
            "seconds": seconds,
            "result": f"doorlooptijd {within:.1%} of {log['case:concept:name'].nunique():,}; "
            f"behandelaars {staffed:.1%}",
        }
    )
    return rows


def _card(result: kp.CriteriaResult, criterion: str) -> str:
    row = result.scorecard().set_index("criterion").loc[criterion]
    return (
        f"{criterion} {row['compliance']:.1%} of {int(row['measured']):,} measured "
        f"({int(row['not_measurable']):,} not measurable)"
    )


def markdown(rows: list[dict[str, Any]], repeat: int) -> str:
    lines = [
        SECTION,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {platform.node()} ({platform.machine()}, "
        f"Python {platform.python_version()}); `python -m benchmarks.criteria --write`, "
        f"best of {repeat}.",
        "",
        "| operation | log | s | result |",
        "|---|---|---:|---|",
    ]
    lines += [
        f"| {row['operation']} | {row['log']} | {row['seconds']:.2f} | {row['result']} |"
        for row in rows
    ]
    lines += [
        "",
        "pm4py has no policy criteria; its row counts the same two rules from its own",
        "case durations and resources. knelpunt's rule ends a term with the local",
        "calendar day (not after 56 x 24 hours) and leaves out cases whose term still",
        "ran when the log ended (not measurable), so the shares differ slightly.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="Update benchmarks/RESULTS.md.")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print("demo year ...", file=sys.stderr, flush=True)
    rows = demo_rows(args.repeat)
    if BPIC15_1.exists():
        print("BPIC 2015 ...", file=sys.stderr, flush=True)
        rows += bpic_rows(args.repeat)
    else:
        print(f"skipped BPIC 2015: {BPIC15_1} not found", file=sys.stderr)
    text = markdown(rows, args.repeat)
    print(text)
    if args.write:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
