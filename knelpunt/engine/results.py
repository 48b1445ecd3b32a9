"""A :class:`~knelpunt.engine.compute.RelationalResult` written to a folder and read back.

What a cluster computes comes back small: a few dozen edges, one row per
activity, per variant and per case. :func:`export_relational` writes them as
Parquet files (any Parquet reader opens them) with a small JSON summary;
:func:`read_relational` gives the same result again, on another machine, in
another Python, without Spark:

============================ =================================================
file                         holds
============================ =================================================
``summary.json``             format, engine, events, cases, start and end
                             activities, calendar or working time
``edges.parquet``            the map's edges
``activities.parquet``       per activity its count and cases
``variants.parquet``         the variants (activities as a list of names)
``cases.parquet``            the case table
``activity_times.parquet``   per activity its waiting and processing
                             (:func:`~knelpunt.compute_instances`), if given
``waiting.parquet``          per source and activity the waiting by cause
                             (:func:`~knelpunt.compute_waiting`), if given
``criteria.parquet``         per source and criterion the scorecard
                             (:func:`~knelpunt.compute_criteria`), if given
============================ =================================================

The dashboard's cluster page (``knelpunt-dashboard --results FOLDER``) shows
every result folder in a folder: :func:`find_results` lists them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Final

import pandas as pd

from knelpunt.engine.compute import InstanceResult, RelationalResult
from knelpunt.engine.criteria import CriteriaScores, reasons_as_text, reasons_from_text
from knelpunt.engine.waiting import WaitingResult
from knelpunt.errors import UnsupportedFormatError
from knelpunt.mining.maps import ProcessMap

__all__ = ["export_relational", "find_results", "read_relational"]

_FORMAT: Final = 1
_FRAMES: Final = ("edges", "activities", "variants", "cases")


def export_relational(
    result: RelationalResult,
    folder: str | Path,
    *,
    instances: InstanceResult | None = None,
    waiting: WaitingResult | None = None,
    criteria: CriteriaScores | None = None,
) -> Path:
    """Write the result to a folder: Parquet files and a JSON summary.

    What else the cluster computed of the same events goes with it: the activities'
    waiting and processing, the waiting by cause, the criteria per source.

    The folder is written beside its place and moved there whole, so a failure
    half-way leaves nothing; an existing folder is replaced only if it holds a
    result written here.

    Args:
        result: what :func:`knelpunt.compute_relational` returned.
        folder: where to write it.
        instances: what :func:`knelpunt.compute_instances` returned, to keep its
            per-activity times.
        waiting: what :func:`knelpunt.compute_waiting` returned.
        criteria: what :func:`knelpunt.compute_criteria` returned.

    Returns:
        The folder.

    Raises:
        UnsupportedFormatError: ``folder`` exists and is not a result folder.

    Example:
        >>> import tempfile, pathlib
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     found = kp.compute_relational(kp.load_events(store))
        >>> where = kp.export_relational(found, pathlib.Path(tempfile.mkdtemp()) / "result")
        >>> sorted(p.name for p in where.iterdir())[:2]
        ['activities.parquet', 'cases.parquet']

    .. versionadded:: 0.1
    """
    target = Path(folder)
    if target.exists() and not (target / "summary.json").is_file():
        raise UnsupportedFormatError(
            f"{target} exists and holds no knelpunt result (no summary.json); choose a new "
            "folder, or remove this one first."
        )
    found = result.process_map
    summary: dict[str, Any] = {
        "format": _FORMAT,
        "engine": result.engine,
        "events": found.events,
        "cases": found.cases,
        "start_activities": found.start_activities,
        "end_activities": found.end_activities,
        "durations": "calendar time" if found.calendar is None else "working time",
        "notes": list(found.notes),
        "filters": list(result.filters),
    }
    if instances is not None:
        summary["instances"] = {
            "count": instances.count,
            "estimated": instances.estimated,
            "open": instances.open,
            "notes": list(instances.notes),
        }
    if waiting is not None:
        summary["waiting"] = {"notes": {str(k): list(v) for k, v in waiting.notes.items()}}
    if criteria is not None:
        summary["criteria"] = {"notes": {str(k): list(v) for k, v in criteria.notes.items()}}
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        found.edges.to_parquet(staging / "edges.parquet", index=False)
        found.activities.to_parquet(staging / "activities.parquet", index=False)
        variants = result.variants.assign(activities=result.variants["activities"].map(list))
        variants.to_parquet(staging / "variants.parquet", index=False)
        result.cases.to_parquet(staging / "cases.parquet", index=False)
        if instances is not None:
            instances.activities.to_parquet(staging / "activity_times.parquet", index=False)
        if waiting is not None:
            waiting.by_activity.to_parquet(staging / "waiting.parquet", index=False)
        if criteria is not None:
            reasons_as_text(criteria.by_source).to_parquet(
                staging / "criteria.parquet", index=False
            )
        (staging / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def read_relational(folder: str | Path) -> RelationalResult:
    """Read a result :func:`export_relational` wrote, as it was computed.

    Args:
        folder: the folder written.

    Returns:
        The map, the variants and the case table, and what else was written with them
        (``activity_times``, ``waiting``, ``criteria``; None where not). A result in
        working time says so in its map's notes (the calendar itself is not kept).

    Raises:
        UnsupportedFormatError: the folder is missing, incomplete, or from a newer
            knelpunt.

    Example:
        >>> import tempfile, pathlib
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     found = kp.compute_relational(kp.load_events(store))
        >>> where = kp.export_relational(found, pathlib.Path(tempfile.mkdtemp()) / "result")
        >>> again = kp.read_relational(where)
        >>> again.process_map.cases, again.variants["activities"].tolist()[0][:2]
        (3, ('Melding ontvangen', 'Keukentafelgesprek'))

    .. versionadded:: 0.1
    """
    source = Path(folder)
    missing = [
        name
        for name in ("summary.json", *(f"{f}.parquet" for f in _FRAMES))
        if not (source / name).is_file()
    ]
    if missing:
        raise UnsupportedFormatError(
            f"{source} holds no complete knelpunt result (missing {', '.join(missing)}). "
            "Write one with kp.export_relational(result, folder) or knelpunt map --save."
        )
    summary = json.loads((source / "summary.json").read_text(encoding="utf-8"))
    if summary.get("format") != _FORMAT:
        raise UnsupportedFormatError(
            f"{source} was written in result format {summary.get('format')!r}; this "
            f"knelpunt reads format {_FORMAT}. Read it with the knelpunt that wrote it, or "
            "compute it again."
        )
    frames = {name: pd.read_parquet(source / f"{name}.parquet") for name in _FRAMES}
    variants = frames["variants"]
    traces = pd.Series(
        [tuple(str(a) for a in trace) for trace in variants["activities"]],
        index=variants.index,
        dtype=object,
    )
    variants = variants.assign(activities=traces)
    notes = tuple(summary.get("notes", ()))
    if summary.get("durations") == "working time":
        notes += ("Durations are in working time (the calendar is not kept with the result).",)
    process_map = ProcessMap(
        edges=frames["edges"],
        activities=frames["activities"],
        start_activities={str(k): int(v) for k, v in summary["start_activities"].items()},
        end_activities={str(k): int(v) for k, v in summary["end_activities"].items()},
        events=int(summary["events"]),
        cases=int(summary["cases"]),
        notes=notes,
    )
    extras = {
        name: pd.read_parquet(source / f"{name}.parquet")
        for name in ("activity_times", "waiting", "criteria")
        if (source / f"{name}.parquet").is_file()
    }
    if "criteria" in extras:
        extras["criteria"] = reasons_from_text(extras["criteria"])
    return RelationalResult(
        process_map=process_map,
        variants=variants,
        cases=frames["cases"],
        engine=str(summary["engine"]),
        filters=tuple(str(f) for f in summary.get("filters", ())),
        **extras,
    )


def find_results(folder: str | Path) -> list[Path]:
    """The result folders :func:`export_relational` wrote in ``folder`` (or ``folder``
    itself, if it is one), by name; none when it is missing.

    Example:
        >>> import tempfile, pathlib
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     found = kp.compute_relational(kp.load_events(store))
        >>> home = pathlib.Path(tempfile.mkdtemp())
        >>> _ = kp.export_relational(found, home / "2025")
        >>> [p.name for p in kp.find_results(home)]
        ['2025']
    """
    home = Path(folder)
    if (home / "summary.json").is_file():
        return [home]
    if not home.is_dir():
        return []
    return sorted(p for p in home.iterdir() if (p / "summary.json").is_file())
