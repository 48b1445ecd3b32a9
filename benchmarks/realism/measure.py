"""The log-distance measures between event logs, in the realism environment (pandas 2).

``python -m benchmarks.realism.measure FOLDER RESULT_JSON REF:OTHER [REF:OTHER ...]``

Runs in ``benchmarks/data/venv-realism`` (see ``benchmarks/simulation.py``), never in
knelpunt's own ``.venv``: it imports only the pinned ``log-distance-measures`` 2.2.0 and
pandas 2. Each name stands for ``FOLDER/NAME.csv`` with the columns case, activity,
start, end (ISO 8601 with a UTC offset) and resource.

Every log is taken as completion events (start = end), because the real log
(receipt) records completions only. The control-flow measures are computed two
ways: on the activity labels as they are, and on trace patterns, where each
activity becomes the order of its first occurrence in its trace (``A B A C``
becomes ``1 2 1 3``), so only the shape of a trace (length, repetition) counts and
logs with different activity names can be compared.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from log_distance_measures.absolute_event_distribution import (
    absolute_event_distribution_distance,
)
from log_distance_measures.case_arrival_distribution import case_arrival_distribution_distance
from log_distance_measures.circadian_event_distribution import (
    circadian_event_distribution_distance,
)
from log_distance_measures.circadian_workforce_distribution import (
    circadian_workforce_distribution_distance,
)
from log_distance_measures.config import EventLogIDs, discretize_to_day
from log_distance_measures.control_flow_log_distance import control_flow_log_distance
from log_distance_measures.cycle_time_distribution import cycle_time_distribution_distance
from log_distance_measures.n_gram_distribution import n_gram_distribution_distance
from log_distance_measures.relative_event_distribution import (
    relative_event_distribution_distance,
)

IDS = EventLogIDs(
    case="case", activity="activity", start_time="start", end_time="end", resource="resource"
)
TIMEZONE = "Europe/Amsterdam"
WEEK = pd.Timedelta(weeks=1)


def read_log(path: Path) -> pd.DataFrame:
    """A CSV log in local time, as completion events (start = end), sorted per case."""
    frame = pd.read_csv(path, dtype={"case": str, "activity": str, "resource": str})
    end = pd.to_datetime(frame["end"], utc=True, format="ISO8601").dt.tz_convert(TIMEZONE)
    frame["end"] = end
    frame["start"] = end
    return frame.sort_values(["case", "end"], kind="stable", ignore_index=True)


def by_pattern(frame: pd.DataFrame) -> pd.DataFrame:
    """Each activity renamed by the order of its first occurrence in its trace."""
    first = frame.groupby(["case", "activity"], sort=False).cumcount() == 0
    order = first.astype(int).groupby(frame["case"], sort=False).cumsum()
    seen = frame.assign(order=order)
    number = seen[first].set_index(["case", "activity"])["order"]
    keys = pd.MultiIndex.from_frame(frame[["case", "activity"]])
    return frame.assign(activity=[f"P{n}" for n in number.reindex(keys).to_numpy()])


def aligned(reference: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """``other`` moved by whole weeks so that its first case starts in the week the
    reference's does (weekday and time of day kept); for the timeline measures."""
    weeks = round((reference["start"].min() - other["start"].min()) / WEEK)
    shift = weeks * WEEK
    return other.assign(start=other["start"] + shift, end=other["end"] + shift)


def describe(frame: pd.DataFrame) -> dict[str, Any]:
    """What a reader needs to judge the distances: size, shape and timing of the log."""
    cases = frame.groupby("case", sort=False)
    cycle = (cases["end"].max() - cases["start"].min()).dt.total_seconds() / 86400
    traces = cases["activity"].agg(tuple)
    hours = frame["end"].dt.hour
    weekday = frame["end"].dt.day_of_week < 5
    return {
        "cases": int(frame["case"].nunique()),
        "events": len(frame),
        "activities": int(frame["activity"].nunique()),
        "resources": int(frame["resource"].dropna().nunique()),
        "events_per_case": len(frame) / max(frame["case"].nunique(), 1),
        "variants": int(traces.nunique()),
        "cycle_days_median": float(cycle.median()),
        "cycle_days_p90": float(cycle.quantile(0.9)),
        "office_hours_share": float((weekday & (hours >= 8) & (hours < 18)).mean()),
        "first": frame["start"].min().isoformat(),
        "last": frame["end"].max().isoformat(),
    }


def _measures() -> dict[str, Callable[[pd.DataFrame, pd.DataFrame], float]]:
    day = pd.Timedelta(days=1)

    def control_flow(
        view: Callable[[pd.DataFrame], pd.DataFrame],
        measure: Callable[..., float],
        **options: Any,
    ) -> Callable[[pd.DataFrame, pd.DataFrame], float]:
        return lambda a, b: measure(view(a), IDS, view(b), IDS, **options)

    def same(frame: pd.DataFrame) -> pd.DataFrame:
        return frame

    def staffed(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.dropna(subset=["resource"])

    return {
        "cfld_labels": control_flow(same, control_flow_log_distance),
        "cfld_patterns": control_flow(by_pattern, control_flow_log_distance),
        "ngram3_labels": control_flow(same, n_gram_distribution_distance, n=3),
        "ngram3_patterns": control_flow(by_pattern, n_gram_distribution_distance, n=3),
        "cycle_time_days": lambda a, b: cycle_time_distribution_distance(
            a, IDS, b, IDS, bin_size=day
        ),
        "relative_event_days": lambda a, b: relative_event_distribution_distance(
            a, IDS, b, IDS, discretize_event=discretize_to_day
        ),
        "circadian_event_hours": lambda a, b: circadian_event_distribution_distance(a, IDS, b, IDS),
        "circadian_workforce_hours": lambda a, b: circadian_workforce_distribution_distance(
            staffed(a), IDS, staffed(b), IDS
        ),
        "case_arrival_days": lambda a, b: case_arrival_distribution_distance(
            a, IDS, aligned(a, b), IDS, discretize_event=discretize_to_day
        ),
        "absolute_event_days": lambda a, b: absolute_event_distribution_distance(
            a, IDS, aligned(a, b), IDS, discretize_event=discretize_to_day
        ),
    }


def main(argv: list[str]) -> int:
    folder, result, pairs = Path(argv[0]), Path(argv[1]), [p.split(":") for p in argv[2:]]
    names = sorted({name for pair in pairs for name in pair})
    logs = {name: read_log(folder / f"{name}.csv") for name in names}
    comparisons = []
    for reference, other in pairs:
        distances, seconds = {}, {}
        for key, measure in _measures().items():
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                distances[key] = float(measure(logs[reference], logs[other]))
            seconds[key] = time.perf_counter() - started
            print(f"  {reference} vs {other}: {key} = {distances[key]:.4f}", file=sys.stderr)
        comparisons.append(
            {"reference": reference, "other": other, "distances": distances, "seconds": seconds}
        )
    packages = ("log-distance-measures", "pandas", "numpy", "scipy", "jellyfish", "PuLP")
    result.write_text(
        json.dumps(
            {
                "described": {name: describe(frame) for name, frame in logs.items()},
                "comparisons": comparisons,
                "environment": {
                    "python": sys.version.split()[0],
                    **{p: metadata.version(p) for p in packages},
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
