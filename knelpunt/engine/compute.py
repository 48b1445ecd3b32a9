"""The relational results (map, variants, case table) on DuckDB or Spark, as knelpunt's own.

:func:`compute_relational` runs the Ibis definitions of
:mod:`knelpunt.engine.definitions` on the chosen engine and brings the results
back as the same records and DataFrames the in-memory functions give
(:func:`~knelpunt.mining.maps.discover_map`,
:func:`~knelpunt.mining.maps.list_variants`,
:func:`~knelpunt.mining.maps.summarise_cases`), so a notebook or the dashboard
can use either. The engines only aggregate; the small results are named,
sorted and shaped here, in one place for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from knelpunt.engine.filters import EventFilter
from knelpunt.mining.instances import INSTANCE_COLUMNS, instance_notes
from knelpunt.mining.maps import EDGE_COLUMNS, VARIANT_COLUMNS, ProcessMap, case_frame
from knelpunt.mining.projection import EventTable
from knelpunt.worktime import WorkCalendar

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

    from knelpunt.engine.backends import Backend, Engine

__all__ = ["InstanceResult", "RelationalResult", "compute_instances", "compute_relational"]


@dataclass(frozen=True, slots=True)
class RelationalResult:
    """The process map, the variants and the case table of one log, from one engine.

    Attributes:
        process_map: as :func:`knelpunt.discover_map` gives it (event level).
        variants: as :func:`knelpunt.list_variants` gives them.
        cases: as :func:`knelpunt.summarise_cases` gives it, in the order the cases
            were first recorded.
        engine: the engine that computed them, ``"duckdb"`` or ``"spark"``.
        filters: what the filters kept, in words (empty: every event).
        activity_times, waiting, criteria: what else was computed of the same events
            and kept with a result (:func:`knelpunt.read_relational`): per activity its
            waiting and processing, per source and activity the waiting by cause, per
            source the criteria's scorecard; None otherwise.
    """

    process_map: ProcessMap
    variants: pd.DataFrame
    cases: pd.DataFrame
    engine: str
    filters: tuple[str, ...] = ()
    activity_times: pd.DataFrame | None = None
    waiting: pd.DataFrame | None = None
    criteria: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """The map's edges (see :attr:`process_map`)."""
        return self.process_map.edges

    def _repr_html_(self) -> str:
        head = (
            f"<p>Computed on {self.engine}: {self.process_map.events:,} events of "
            f"{self.process_map.cases:,} cases, {len(self.process_map.edges)} paths, "
            f"{len(self.variants):,} variants; the most frequent variants:</p>"
        )
        shown = self.variants.head(10).assign(activities=lambda v: v["activities"].map(" → ".join))
        return head + shown.to_html(index=False, float_format="{:,.0f}".format)


def compute_relational(
    events: EventTable | str | Path | None = None,
    *,
    table: str | None = None,
    engine: Engine = "duckdb",
    spark: Any = None,
    calendar: WorkCalendar | None = None,
    filters: EventFilter | None = None,
) -> RelationalResult:
    """The process map, variants and case table, computed by DuckDB or Apache Spark.

    The definitions are written once (Ibis expressions) and are those of
    :func:`knelpunt.discover_map`, :func:`knelpunt.list_variants` and
    :func:`knelpunt.summarise_cases`, which compute the same numbers in memory and
    faster for one machine; this is the way to run them where the events live, on
    Spark for logs beyond one machine.

    Args:
        events: an event table (:func:`knelpunt.load_events`), or the path of a Parquet
            file or of a folder of them (``knelpunt export --format parquet
            --partition-by ...`` writes one), in the columns :func:`knelpunt.export_log`
            writes, with ``knelpunt:position``; on Spark also a storage URL given as a
            string (``abfss://...``, ``s3://...``, ``dbfs:/...``), read as Spark reads it.
        table: instead of ``events``, a table or view of the Spark session, in the same
            columns.
        engine: ``"duckdb"`` (in this process) or ``"spark"``.
        spark: the SparkSession to use; default the active one, else a new local one.
        calendar: count durations in working time (on Parquet and tables the
            calendar's working hours are joined on the engine).
        filters: analyse only the events these filters keep (applied on the engine).

    Returns:
        The map, the variants and the case table.

    Raises:
        EngineError: Spark was asked for and pyspark or Java is missing, Spark does not
            start, or the named table is not there.
        MappingError: a Parquet input without the columns needed, or a table name
            with engine ``"duckdb"``.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     events = kp.load_events(store)
        >>> found = kp.compute_relational(events)  # engine="spark" runs it on Spark
        >>> found.process_map.cases, int(found.process_map.edges["count"].sum())
        (3, 12)
        >>> found.variants["cases"].tolist(), found.engine
        ([3], 'duckdb')

    .. versionadded:: 0.1
    """
    from knelpunt.engine import definitions as d
    from knelpunt.engine.backends import open_backend

    with open_backend(engine, spark=spark) as backend:
        relation = backend.events(events, table=table, calendar=calendar)
        relation, said = (filters or EventFilter()).apply(backend, relation)
        edges = backend.run(d.edges(relation, percentiles=backend.percentiles))
        activities = backend.run(d.activity_counts(relation))
        with backend.kept(d.per_case(relation)) as per_case:
            numbered = d.variants(per_case, percentiles=backend.percentiles)
            variants = backend.run(numbered)
            starts = backend.run(d.start_activities(numbered))
            ends = backend.run(d.end_activities(numbered))
            cases = backend.run(d.case_table(per_case, numbered))
    case_table = _case_table(cases, working=calendar is not None)
    process_map = ProcessMap(
        edges=_edges(edges),
        activities=_activities(activities),
        start_activities=_counted(starts),
        end_activities=_counted(ends),
        events=int(case_table["events"].sum()),
        cases=len(case_table),
        calendar=calendar,
    )
    return RelationalResult(
        process_map=process_map,
        variants=_variants(variants, total=len(case_table)),
        cases=case_table,
        engine=backend.engine,
        filters=said,
    )


def _edges(rows: pa.Table) -> pd.DataFrame:
    frame: pd.DataFrame = rows.to_pandas()[list(EDGE_COLUMNS)]
    frame = frame.astype({"count": "int64", "cases": "int64"}).sort_values(
        ["count", "source", "target"], ascending=[False, True, True]
    )
    return frame.reset_index(drop=True)


def _activities(rows: pa.Table) -> pd.DataFrame:
    frame: pd.DataFrame = rows.to_pandas()[["activity", "count", "cases"]]
    frame = frame.astype({"count": "int64", "cases": "int64"}).sort_values(
        ["count", "activity"], ascending=[False, True]
    )
    return frame.reset_index(drop=True)


def _counted(rows: pa.Table) -> dict[str, int]:
    pairs = zip(rows.column("activity").to_pylist(), rows.column("count").to_pylist(), strict=True)
    return {str(a): int(n) for a, n in sorted(pairs, key=lambda item: (-item[1], item[0]))}


def _variants(rows: pa.Table, *, total: int) -> pd.DataFrame:
    if rows.num_rows == 0:
        return pd.DataFrame(columns=list(VARIANT_COLUMNS))
    frame = rows.to_pandas().sort_values("variant")
    cases = frame["cases"].to_numpy(dtype=np.int64)
    return pd.DataFrame(
        {
            "variant": frame["variant"].to_numpy(dtype=np.int64),
            "activities": [tuple(str(a) for a in trace) for trace in frame["trace"]],
            "cases": cases,
            "share": cases / total,
            "mean_s": frame["mean_s"].to_numpy(dtype=float),
            "median_s": frame["median_s"].to_numpy(dtype=float),
            "min_s": frame["min_s"].to_numpy(dtype=float),
            "max_s": frame["max_s"].to_numpy(dtype=float),
        }
    )


def _case_table(rows: pa.Table, *, working: bool) -> pd.DataFrame:
    frame = rows.to_pandas()
    return case_frame(
        frame,
        source_id=frame["source_id"].to_numpy(dtype=np.int64),
        case_id=frame["case_id"].to_numpy(dtype=object),
        variant=frame["variant"].to_numpy(dtype=np.int64),
        working=working,
    )


@dataclass(frozen=True, slots=True)
class InstanceResult:
    """Per activity, waiting and processing time, from one engine.

    Attributes:
        activities: as :func:`knelpunt.summarise_activities` gives it: per activity
            instances, cases, the share of estimated starts and the waiting and
            processing statistics (also in working time with a calendar).
        instances: the activity instances, as :func:`knelpunt.pair_instances` gives
            them (one row per instance, as many as completions: large), or None unless
            asked for.
        count: the activity instances.
        estimated: instances whose start was estimated.
        open: instances started and never completed.
        unstarted: schedule events never followed by a start.
        day_precision: instances with a duration precise to a day only.
        calendar: the working calendar used, or None.
        notes: what a reader of these numbers must know (as ``pair_instances`` says it).
        engine: the engine that computed them, ``"duckdb"`` or ``"spark"``.
        filters: what the filters kept, in words (empty: every event).
        process_map: the map of the completed instances, as :func:`knelpunt.discover_map`
            draws :class:`~knelpunt.ActivityInstances` (paths show the wait between steps,
            steps their waiting and processing), when asked for.
    """

    activities: pd.DataFrame
    instances: pd.DataFrame | None
    count: int
    estimated: int
    open: int
    unstarted: int
    day_precision: int
    calendar: WorkCalendar | None
    notes: tuple[str, ...]
    engine: str
    filters: tuple[str, ...] = ()
    process_map: ProcessMap | None = None

    def to_frame(self) -> pd.DataFrame:
        """The per-activity times (see :attr:`activities`)."""
        return self.activities

    def _repr_html_(self) -> str:
        head = (
            f"<p>Computed on {self.engine}: {self.count:,} activity instances, "
            f"{self.estimated:,} with an estimated start, {self.open:,} never completed</p>"
        )
        return head + self.activities.head(10).to_html(index=False)


def compute_instances(
    events: EventTable | str | Path | None = None,
    *,
    table: str | None = None,
    engine: Engine = "duckdb",
    spark: Any = None,
    calendar: WorkCalendar | None = None,
    estimate_starts: bool = True,
    detect_dates: bool = True,
    instances: bool = False,
    filters: EventFilter | None = None,
    with_map: bool = False,
) -> InstanceResult:
    """Activity instances and their waiting and processing time, on DuckDB or Spark.

    The definitions are those of :func:`knelpunt.pair_instances` (start and complete
    events paired first in, first out; enabled by the latest completion in the case;
    missing starts estimated from the resource's previous completion; date-only events
    in whole days), written once as Ibis expressions; the per-activity times are those
    of :func:`knelpunt.summarise_activities`. The engine does the work where the events
    are; only one row per activity comes back, and the instances themselves when asked.

    Args:
        events: an event table, or the path (or on Spark, the storage URL) of a Parquet
            file or folder, as for :func:`knelpunt.compute_relational`; a
            ``lifecycle:transition`` column gives the lifecycle (without one, every event
            is a completion).
        table: instead of ``events``, a table of the Spark session in the same columns.
        engine: ``"duckdb"`` (in this process) or ``"spark"``.
        spark: the SparkSession to use; default the active one, else a new local one.
        calendar: count the durations also in working time (``*_work_*`` columns); on
            Parquet and tables the calendar's working hours are joined on the engine.
        estimate_starts: estimate missing starts; when False a completion without a start
            is instantaneous.
        detect_dates: treat the date-only events of a source as precise to a day.
        instances: also bring every instance back (one row per completion).
        filters: analyse only the events these filters keep (applied on the engine).
        with_map: also draw the map of the instances (``process_map``).

    Returns:
        The per-activity times, the counts and notes, and the instances and their map if
        asked for.

    Raises:
        EngineError: as :func:`knelpunt.compute_relational`.
        MappingError: a Parquet input without the columns needed.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     events = kp.load_events(store)
        >>> found = kp.compute_instances(events)  # engine="spark" runs it on Spark
        >>> found.count, found.estimated, found.engine
        (15, 15, 'duckdb')
        >>> int(found.activities.set_index("activity").loc["Keukentafelgesprek", "instances"])
        3

    .. versionadded:: 0.1
    """
    from knelpunt.engine import instances as steps
    from knelpunt.engine.backends import open_backend
    from knelpunt.mining.instances import DEFAULT_ZONE

    zone = calendar.timezone if calendar is not None else DEFAULT_ZONE
    working = calendar is not None
    with open_backend(engine, spark=spark) as backend:
        relation = backend.events(
            events, table=table, calendar=calendar, midnights=zone if detect_dates else None
        )
        relation, said = (filters or EventFilter()).apply(backend, relation)
        found, unstarted = steps.instances(
            relation,
            estimate_starts=estimate_starts,
            detect_dates=detect_dates,
            working=working,
        )
        with backend.kept(found) as kept:
            times = backend.run(
                steps.activity_times(kept, working=working, percentiles=backend.percentiles)
            )
            counts = backend.run(steps.instance_counts(kept, unstarted)).to_pylist()[0]
            columns = [c for c in kept.columns if not c.endswith("_clock_us")]
            rows = (
                backend.run(kept.order_by(["first", "anchor"]).select(columns))
                if instances
                else None
            )
            drawn = _instance_map(backend, kept, working=working) if with_map else None
    tally = {
        "estimated": int(counts["estimated"] or 0) if estimate_starts else 0,
        "open": int(counts["open"] or 0),
        "unstarted": int(counts["unstarted"] or 0),
        "day_precision": int(counts["day_precision"] or 0),
    }
    total = int(counts["instances"] or 0)
    notes = instance_notes(total, **tally, estimate=estimate_starts)
    process_map = None
    if drawn is not None:
        edges, activities, ends = drawn
        starts, finals = ends.column("first_activity"), ends.column("last_activity")
        left_out = total - int(activities["count"].sum()) if len(activities) else total
        process_map = ProcessMap(
            edges=_edges(edges),
            activities=activities,
            start_activities=_named_counts(starts.to_pylist()),
            end_activities=_named_counts(finals.to_pylist()),
            events=int(activities["count"].sum()) if len(activities) else 0,
            cases=ends.num_rows,
            calendar=calendar,
            level="instance",
            notes=notes
            + (
                (f"{left_out:,} instance(s) never completed are not on the map.",)
                if left_out
                else ()
            ),
        )
    return InstanceResult(
        activities=_activity_times(times),
        instances=None if rows is None else instance_frame(rows.to_pandas(), working=working),
        count=total,
        calendar=calendar,
        notes=notes,
        engine=backend.engine,
        filters=said,
        process_map=process_map,
        **tally,
    )


def _instance_map(
    backend: Backend, kept: ir.Table, *, working: bool
) -> tuple[pa.Table, pd.DataFrame, pa.Table]:
    """The instance map's edges, its activities (of the completed instances) and each
    case's first and last activity."""
    from knelpunt.engine import instances as steps

    done = kept.filter(kept.complete_us.notnull())
    shown = steps.activity_times(done, working=working, percentiles=backend.percentiles)
    activities = _activity_times(backend.run(shown))
    activities = activities.rename(columns={"instances": "count"}).drop(columns=["estimated_share"])
    return (
        backend.run(steps.instance_edges(kept, percentiles=backend.percentiles)),
        activities,
        backend.run(steps.instance_ends(kept)),
    )


def _named_counts(names: list[Any]) -> dict[str, int]:
    counts = pd.Series([str(n) for n in names], dtype=object).value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    return {str(name): int(n) for name, n in ordered}


def _activity_times(rows: pa.Table) -> pd.DataFrame:
    frame: pd.DataFrame = rows.to_pandas()
    frame = frame.astype({"instances": "int64", "cases": "int64"}).sort_values(
        ["instances", "activity"], ascending=[False, True]
    )
    return frame.reset_index(drop=True)


def instance_frame(frame: pd.DataFrame, *, working: bool) -> pd.DataFrame:
    """The engine's instance rows (times in microseconds) as ``pair_instances`` gives them."""
    out = pd.DataFrame(
        {
            "source_id": frame["source_id"].to_numpy(dtype=np.int64),
            "case_id": frame["case_id"].to_numpy(dtype=object),
            "activity": pd.Categorical(frame["activity"]),
            "resource": pd.Categorical(frame["resource"]),
            **{
                name: pd.to_datetime(frame[f"{name}_us"], unit="us", utc=True)
                for name in ("scheduled", "enabled", "start", "complete")
            },
            "waiting_s": frame["waiting_s"].to_numpy(dtype=float),
            "processing_s": frame["processing_s"].astype(float).to_numpy(),
            "start_recorded": frame["start_recorded"].to_numpy(dtype=bool),
            "status": pd.Categorical(
                frame["status"], categories=["open", "completed", "aborted", "skipped"]
            ),
            "precision": frame["precision"].to_numpy(dtype=object),
            "waiting_precision": frame["waiting_precision"].to_numpy(dtype=object),
        }
    )[list(INSTANCE_COLUMNS)]
    if working:
        out["waiting_work_s"] = frame["waiting_work_s"].to_numpy(dtype=float)
        out["processing_work_s"] = frame["processing_work_s"].astype(float).to_numpy()
    return out
