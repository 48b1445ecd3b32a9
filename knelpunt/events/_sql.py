"""What the SQL backends share: the statements and the logic around them.

The adapters (:mod:`knelpunt.events.sqlite`, :mod:`knelpunt.events.postgres`)
supply the dialect: how to connect, how to take the write lock, how to load a
batch fast, and how to translate driver errors. Statements here use ``?``
placeholders; the PostgreSQL adapter rewrites them to ``%s``.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from knelpunt.errors import SourceExistsError, SourceFinishedError, UnknownSourceError
from knelpunt.events.model import (
    BATCH_COLUMNS,
    AppendResult,
    AuditEntry,
    Event,
    NewAuditEntry,
    NewSource,
    PurgeRecord,
    Source,
    UserRecord,
)
from knelpunt.events.store import EventStore, Recording

__all__ = ["SQLEventStore"]

# Insert order of the event columns (after source_id).
EVENT_COLUMNS = ("source_id", *BATCH_COLUMNS)
REJECT_COLUMNS = ("line", "column", "value", "reason", "raw")
SCHEMA_VERSION = "1"

_SOURCE_SELECT = """
SELECT s.source_id, s.name, s.kind, s.created_at, s.created_by, s.content_hash, s.details,
       r.report,
       (SELECT COUNT(*) FROM events e WHERE e.source_id = s.source_id),
       (SELECT COUNT(*) FROM rejects j WHERE j.source_id = s.source_id)
FROM sources s LEFT JOIN source_reports r ON r.source_id = s.source_id
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), ensure_ascii=False, sort_keys=True, default=str)


def _source_from_row(row: Sequence[Any]) -> Source:
    return Source(
        source_id=int(row[0]),
        name=row[1],
        kind=row[2],
        created_at=datetime.fromisoformat(row[3]),
        created_by=row[4],
        content_hash=row[5],
        details=json.loads(row[6]),
        report=json.loads(row[7]) if row[7] else {},
        event_count=int(row[8]),
        reject_count=int(row[9]),
    )


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _column_values(series: pd.Series, *, integer: bool) -> np.ndarray:
    """A batch column as an object array of Python values: int or str, None where missing."""
    if integer:
        if series.dtype.kind in "iu":
            return series.to_numpy().astype(object)  # NumPy makes Python ints here
        return np.array(
            [None if _missing(v) else int(v) for v in series.astype("Int64").tolist()],
            dtype=object,
        )
    values = series.to_numpy(dtype=object, copy=True)
    values[pd.isna(values)] = None
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = np.array([None if _missing(v) else str(v) for v in values], dtype=object)
    return values


def _batch_rows(batch: pd.DataFrame) -> tuple[tuple[str, ...], np.ndarray]:
    """A canonical batch as a table of plain Python values (None for missing values):
    an object array with one row per event, and its columns: :data:`BATCH_COLUMNS`,
    without ``idempotency_key`` when no row has one (one value less to bind per row).

    An array rather than a list of tuples: a backend can cut it into rows, or into
    blocks of rows for one multi-row statement, without building tuples first.
    """
    names = tuple(
        name
        for name in BATCH_COLUMNS
        if name != "idempotency_key" or (name in batch.columns and bool(batch[name].notna().any()))
    )
    table = np.full((len(batch), len(names)), None, dtype=object)
    for at, name in enumerate(names):
        if name in batch.columns:
            # Assigned as an object array: a list of str would pass through a NumPy
            # string array and come back as new str objects.
            table[:, at] = _column_values(batch[name], integer=name in ("time_us", "line"))
    return names, table


class _SQLRecording(Recording):
    def __init__(self, store: SQLEventStore, cursor: Any, source_id: int) -> None:
        self._store = store
        self._cursor = cursor
        self.source_id = source_id

    def add_events(self, batch: pd.DataFrame) -> int:
        if batch.empty:
            return 0
        columns, table = _batch_rows(batch)
        self._store._load_events(self._cursor, self.source_id, columns, table)
        return len(table)

    def add_rejects(self, rejects: pd.DataFrame) -> int:
        if rejects.empty:
            return 0
        rows = [
            (
                self.source_id,
                None if pd.isna(r[0]) else int(r[0]),
                *(None if _missing(v) else str(v) for v in r[1:]),
            )
            for r in rejects[list(REJECT_COLUMNS)].itertuples(index=False, name=None)
        ]
        self._cursor.executemany(
            self._store._sql(
                "INSERT INTO rejects (source_id, line, column_name, value, reason, raw) "
                "VALUES (?, ?, ?, ?, ?, ?)"
            ),
            rows,
        )
        return len(rows)

    def finish(self, report: Mapping[str, Any]) -> None:
        self._cursor.execute(
            self._store._sql("INSERT INTO source_reports (source_id, report) VALUES (?, ?)"),
            (self.source_id, _json(report)),
        )


class SQLEventStore(EventStore):
    """The shared logic of the SQL backends (not used directly)."""

    # -- what each dialect supplies ------------------------------------------------

    @abstractmethod
    def _sql(self, statement: str) -> str:
        """The statement in the driver's placeholder style."""

    @abstractmethod
    def _write(self, *, events: bool = True) -> AbstractContextManager[Any]:
        """A write transaction; yields a cursor. ``events=True`` holds the store's write
        lock on the events (positions are given in commit order); users and audit
        entries are written without it, so they do not wait for a long upload."""

    @abstractmethod
    def _read(self) -> AbstractContextManager[Any]:
        """A consistent read; yields a cursor."""

    @abstractmethod
    def _load_events(
        self,
        cursor: Any,
        source_id: int,
        columns: tuple[str, ...],
        table: np.ndarray,
    ) -> None:
        """Insert many event rows of one source fast: ``table`` holds one row per event,
        the values of ``columns`` as Python objects (see :func:`_batch_rows`)."""

    _ATTRIBUTES_OUT = "attributes"
    # A statement run before reading events in position order, if the dialect needs one.
    _IN_POSITION_ORDER: str | None = None

    # -- the contract ---------------------------------------------------------------

    @contextmanager
    def _recording(self, source: NewSource) -> Iterator[Recording]:
        with self._write() as cursor:
            source_id = self._insert_source(cursor, source)
            yield _SQLRecording(self, cursor, source_id)

    def recording(self, source: NewSource) -> AbstractContextManager[Recording]:
        return self._recording(source)

    def _insert_source(self, cursor: Any, source: NewSource) -> int:
        if source.content_hash is not None:
            cursor.execute(
                self._sql("SELECT source_id FROM sources WHERE content_hash = ?"),
                (source.content_hash,),
            )
            found = cursor.fetchone()
            if found is not None:
                raise SourceExistsError(int(found[0]))
        cursor.execute(
            self._sql(
                "INSERT INTO sources (name, kind, created_at, created_by, content_hash, details) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING source_id"
            ),
            (
                source.name,
                source.kind,
                _now(),
                source.created_by,
                source.content_hash,
                _json(source.details),
            ),
        )
        return int(cursor.fetchone()[0])

    def create_source(self, source: NewSource) -> Source:
        with self._write() as cursor:
            source_id = self._insert_source(cursor, source)
        return self.source(source_id)

    def append(self, source_id: int, events: Sequence[Event]) -> AppendResult:
        rows: list[tuple[Any, ...]] = []
        given: set[str] = set()
        for event in events:
            key = event.idempotency_key
            if key is not None:
                if key in given:
                    continue
                given.add(key)
            attributes = _json(event.attributes) if event.attributes else None
            rows.append(
                (
                    source_id,
                    str(event.case_id),
                    str(event.activity),
                    event.time_us,
                    event.lifecycle,
                    event.resource,
                    attributes,
                    None,
                    key,
                )
            )
        with self._write() as cursor:
            self._require_source(cursor, source_id)
            added = self._insert_appended(cursor, rows) if rows else 0
            cursor.execute("SELECT COALESCE(MAX(position), 0) FROM events")
            last = int(cursor.fetchone()[0])
        return AppendResult(
            source_id=source_id,
            added=added,
            duplicates=len(events) - added,
            last_position=last,
        )

    def _insert_appended(self, cursor: Any, rows: list[tuple[Any, ...]]) -> int:
        """Insert appended rows (keys unique among them) whose idempotency key the source
        does not hold yet; returns how many were inserted."""
        keys = [row[-1] for row in rows if row[-1] is not None]
        seen: set[str] = set()
        source_id = rows[0][0]
        # Look the keys up in chunks: the drivers limit the parameters per statement.
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            cursor.execute(
                self._sql(
                    "SELECT idempotency_key FROM events WHERE source_id = ? "
                    f"AND idempotency_key IN ({marks})"
                ),
                (source_id, *chunk),
            )
            seen.update(row[0] for row in cursor.fetchall())
        new = [row for row in rows if row[-1] is None or row[-1] not in seen]
        if new:
            cursor.executemany(
                self._sql(
                    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
                ),
                new,
            )
        return len(new)

    def finish_source(self, source_id: int, report: Mapping[str, Any]) -> Source:
        with self._write() as cursor:
            name = self._require_source(cursor, source_id)
            cursor.execute(
                self._sql("SELECT 1 FROM source_reports WHERE source_id = ?"), (source_id,)
            )
            if cursor.fetchone() is not None:
                raise SourceFinishedError(
                    f"Source {source_id} ({name}) is already finished; its report is kept as "
                    "it was. Record a new source for a new run or session."
                )
            cursor.execute(
                self._sql("INSERT INTO source_reports (source_id, report) VALUES (?, ?)"),
                (source_id, _json(report)),
            )
        return self.source(source_id)

    def _require_source(self, cursor: Any, source_id: int) -> str:
        cursor.execute(self._sql("SELECT name FROM sources WHERE source_id = ?"), (source_id,))
        row = cursor.fetchone()
        if row is None:
            raise UnknownSourceError(
                f"No source {source_id} in {self.url}. List the sources with 'knelpunt sources'."
            )
        return str(row[0])

    def sources(self) -> list[Source]:
        with self._read() as cursor:
            cursor.execute(_SOURCE_SELECT + " ORDER BY s.source_id")
            return [_source_from_row(row) for row in cursor.fetchall()]

    def source(self, source_id: int) -> Source:
        with self._read() as cursor:
            cursor.execute(self._sql(_SOURCE_SELECT + " WHERE s.source_id = ?"), (source_id,))
            row = cursor.fetchone()
        if row is None:
            return super().source(source_id)  # raises with the list of known sources
        return _source_from_row(row)

    def find_source(self, *, content_hash: str) -> Source | None:
        with self._read() as cursor:
            cursor.execute(self._sql(_SOURCE_SELECT + " WHERE s.content_hash = ?"), (content_hash,))
            row = cursor.fetchone()
        return None if row is None else _source_from_row(row)

    def iter_events(
        self,
        *,
        sources: Sequence[int] | None = None,
        after: int = 0,
        batch_size: int = 200_000,
        attributes: bool = True,
    ) -> Iterator[pd.DataFrame]:
        columns = (
            "position, source_id, case_id, activity, time_us, lifecycle, resource, "
            f"{self._ATTRIBUTES_OUT if attributes else 'NULL'}, line"
        )
        where = "position > ?"
        params: list[Any] = []
        if sources is not None:
            if not sources:
                return
            where += f" AND source_id IN ({', '.join('?' * len(sources))})"
            params.extend(int(s) for s in sources)
        statement = self._sql(
            f"SELECT {columns} FROM events WHERE {where} ORDER BY position LIMIT ?"
        )
        cursor_position = after
        while True:
            with self._read() as cursor:
                if self._IN_POSITION_ORDER is not None:
                    cursor.execute(self._IN_POSITION_ORDER)
                cursor.execute(statement, (cursor_position, *params, batch_size))
                rows = cursor.fetchall()
            if not rows:
                return
            frame = pd.DataFrame.from_records(
                rows,
                columns=[
                    "position",
                    "source_id",
                    "case_id",
                    "activity",
                    "time_us",
                    "lifecycle",
                    "resource",
                    "attributes",
                    "line",
                ],
                coerce_float=False,
            )
            frame = frame.astype({"position": "int64", "source_id": "int64", "time_us": "int64"})
            frame["line"] = frame["line"].astype("Int64")
            yield frame
            cursor_position = int(frame["position"].iloc[-1])
            if len(rows) < batch_size:
                return

    def rejects(self, source_id: int) -> pd.DataFrame:
        with self._read() as cursor:
            self._require_source(cursor, source_id)
            cursor.execute(
                self._sql(
                    "SELECT line, column_name, value, reason, raw FROM rejects "
                    "WHERE source_id = ? ORDER BY reject_id"
                ),
                (source_id,),
            )
            rows = cursor.fetchall()
        frame = pd.DataFrame.from_records(rows, columns=list(REJECT_COLUMNS))
        for name in REJECT_COLUMNS[1:]:
            # Keep None for "no value" (pandas would turn it into NaN).
            frame[name] = pd.Series([None if _missing(v) else v for v in frame[name]], dtype=object)
        frame["line"] = frame["line"].astype("Int64")
        return frame

    def purge(self, source_id: int, *, reason: str, purged_by: str | None = None) -> PurgeRecord:
        if not reason.strip():
            raise ValueError("Give a reason for the purge; it is kept in the purge log.")
        with self._write() as cursor:
            name = self._require_source(cursor, source_id)
            cursor.execute(
                self._sql(
                    "SELECT (SELECT COUNT(*) FROM events WHERE source_id = s.source_id), "
                    "(SELECT MAX(position) FROM events WHERE source_id = s.source_id), "
                    "(SELECT COUNT(*) FROM rejects WHERE source_id = s.source_id), "
                    "s.content_hash FROM sources s WHERE s.source_id = ?"
                ),
                (source_id,),
            )
            event_count, max_position, reject_count, content_hash = cursor.fetchone()
            counts = [int(event_count), int(reject_count)]
            # The purge-log entry is what authorises the deletes: the database's
            # triggers refuse them for any source that has no entry.
            cursor.execute(
                self._sql(
                    "INSERT INTO purges (source_id, source_name, purged_at, purged_by, reason, "
                    "events_removed, rejects_removed, content_hash, max_position) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING purge_id"
                ),
                (
                    source_id,
                    name,
                    _now(),
                    purged_by,
                    reason,
                    counts[0],
                    counts[1],
                    content_hash,
                    max_position,
                ),
            )
            purge_id = int(cursor.fetchone()[0])
            for table in ("rejects", "events", "source_reports", "sources"):
                cursor.execute(self._sql(f"DELETE FROM {table} WHERE source_id = ?"), (source_id,))
            self._insert_audit(
                cursor,
                NewAuditEntry(
                    "purge",
                    actor=purged_by,
                    target=f"source {source_id} ({name})",
                    details={
                        "reason": reason,
                        "events_removed": counts[0],
                        "rejects_removed": counts[1],
                    },
                ),
            )
        return next(p for p in self.purges() if p.purge_id == purge_id)

    def purges(self) -> list[PurgeRecord]:
        with self._read() as cursor:
            cursor.execute(
                "SELECT purge_id, source_id, source_name, purged_at, purged_by, reason, "
                "events_removed, rejects_removed FROM purges ORDER BY purge_id"
            )
            rows = cursor.fetchall()
        return [
            PurgeRecord(
                purge_id=int(r[0]),
                source_id=int(r[1]),
                source_name=r[2],
                purged_at=datetime.fromisoformat(r[3]),
                purged_by=r[4],
                reason=r[5],
                events_removed=int(r[6]),
                rejects_removed=int(r[7]),
            )
            for r in rows
        ]

    def last_position(self) -> int:
        # Purged events keep their positions reserved: the purge log remembers
        # the highest one, so a projection never sees the store "go back".
        with self._read() as cursor:
            cursor.execute(
                "SELECT MAX(p) FROM (SELECT COALESCE(MAX(position), 0) AS p FROM events "
                "UNION ALL SELECT COALESCE(MAX(max_position), 0) FROM purges) AS t"
            )
            return int(cursor.fetchone()[0])

    # -- users and the audit log ------------------------------------------------------

    def put_user(self, user: UserRecord) -> None:
        row = (
            user.role,
            user.password_hash,
            _stamp(user.created_at),
            _stamp(user.changed_at),
            _stamp(user.sessions_after),
        )
        with self._write(events=False) as cursor:
            cursor.execute(
                self._sql(
                    "UPDATE users SET role = ?, password_hash = ?, created_at = ?, "
                    "changed_at = ?, sessions_after = ? WHERE name = ?"
                ),
                (*row, user.name),
            )
            if cursor.rowcount == 0:
                cursor.execute(
                    self._sql(
                        "INSERT INTO users (role, password_hash, created_at, changed_at, "
                        "sessions_after, name) VALUES (?, ?, ?, ?, ?, ?)"
                    ),
                    (*row, user.name),
                )

    def users(self) -> list[UserRecord]:
        with self._read() as cursor:
            cursor.execute(_USER_SELECT + " ORDER BY name")
            return [_user_from_row(row) for row in cursor.fetchall()]

    def user(self, name: str) -> UserRecord | None:
        with self._read() as cursor:
            cursor.execute(self._sql(_USER_SELECT + " WHERE name = ?"), (name,))
            row = cursor.fetchone()
        return None if row is None else _user_from_row(row)

    def remove_user(self, name: str) -> bool:
        with self._write(events=False) as cursor:
            cursor.execute(self._sql("DELETE FROM users WHERE name = ?"), (name,))
            return bool(cursor.rowcount)

    def _insert_audit(self, cursor: Any, entry: NewAuditEntry) -> int:
        cursor.execute(
            self._sql(
                "INSERT INTO audit (at, action, actor, target, address, details) "
                "VALUES (?, ?, ?, ?, ?, ?) RETURNING entry_id"
            ),
            (
                _now(),
                entry.action,
                entry.actor,
                entry.target,
                entry.address,
                _json(entry.details),
            ),
        )
        return int(cursor.fetchone()[0])

    def append_audit(self, entry: NewAuditEntry) -> AuditEntry:
        if not entry.action.strip():
            raise ValueError("Name the action of an audit entry, e.g. 'login' or 'export'.")
        with self._write(events=False) as cursor:
            entry_id = self._insert_audit(cursor, entry)
            cursor.execute(self._sql(_AUDIT_SELECT + " WHERE entry_id = ?"), (entry_id,))
            return _audit_from_row(cursor.fetchone())

    def audit_log(
        self,
        *,
        since: datetime | None = None,
        actions: Sequence[str] | None = None,
        actor: str | None = None,
        address: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        where: list[str] = []
        params: list[Any] = []
        if since is not None:
            if since.tzinfo is None:
                raise ValueError("Give 'since' with a time zone, e.g. datetime.now(UTC).")
            where.append("at >= ?")
            params.append(_stamp(since))
        if actions is not None:
            if not actions:
                return []
            where.append(f"action IN ({', '.join('?' * len(actions))})")
            params.extend(actions)
        for column, value in (("actor", actor), ("address", address)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        statement = _AUDIT_SELECT
        if where:
            statement += " WHERE " + " AND ".join(where)
        statement += " ORDER BY entry_id DESC"
        if limit is not None:
            statement += " LIMIT ?"
            params.append(int(limit))
        with self._read() as cursor:
            cursor.execute(self._sql(statement), params)
            rows = cursor.fetchall()
        return [_audit_from_row(row) for row in reversed(rows)]


_USER_SELECT = "SELECT name, role, password_hash, created_at, changed_at, sessions_after FROM users"
_AUDIT_SELECT = "SELECT entry_id, at, action, actor, target, address, details FROM audit"


def _stamp(moment: datetime) -> str:
    """A moment as the stores keep it: ISO text in UTC, to the microsecond (so text order
    is time order)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _user_from_row(row: Sequence[Any]) -> UserRecord:
    return UserRecord(
        name=row[0],
        role=row[1],
        password_hash=row[2],
        created_at=datetime.fromisoformat(row[3]),
        changed_at=datetime.fromisoformat(row[4]),
        sessions_after=datetime.fromisoformat(row[5]),
    )


def _audit_from_row(row: Sequence[Any]) -> AuditEntry:
    return AuditEntry(
        entry_id=int(row[0]),
        at=datetime.fromisoformat(row[1]),
        action=row[2],
        actor=row[3],
        target=row[4],
        address=row[5],
        details=json.loads(row[6]) if row[6] else {},
    )
