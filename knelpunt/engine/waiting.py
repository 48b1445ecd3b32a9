"""Why cases wait, on the engines: instances where the events are, the split per source.

The split of a wait into batching, contention, prioritisation, unavailability and
extraneous time (:func:`knelpunt.split_waiting`) is not relational: a batch grows
while its members keep arriving, a resource's busy time is swept in order. What
is relational, the activity instances with their enabled, start and completion
times, the engine computes (:mod:`knelpunt.engine.instances`); the split itself
then runs per source, since a source is one organisation whose resources and
hours are its own: on Spark one task per source on the executors (a grouped map,
``applyInPandas``), on DuckDB one after the other in this process. Only one row
per source and activity comes back.

The executors need knelpunt installed for this step (the relational steps need it
on the driver only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

import pandas as pd

from knelpunt.analysis.waiting import (
    PARTS,
    cause_totals,
    check_split_options,
    split_waiting,
)
from knelpunt.engine.compute import instance_frame
from knelpunt.engine.filters import EventFilter
from knelpunt.mining.instances import ActivityInstances, instance_notes
from knelpunt.mining.projection import EventTable
from knelpunt.worktime import WorkCalendar

if TYPE_CHECKING:
    from knelpunt.engine.backends import Engine

__all__ = ["WaitingResult", "compute_waiting"]

_COLUMNS: Final = (
    "source_id",
    "activity",
    "instances",
    "waits",
    "waiting_s",
    *(f"{part}_s" for part in PARTS),
    "notes",
)
_SPARK_SCHEMA: Final = ", ".join(
    ["source_id long", "activity string", "instances long", "waits long", "waiting_s double"]
    + [f"{part}_s double" for part in PARTS]
    + ["notes string"]
)


@dataclass(frozen=True, slots=True)
class WaitingResult:
    """Every wait of a log split into its causes, per source and activity, from an engine.

    Attributes:
        by_activity: per source and activity: instances, waits (instances that waited),
            the waiting seconds and the seconds of each part (``batching_s``,
            ``contention_s``, ``prioritisation_s``, ``unavailability_s``,
            ``extraneous_s``, ``undetermined_s``), which add up to ``waiting_s``.
        notes: per source, what a reader must know about the data behind its split.
        calendar: the organisation's working calendar used.
        engine: ``"duckdb"`` or ``"spark"``.
        filters: what the filters kept, in words.
    """

    by_activity: pd.DataFrame
    notes: Mapping[int, tuple[str, ...]]
    calendar: WorkCalendar
    engine: str
    filters: tuple[str, ...] = ()

    def totals(self) -> pd.DataFrame:
        """Per part: seconds, hours and share of all waiting (as
        :meth:`knelpunt.WaitingSplit.totals`)."""
        return cause_totals(self.by_activity)

    def to_frame(self) -> pd.DataFrame:
        """The per-source, per-activity split (see :attr:`by_activity`)."""
        return self.by_activity

    def _repr_html_(self) -> str:
        table = self.totals().assign(share=lambda f: (100 * f["share"]).round(1))
        return (
            f"<p>Waiting of {int(self.by_activity['instances'].sum()):,} activity instances "
            f"in {self.by_activity['source_id'].nunique():,} source(s), by cause (share in "
            f"%), computed on {self.engine}.</p>"
            f"{table.to_html(index=False, float_format='{:,.1f}'.format)}"
        )


def compute_waiting(
    events: EventTable | str | Path | None = None,
    *,
    table: str | None = None,
    engine: Engine = "duckdb",
    spark: Any = None,
    calendar: WorkCalendar | None = None,
    filters: EventFilter | None = None,
    hours: Literal["discover", "profile"] = "discover",
    multitasking: float | None = 0.5,
    idle_gap_s: float | None = 3600.0,
    prioritisation: Literal["evidence", "kronos"] = "evidence",
    batch_min_size: int = 2,
    batch_gap_s: float = 0.0,
    per: Literal["source"] | None = "source",
) -> WaitingResult:
    """Split every wait into its causes, with the instances computed by DuckDB or Spark.

    The activity instances are those of :func:`knelpunt.compute_instances`; each
    source's are then split as :func:`knelpunt.split_waiting` splits them (read its
    options there), on Spark by the executors, one task per source.

    Args:
        events: an event table, or the path (on Spark also the storage URL) of a
            Parquet file or folder, as for :func:`knelpunt.compute_relational`.
        table: instead of ``events``, a table of the Spark session.
        engine: ``"duckdb"`` or ``"spark"``.
        spark: the SparkSession to use.
        calendar: the organisation's working calendar (default: Monday to Friday
            09:00-17:00 with Dutch public holidays).
        filters: analyse only the events these filters keep.
        hours, multitasking, idle_gap_s, prioritisation, batch_min_size, batch_gap_s:
            as for :func:`knelpunt.split_waiting`.
        per: ``"source"`` splits each source apart (one organisation each: a resource
            named in two sources is two people, and the sources are split in parallel);
            None splits the whole log at once, in one task (``source_id`` 0), as
            ``split_waiting`` does.

    Returns:
        Per source and activity, the waiting and its parts; the notes per source.

    Raises:
        EngineError: as :func:`knelpunt.compute_relational`.
        AnalysisError: an option out of its range.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=20, seed=2), name="demo")
        ...     events = kp.load_events(store)
        >>> found = kp.compute_waiting(events)  # engine="spark" splits on the executors
        >>> whole = found.by_activity
        >>> bool(abs(whole[[c for c in whole if c.endswith("_s")]].sum().iloc[1:].sum()
        ...          - whole["waiting_s"].sum()) < 1e-3)
        True

    .. versionadded:: 0.1
    """
    from knelpunt.engine import instances as steps
    from knelpunt.engine.backends import open_backend

    used = calendar or WorkCalendar.office_hours()
    options: dict[str, Any] = {
        "hours": hours,
        "multitasking": multitasking,
        "idle_gap_s": idle_gap_s,
        "prioritisation": prioritisation,
        "batch_min_size": batch_min_size,
        "batch_gap_s": batch_gap_s,
    }
    check_split_options(**options)  # here, before the engine runs, not in every task
    with open_backend(engine, spark=spark) as backend:
        relation = backend.events(events, table=table, calendar=used, midnights=used.timezone)
        relation, said = (filters or EventFilter()).apply(backend, relation)
        found, unstarted = steps.instances(relation, working=True)
        found = found.mutate(_part=found.source_id if per == "source" else 0)
        unstarted = unstarted.mutate(_part=unstarted.source_id if per == "source" else 0)
        waiting = backend.run(unstarted.group_by("_part").aggregate(n=unstarted.count()))
        pending = dict(
            zip(
                waiting.column("_part").to_pylist(),
                waiting.column("n").to_pylist(),
                strict=True,
            )
        )
        task = partial(_split_source, calendar=used, unstarted=pending, options=options)
        if backend.engine == "spark":
            rows = _on_spark(backend, found, task)
        else:
            rows = _in_process(backend.run(found).to_pandas(), task)
    rows = rows.sort_values(["source_id", "waiting_s", "activity"], ascending=[True, False, True])
    firsts = rows.groupby("source_id")["notes"].first()
    notes = {
        int(source): tuple(str(text).split("\n")) if text else ()
        for source, text in zip(firsts.index.tolist(), firsts.tolist(), strict=True)
    }
    return WaitingResult(
        by_activity=rows.drop(columns="notes").reset_index(drop=True),
        notes=notes,
        calendar=used,
        engine=backend.engine,
        filters=said,
    )


def _instances(frame: pd.DataFrame, calendar: WorkCalendar, *, unstarted: int) -> ActivityInstances:
    """One source's instance rows as ``pair_instances`` would have given them."""
    frame = frame.sort_values(["first", "anchor"], kind="stable")
    shaped = instance_frame(frame, working=True)
    status = frame["status"].to_numpy()
    counts = {
        "estimated": int(
            ((~frame["start_recorded"].to_numpy(dtype=bool)) & (status != "open")).sum()
        ),
        "open": int((status == "open").sum()),
        "unstarted": unstarted,
        "day_precision": int((frame["precision"].to_numpy() == "day").sum()),
    }
    return ActivityInstances(
        instances=shaped.reset_index(drop=True),
        calendar=calendar,
        notes=instance_notes(len(shaped), **counts, estimate=True),
        **counts,
    )


def _split_source(
    frame: pd.DataFrame,
    *,
    calendar: WorkCalendar,
    unstarted: Mapping[int, int],
    options: Mapping[str, Any],
) -> pd.DataFrame:
    """One part's instances split (a source, or all): its per-activity rows (runs on an
    executor)."""
    source = int(frame["_part"].iloc[0])
    paired = _instances(frame, calendar, unstarted=int(unstarted.get(source, 0)))
    split = split_waiting(paired, calendar=calendar, **options)
    rows = split.by_activity()
    rows.insert(0, "source_id", source)
    rows["waits"] = rows["waits"].astype("int64")
    rows["instances"] = rows["instances"].astype("int64")
    rows["notes"] = "\n".join(split.notes)
    return rows[list(_COLUMNS)]


def _in_process(frame: pd.DataFrame, task: Any) -> pd.DataFrame:
    parts: list[pd.DataFrame] = [task(g) for _, g in frame.groupby("_part", sort=True)]
    if not parts:
        return pd.DataFrame({c: [] for c in _COLUMNS})
    return pd.concat(parts, ignore_index=True)


def _on_spark(backend: Any, found: Any, task: Any) -> pd.DataFrame:
    """The split on Spark's executors: the instances grouped by source, one task each."""
    rows = backend.session.sql(backend.connection.compile(found))
    split = rows.groupBy("_part").applyInPandas(task, schema=_SPARK_SCHEMA)
    collected: pd.DataFrame = backend.collect(split).to_pandas()
    return collected
