"""Where the events relation comes from and where its expressions run: DuckDB or Spark.

Each backend turns an input (an :class:`~knelpunt.mining.projection.EventTable`
in memory, a Parquet file or partitioned dataset, or a Spark table) into the
events relation of :mod:`knelpunt.engine.definitions`, and runs expressions
into Arrow tables. Only this module knows the engines apart; Ibis compiles the
expressions for each.

Parquet and Spark tables are read in the columns :func:`knelpunt.export_log`
writes (pm4py's names): ``case:concept:name``, ``concept:name``,
``time:timestamp`` (a timestamp), ``org:resource`` (optional),
``knelpunt:source`` (optional; 0 when absent) and ``knelpunt:position``, which
orders a case's events with the same time as they were recorded.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, cast

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from knelpunt.engine.definitions import EVENT_SCHEMA, Percentiles
from knelpunt.errors import EngineError, MappingError
from knelpunt.ingest.export import PARTITIONS
from knelpunt.mining.instances import local_midnights
from knelpunt.mining.maps import working_clock
from knelpunt.mining.projection import EventTable
from knelpunt.mining.relational import connect_quietly
from knelpunt.schema import (
    ACTIVITY_KEY,
    CASE_ID_KEY,
    LIFECYCLE_KEY,
    POSITION_KEY,
    RESOURCE_KEY,
    SOURCE_KEY,
    TIMESTAMP_KEY,
)
from knelpunt.worktime import WorkCalendar, WorkClock

__all__ = ["Backend", "Engine", "open_backend"]

Engine = Literal["duckdb", "spark"]

# A storage URL, not a local path: a scheme and ':/' (file:///, s3://, dbfs:/...).
_URL: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")
_DAY_US: Final = 86_400_000_000

INSTALL_SPARK: Final = (
    "Install it with pip install 'knelpunt[spark]' (pyspark and Ibis's Spark backend) and "
    "Java 17 or newer (Debian: apt-get install default-jre-headless), or use "
    'engine="duckdb".'
)


@ibis.udf.scalar.builtin(name="epoch_us")  # type: ignore[untyped-decorator]
def _duckdb_micros(at: dt.timestamp) -> dt.int64:
    """DuckDB's microseconds since the epoch of an instant."""


@ibis.udf.scalar.builtin(name="unix_micros")  # type: ignore[untyped-decorator]
def _spark_micros(at: dt.timestamp) -> dt.int64:
    """Spark's microseconds since the epoch of an instant (any session time zone)."""


@ibis.udf.scalar.builtin(name="make_timestamp")  # type: ignore[untyped-decorator]
def _duckdb_timestamp(micros: dt.int64) -> dt.timestamp:
    """DuckDB's timestamp (without zone) of microseconds since the epoch."""


@ibis.udf.scalar.builtin(name="timezone")  # type: ignore[untyped-decorator]
def _duckdb_instant(zone: dt.string, wall: dt.timestamp) -> dt.Timestamp(timezone="UTC"):  # type: ignore[valid-type]  # Ibis reads the instance
    """DuckDB: the instant at which the clocks of ``zone`` show ``wall``."""


@ibis.udf.scalar.builtin(name="timezone")  # type: ignore[untyped-decorator]
def _duckdb_wall(
    zone: dt.string,
    at: dt.Timestamp(timezone="UTC"),  # type: ignore[valid-type]  # Ibis reads the instance
) -> dt.timestamp:
    """DuckDB: what the clocks of ``zone`` show at the instant ``at``."""


@ibis.udf.scalar.builtin(name="epoch_us")  # type: ignore[untyped-decorator]
def _duckdb_wall_micros(wall: dt.timestamp) -> dt.int64:
    """DuckDB's microseconds since the epoch of a timestamp without zone."""


@ibis.udf.scalar.builtin(name="epoch_us")  # type: ignore[untyped-decorator]
def _duckdb_instant_micros(
    at: dt.Timestamp(timezone="UTC"),  # type: ignore[valid-type]  # Ibis reads the instance
) -> dt.int64:
    """DuckDB's microseconds since the epoch of an instant."""


@ibis.udf.scalar.builtin(name="timestamp_micros")  # type: ignore[untyped-decorator]
def _spark_timestamp(micros: dt.int64) -> dt.timestamp:
    """Spark's instant of microseconds since the epoch."""


@ibis.udf.scalar.builtin(name="from_utc_timestamp")  # type: ignore[untyped-decorator]
def _spark_wall(at: dt.timestamp, zone: dt.string) -> dt.timestamp:
    """Spark: the instant shifted by the offset of ``zone`` (its wall clock, as UTC)."""


@ibis.udf.scalar.builtin(name="to_utc_timestamp")  # type: ignore[untyped-decorator]
def _spark_instant(wall: dt.timestamp, zone: dt.string) -> dt.timestamp:
    """Spark: the wall clock of ``zone`` (given as UTC) shifted back to the instant."""


def _local_midnight(engine: Engine, micros: ir.IntegerValue, zone: str) -> ir.IntegerValue:
    """The local midnight at or before each instant, in UTC microseconds, on the engine.

    The day is cut in microseconds of the local wall clock, so neither engine's
    session time zone takes part.
    """
    if engine == "spark":
        wall = _spark_micros(_spark_wall(_spark_timestamp(micros), zone))
        midnight = wall - ((wall % _DAY_US) + _DAY_US) % _DAY_US
        return cast(
            "ir.IntegerValue", _spark_micros(_spark_instant(_spark_timestamp(midnight), zone))
        )
    wall = _duckdb_wall_micros(
        _duckdb_wall(zone, _duckdb_instant("UTC", _duckdb_timestamp(micros)))
    )
    midnight = wall - ((wall % _DAY_US) + _DAY_US) % _DAY_US
    return cast(
        "ir.IntegerValue",
        _duckdb_instant_micros(_duckdb_instant(zone, _duckdb_timestamp(midnight))),
    )


@dataclass(frozen=True, slots=True)
class Backend:
    """An Ibis connection and how to run an expression on it into Arrow.

    On DuckDB the tables are Ibis's unbound tables named as registered on the
    connection: Ibis 12 asks DuckDB 2 for a schema through a deprecated call.

    Attributes:
        engine: ``"duckdb"`` or ``"spark"``.
        connection: the Ibis backend.
        session: the SparkSession, or DuckDB's own connection.
    """

    engine: Engine
    connection: Any
    session: Any = None

    def run(self, expression: ir.Table) -> pa.Table:
        """The expression's rows as an Arrow table.

        Ibis compiles the expression; the engine's own client runs the SQL and hands
        back Arrow (on Spark ``toArrow``, not Ibis's detour through pandas).
        """
        if self.engine == "spark":
            return self.collect(self.session.sql(self.connection.compile(expression)))
        result: pa.Table = self.session.sql(self.connection.compile(expression)).to_arrow_table()
        return result

    @staticmethod
    def collect(frame: Any) -> pa.Table:
        """A Spark DataFrame's rows as an Arrow table."""
        with warnings.catch_warnings():
            # pyspark 4.0 drops the local socket it collects through without closing
            # it; the ResourceWarning says so at once, on every collect. Only that.
            warnings.filterwarnings(
                "ignore", "unclosed <socket.socket", ResourceWarning, module="socket"
            )
            table: pa.Table = frame.toArrow()
        return table

    @contextmanager
    def kept(self, expression: ir.Table) -> Iterator[ir.Table]:
        """The expression computed once and kept (a temporary table, or a cached Spark view)
        while several results are read from it."""
        name = ibis.util.gen_name("knelpunt_kept")
        if self.engine == "spark":
            frame = self.session.sql(self.connection.compile(expression)).cache()
            frame.createOrReplaceTempView(name)
            try:
                yield self.connection.table(name)
            finally:
                self.session.catalog.dropTempView(name)
                frame.unpersist()
            return
        compiled = self.connection.compile(expression)
        self.session.execute(f'CREATE TEMP TABLE "{name}" AS {compiled}')
        try:
            yield ibis.table(expression.schema(), name=name)
        finally:
            # Our own generated name; Ibis 12's drop_table compiles to a statement
            # without the name under sqlglot 30.
            self.session.execute(f'DROP TABLE IF EXISTS "{name}"')

    def events(
        self,
        source: EventTable | str | Path | None,
        *,
        table: str | None = None,
        calendar: WorkCalendar | None = None,
        midnights: str | None = None,
        attributes: bool = False,
    ) -> ir.Table:
        """The events relation of an event table, a Parquet path or a named Spark table.

        With ``calendar``, ``clock_us`` counts working time (on the engine for Parquet and
        tables: the calendar's working spans are a small table joined by day). With
        ``midnights`` (a time zone), ``midnight_us`` is each event's local midnight and
        ``clock_mid_us`` the clock then; else they are the time and the clock. With
        ``attributes``, a Parquet file or table keeps its other columns too.
        """
        if isinstance(source, EventTable):
            return self._from_memory(source, calendar, midnights)
        if table is not None:
            raw = _canonical(
                self._named(table), self._micros, where=f"table {table!r}", attributes=attributes
            )
        elif source is None:
            raise MappingError(
                "Nothing to read: pass an event table, a Parquet file or folder, or table=."
            )
        elif isinstance(source, str) and _URL.match(source):
            # A cluster's storage (abfss://, s3://, dbfs:/, hdfs://): read as the engine
            # reads it; pathlib would fold the '//' and no local check applies.
            raw = _canonical(
                self._remote(source), self._micros, where=source, attributes=attributes
            )
        else:
            raw = _canonical(
                self._parquet(Path(source)), self._micros, where=str(source), attributes=attributes
            )
        if midnights is not None:
            raw = raw.mutate(midnight_us=_local_midnight(self.engine, raw.time_us, midnights))
        if calendar is None:
            return raw.mutate(clock_us=raw.time_us, clock_mid_us=raw.midnight_us)
        return self._clocked(raw, calendar)

    def _clocked(self, raw: ir.Table, calendar: WorkCalendar) -> ir.Table:
        """``clock_us`` and ``clock_mid_us`` in working time, read from the calendar's
        working spans: per UTC day the clock at its start and the day's spans (a row per
        day, a column pair per span), joined to each event by its day."""
        bounds = self.run(raw.aggregate(low=raw.time_us.min(), high=raw.time_us.max()))
        low, high = bounds.column("low")[0].as_py(), bounds.column("high")[0].as_py()
        if low is None:
            return raw.mutate(clock_us=raw.time_us, clock_mid_us=raw.midnight_us)
        days = self._register(_day_clock(calendar.clock(low, high), low, high))
        spans = (len(days.columns) - 2) // 2

        def read(micros: ir.IntegerValue, name: str) -> ir.Table:
            keyed = raw.mutate(_day=micros // _DAY_US, _at=micros)
            joined = keyed.join(days, keyed._day == days.day)
            inside = [
                ibis.greatest(ibis.least(joined._at, joined[f"close{i}"]) - joined[f"open{i}"], 0)
                for i in range(spans)
            ]
            value = joined.base
            for part in inside:
                value = value + part
            return joined.mutate(**{name: value.cast("int64")}).select(*raw.columns, name)

        raw = read(raw.time_us, "_clock").mutate(clock_us=lambda t: t._clock).drop("_clock")
        return read(raw.midnight_us, "_mid").mutate(clock_mid_us=lambda t: t._mid).drop("_mid")

    def _register(self, arrow: pa.Table) -> ir.Table:
        """A small Arrow table as a table of the engine."""
        name = ibis.util.gen_name("knelpunt_rows")
        if self.engine == "spark":
            self.session.createDataFrame(arrow).createOrReplaceTempView(name)
            return self.connection.table(name)
        self.session.register(name, arrow)
        return ibis.table(ibis.Schema.from_pyarrow(arrow.schema), name=name)

    @property
    def percentiles(self) -> Percentiles:
        """How the definitions take percentiles here: Spark's own exact percentile keeps
        a group's values in one task's memory, so on Spark from sorted distinct values;
        DuckDB's aggregate is the fastest there (:mod:`knelpunt.engine.definitions`)."""
        return "sorted" if self.engine == "spark" else "aggregate"

    @property
    def _micros(self) -> Any:
        return _spark_micros if self.engine == "spark" else _duckdb_micros

    def _from_memory(
        self, events: EventTable, calendar: WorkCalendar | None, zone: str | None
    ) -> ir.Table:
        case = events.case
        known = events.resource >= 0
        resource = np.full(len(case), None, dtype=object)
        resource[known] = events.resources[events.resource[known]]
        has_lifecycle = events.lifecycle >= 0
        lifecycle = np.full(len(case), None, dtype=object)
        lifecycle[has_lifecycle] = events.lifecycles[events.lifecycle[has_lifecycle]]
        clock = working_clock(events, calendar)
        midnight = events.time_us if zone is None else local_midnights(events.time_us, zone)
        clock_mid = clock
        if zone is not None and calendar is not None and len(events):
            low, high = int(events.time_us.min()), int(events.time_us.max())
            clock_mid = calendar.clock(low, high).read(midnight)
        elif zone is not None:
            clock_mid = midnight
        arrow = pa.table(
            {
                "source_id": pa.array(events.case_sources[case], pa.int64()),
                "case_id": pa.array(events.case_ids[case].astype(str), pa.string()),
                "activity": pa.array(events.activities[events.activity].astype(str), pa.string()),
                "resource": pa.array(resource, pa.string()),
                "time_us": pa.array(events.time_us, pa.int64()),
                "position": pa.array(events.position, pa.int64()),
                # The projection's case code: the order in which maps.py numbers ties.
                "seen": pa.array(case, pa.int64()),
                "clock_us": pa.array(clock, pa.int64()),
                "lifecycle": pa.array(lifecycle, pa.string()),
                "midnight_us": pa.array(midnight, pa.int64()),
                "clock_mid_us": pa.array(clock_mid, pa.int64()),
            }
        )
        return self._register(arrow).cast(EVENT_SCHEMA)

    def _parquet(self, path: Path) -> ir.Table:
        if not path.exists():
            raise MappingError(
                f"{path}: no such file or folder; export events with "
                "knelpunt export --format parquet --partition-by source,year,month FOLDER."
            )
        if self.engine == "spark":
            name = ibis.util.gen_name("knelpunt_parquet")
            self.session.read.parquet(str(path)).createOrReplaceTempView(name)
            return self.connection.table(name)
        files = str(path / "**" / "*.parquet") if path.is_dir() else str(path)
        name = ibis.util.gen_name("knelpunt_parquet")
        # The hive folder names (source=1/year=2025/...) are left out: every event
        # column is inside the files.
        quoted = files.replace("'", "''")
        self.session.execute(
            f'CREATE TEMP VIEW "{name}" AS '
            f"SELECT * FROM read_parquet('{quoted}', hive_partitioning = false)"
        )
        schema = self.session.sql(f'SELECT * FROM "{name}" LIMIT 0').to_arrow_table().schema
        return ibis.table(ibis.Schema.from_pyarrow(schema), name=name)

    def _remote(self, url: str) -> ir.Table:
        if self.engine != "spark":
            raise MappingError(
                f'{url}: storage URLs are read on Spark: pass engine="spark" (with the '
                "cluster's session as spark=), or copy the folder here and pass its path."
            )
        name = ibis.util.gen_name("knelpunt_parquet")
        try:
            self.session.read.parquet(url).createOrReplaceTempView(name)
        except Exception as error:  # Spark reports a missing path or file system variously.
            raise MappingError(
                f"Spark cannot read {url} ({type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''}). Check the URL and "
                "that the session has access to that storage."
            ) from error
        return self.connection.table(name)

    def _named(self, table: str) -> ir.Table:
        if self.engine != "spark":
            raise MappingError(
                f'A named table ({table!r}) is read on Spark only: pass engine="spark", or '
                "pass the events as an event table or a Parquet path."
            )
        if not self.session.catalog.tableExists(table):
            raise EngineError(
                f"Spark has no table {table!r}. Tables it has: "
                f"{', '.join(t.name for t in self.session.catalog.listTables()) or 'none'}."
            )
        name = ibis.util.gen_name("knelpunt_table")
        self.session.table(table).createOrReplaceTempView(name)
        return self.connection.table(name)


def _day_clock(clock: WorkClock, low: int, high: int) -> pa.Table:
    """Per UTC day from the day before ``low`` to that of ``high``: the clock at its start
    (``base``) and its working spans cut to the day (``open0``, ``close0``, ...; empty
    spans where a day has fewer), so that the clock at an instant of the day is ``base``
    plus the part of each span before it."""
    first, last = low // _DAY_US - 2, high // _DAY_US + 1
    days = np.arange(first, last + 1, dtype=np.int64)
    starts = days * _DAY_US
    per_day: list[list[tuple[int, int]]] = [[] for _ in days]
    for opens, closes in zip(clock.opens.tolist(), clock.closes.tolist(), strict=True):
        for day in range(max(opens // _DAY_US, first), min((closes - 1) // _DAY_US, last) + 1):
            cut = (max(opens, day * _DAY_US), min(closes, (day + 1) * _DAY_US))
            per_day[day - first].append(cut)
    width = max((len(spans) for spans in per_day), default=0)
    columns: dict[str, pa.Array] = {
        "day": pa.array(days),
        "base": pa.array(clock.read(starts)),
    }
    for i in range(width):
        columns[f"open{i}"] = pa.array(
            [
                spans[i][0] if i < len(spans) else start
                for spans, start in zip(per_day, starts.tolist(), strict=True)
            ],
            pa.int64(),
        )
        columns[f"close{i}"] = pa.array(
            [
                spans[i][1] if i < len(spans) else start
                for spans, start in zip(per_day, starts.tolist(), strict=True)
            ],
            pa.int64(),
        )
    return pa.table(columns)


_STANDARD: Final = (
    CASE_ID_KEY,
    ACTIVITY_KEY,
    TIMESTAMP_KEY,
    LIFECYCLE_KEY,
    RESOURCE_KEY,
    POSITION_KEY,
    SOURCE_KEY,
)


def _canonical(raw: ir.Table, micros: Any, *, where: str, attributes: bool = False) -> ir.Table:
    """The events relation of a table in export_log's columns; with ``attributes`` also
    its other columns, as they are."""
    columns = set(raw.columns)
    missing = [c for c in (CASE_ID_KEY, ACTIVITY_KEY, TIMESTAMP_KEY) if c not in columns]
    if missing:
        raise MappingError(
            f"{where} has no column {missing[0]!r}. Columns: {', '.join(raw.columns)}. "
            "Write the events with knelpunt export --format parquet, which names them as "
            "pm4py does."
        )
    if POSITION_KEY not in columns:
        raise MappingError(
            f"{where} has no column {POSITION_KEY!r}, which orders a case's events that "
            "share a time as they were recorded. Export with knelpunt export --format "
            "parquet --partition-by source (which keeps it), or add an int64 column "
            f"{POSITION_KEY!r} giving the recording order."
        )
    if not raw[TIMESTAMP_KEY].type().is_timestamp():
        raise MappingError(
            f"{where}: column {TIMESTAMP_KEY!r} holds {raw[TIMESTAMP_KEY].type()}, not "
            "timestamps. Write it as a timestamp (UTC)."
        )
    time_us = micros(raw[TIMESTAMP_KEY])
    position = raw[POSITION_KEY].cast("int64")
    canonical = {
        "source_id": raw[SOURCE_KEY].cast("int64").fill_null(0)
        if SOURCE_KEY in columns
        else ibis.literal(0),
        "case_id": raw[CASE_ID_KEY].cast("string"),
        "activity": raw[ACTIVITY_KEY].cast("string"),
        "resource": (
            raw[RESOURCE_KEY].cast("string")
            if RESOURCE_KEY in columns
            else ibis.null().cast("string")
        ),
        "time_us": time_us,
        "position": position,
        # The first recorded event of a case orders ties between variants, as the
        # projection's case codes do (they are given in recording order).
        "seen": position,
        "clock_us": time_us,
        "lifecycle": (
            raw[LIFECYCLE_KEY].cast("string")
            if LIFECYCLE_KEY in columns
            else ibis.null().cast("string")
        ),
        "midnight_us": time_us,
        "clock_mid_us": time_us,
    }
    typed = {name: canonical[name].cast(kind) for name, kind in EVENT_SCHEMA.items()}
    if not attributes:
        return raw.select(**typed)
    # Every other column (case and event attributes), but not the folder names a
    # partitioned export adds when Spark reads it (source=1/year=2025/...).
    known = {*_STANDARD, *PARTITIONS}
    return raw.select(**typed, **{c: raw[c] for c in raw.columns if c not in known})


@contextmanager
def open_backend(engine: Engine, *, spark: Any = None) -> Iterator[Backend]:
    """A backend for the engine; Spark's session is ``spark``, else the active one, else a
    new local one (which is left running for the next call, as Spark sessions are).

    Raises:
        EngineError: pyspark or Java is missing, or Spark does not start.
    """
    if engine == "duckdb":
        with connect_quietly() as raw:
            yield Backend("duckdb", ibis.duckdb.from_connection(raw), raw)
        return
    if engine != "spark":
        raise MappingError(f'Unknown engine {engine!r}: choose "duckdb" or "spark".')
    session = spark if spark is not None else spark_session()
    try:
        connection = ibis.pyspark.connect(session)
    except ImportError as error:
        raise EngineError(f"Ibis's Spark backend is not installed. {INSTALL_SPARK}") from error
    yield Backend("spark", connection, session)


def spark_session() -> Any:
    """The active SparkSession, or a new local one (all cores, no web UI, UTC, this Python
    for Python tasks).

    Raises:
        EngineError: pyspark or Java is missing, or Spark does not start.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise EngineError(f'engine="spark" needs pyspark. {INSTALL_SPARK}') from error
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if not _java_found():
        raise EngineError(f'engine="spark" needs Java, and none was found. {INSTALL_SPARK}')
    # Python tasks (the waiting split per source) run in this Python, which has knelpunt,
    # rather than whichever python3 the PATH finds first; pyspark reads only this variable.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        return (
            SparkSession.builder.appName("knelpunt")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
    except Exception as error:  # Spark reports a JVM that will not start in many ways.
        raise EngineError(
            f"Spark did not start ({type(error).__name__}: {error}). It needs Java 17 or "
            f"newer. {INSTALL_SPARK}"
        ) from error


def _java_found() -> bool:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None
