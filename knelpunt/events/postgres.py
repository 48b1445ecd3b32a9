"""The shared deployment: PostgreSQL through psycopg 3."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any, Final

import numpy as np
import psycopg
from psycopg import errors as pg_errors

from knelpunt.errors import (
    AppendOnlyError,
    ConcurrencyError,
    EventStoreError,
    KnelpuntError,
    StoreConnectionError,
    StoreFullError,
)
from knelpunt.events._sql import EVENT_COLUMNS, SCHEMA_VERSION, SQLEventStore

__all__ = ["PostgresEventStore"]

_REFUSE = "knelpunt: the event store is append-only"
_PURGEABLE = ("events", "rejects", "source_reports", "sources")
# Any constant will do: it only has to be the same for every knelpunt process.
_SCHEMA_LOCK = 74_657_201

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS knelpunt_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    source_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT,
    content_hash TEXT UNIQUE,
    details TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS source_reports (
    source_id BIGINT PRIMARY KEY REFERENCES sources(source_id),
    report TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id BIGINT NOT NULL REFERENCES sources(source_id),
    case_id TEXT NOT NULL CHECK (case_id <> ''),
    activity TEXT NOT NULL CHECK (activity <> ''),
    time_us BIGINT NOT NULL,
    lifecycle TEXT,
    resource TEXT,
    attributes JSONB,
    line BIGINT,
    idempotency_key TEXT
);
CREATE INDEX IF NOT EXISTS events_by_source ON events(source_id);
CREATE UNIQUE INDEX IF NOT EXISTS events_idempotency
    ON events(source_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS rejects (
    reject_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id BIGINT NOT NULL REFERENCES sources(source_id),
    line BIGINT,
    column_name TEXT,
    value TEXT,
    reason TEXT NOT NULL,
    raw TEXT
);
CREATE INDEX IF NOT EXISTS rejects_by_source ON rejects(source_id);
CREATE TABLE IF NOT EXISTS purges (
    purge_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_id BIGINT NOT NULL UNIQUE,
    source_name TEXT NOT NULL,
    purged_at TEXT NOT NULL,
    purged_by TEXT,
    reason TEXT NOT NULL,
    events_removed BIGINT NOT NULL,
    rejects_removed BIGINT NOT NULL,
    content_hash TEXT,
    max_position BIGINT
);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY CHECK (name <> ''),
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    sessions_after TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    entry_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action <> ''),
    actor TEXT,
    target TEXT,
    address TEXT,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_action ON audit(action, at);
CREATE OR REPLACE FUNCTION knelpunt_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{_REFUSE}: TRUNCATE on % is refused', TG_TABLE_NAME;
END $$;
CREATE OR REPLACE FUNCTION knelpunt_refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{_REFUSE}: % on the audit log is refused', TG_OP;
END $$;
CREATE OR REPLACE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION knelpunt_refuse_audit_change();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION knelpunt_refuse_truncate();
CREATE OR REPLACE FUNCTION knelpunt_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME <> 'purges'
       AND EXISTS (SELECT 1 FROM purges p WHERE p.source_id = OLD.source_id) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '{_REFUSE}: % on % is refused; purge the whole source', TG_OP, TG_TABLE_NAME;
END $$;
""" + "".join(
    f"""
CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION knelpunt_refuse_change();
CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION knelpunt_refuse_truncate();
"""
    for table in (*_PURGEABLE, "purges")
)


# The schema as this code writes it (see PostgresEventStore.__init__).
_SCHEMA_DIGEST: Final = hashlib.sha256(_SCHEMA.encode("utf-8")).hexdigest()


class PostgresEventStore(SQLEventStore):
    """Event store in a PostgreSQL database, for shared deployments.

    Writers take ``LOCK TABLE events IN EXCLUSIVE MODE`` for the length of
    their transaction. Readers are not blocked, and positions become visible
    strictly in order, so a projection reading ``position > p`` never skips an
    event that a slower transaction commits later.

    Args:
        url: a ``postgresql://user:password@host:port/database`` URL.
        busy_timeout: seconds a writer waits for another writer's lock.
    """

    _ATTRIBUTES_OUT = "attributes::text"
    # Events are read along the primary key's index, which is their order already (rows are
    # appended in position order). Without it PostgreSQL sorted each batch, spilling to
    # temporary files: 131 MB for BPIC 2012 and BPIC 2015 read once, 30% slower, and on a
    # full data disk the read failed for want of room for them.
    _IN_POSITION_ORDER = "SET LOCAL enable_sort = off"

    def __init__(self, url: str, *, busy_timeout: float = 300.0) -> None:
        self.url = _redact(url)
        self._dsn = url
        self._busy_ms = int(busy_timeout * 1000)
        self._connection = self._connect()
        self._lock = threading.RLock()
        with self._lock, self._connection.transaction():
            # The schema is made (or brought up to date) only when it is not already as
            # this code writes it: opening a store writes nothing otherwise, so a store
            # on a full disk can still be opened and read.
            if self._schema_digest() == _SCHEMA_DIGEST:
                return
            self._connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            self._connection.execute(_SCHEMA)
            self._connection.execute(
                "INSERT INTO knelpunt_meta (key, value) VALUES ('schema_version', %s) "
                "ON CONFLICT (key) DO NOTHING",
                (SCHEMA_VERSION,),
            )
            self._connection.execute(
                "INSERT INTO knelpunt_meta (key, value) VALUES ('schema_digest', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                (_SCHEMA_DIGEST,),
            )

    def _schema_digest(self) -> str | None:
        """The digest of the schema the store was last made with, if any."""
        found = self._connection.execute(
            "SELECT to_regclass('knelpunt_meta') IS NOT NULL"
        ).fetchone()
        if not found or not found[0]:
            return None
        row = self._connection.execute(
            "SELECT value FROM knelpunt_meta WHERE key = 'schema_digest'"
        ).fetchone()
        return None if row is None else str(row[0])

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as error:
            raise StoreConnectionError(
                f"Cannot connect to PostgreSQL at {self.url}: {str(error).strip()}. Check the "
                "host, port, database name and credentials in the store URL, and that the "
                "server is running."
            ) from error

    def _begin(self, stack: ExitStack) -> psycopg.Cursor[Any]:
        """Open a transaction and its cursor on a live connection.

        A lost connection (the server restarted or ended the session) is replaced by a
        new one at the next use: the store keeps working once the server is back. One
        found lost at ``BEGIN`` itself, where nothing has been done yet, is replaced at
        once and the transaction begun again, so a restart between two requests costs
        none of them.
        """
        if self._connection.broken:
            self._connection = self._connect()
        try:
            stack.enter_context(self._connection.transaction())
        except psycopg.OperationalError:
            if not self._connection.broken:
                raise
            self._connection = self._connect()
            stack.enter_context(self._connection.transaction())
        return stack.enter_context(self._connection.cursor())

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def _insert_appended(self, cursor: Any, rows: list[tuple[Any, ...]]) -> int:
        # The unique index itself skips the keys the source holds. A look-up first (the
        # base class) is planned from statistics, and a table that appenders keep locked is
        # not analysed by autovacuum: without statistics PostgreSQL scanned every event of
        # the source for each batch, so a capture session slowed with every event stored.
        # A skipped row still draws a position from the sequence: positions stay unique
        # and increasing, with a gap.
        cursor.executemany(
            f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
            f"VALUES ({', '.join(['%s'] * len(EVENT_COLUMNS))}) "
            "ON CONFLICT (source_id, idempotency_key) WHERE idempotency_key IS NOT NULL "
            "DO NOTHING",
            rows,
        )
        return int(cursor.rowcount)

    @contextmanager
    def _write(self, *, events: bool = True) -> Iterator[Any]:
        with self._lock:
            try:
                with ExitStack() as stack:
                    cursor = self._begin(stack)
                    cursor.execute(f"SET LOCAL lock_timeout = {self._busy_ms}")
                    if events:
                        cursor.execute("LOCK TABLE events IN EXCLUSIVE MODE")
                    yield cursor
            except psycopg.Error as error:
                raise _translate(error, self.url) from error

    @contextmanager
    def _read(self) -> Iterator[Any]:
        with self._lock:
            try:
                with ExitStack() as stack:
                    yield self._begin(stack)
            except psycopg.Error as error:
                raise _translate(error, self.url) from error

    def _load_events(
        self,
        cursor: Any,
        source_id: int,
        columns: tuple[str, ...],
        table: np.ndarray,
    ) -> None:
        with cursor.copy(f"COPY events (source_id, {', '.join(columns)}) FROM STDIN") as copy:
            for row in table.tolist():
                copy.write_row((source_id, *row))

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def _redact(url: str) -> str:
    """The URL without its password, for messages and listings."""
    head, sep, tail = url.rpartition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, credentials = head.partition("//")
    user = credentials.split(":", 1)[0]
    return f"{scheme}//{user}:***@{tail}"


def _translate(error: psycopg.Error, url: str) -> KnelpuntError:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if _REFUSE in text:
        return AppendOnlyError(
            text.replace("knelpunt: ", "")
            + ". Record corrections as new events; remove a whole source with 'knelpunt purge'."
        )
    if isinstance(error, pg_errors.DiskFull):
        return StoreFullError(
            f"The disk is full: the PostgreSQL server at {url} could not write ({text}). "
            "Nothing of this write was recorded; the store is as it was before it. Free "
            "space on the disk of the server's data directory (or give the database more "
            "room; if PostgreSQL stopped itself because it could not write its WAL, start "
            "it again after that), then do it again: a file whose recording failed can be "
            "recorded again as is."
        )
    if isinstance(error, pg_errors.LockNotAvailable):
        return ConcurrencyError(
            "Another writer kept the PostgreSQL store locked longer than the busy time-out; "
            "retry when its upload has finished, or raise busy_timeout."
        )
    if isinstance(error, psycopg.OperationalError):
        return StoreConnectionError(
            f"The connection to PostgreSQL at {url} failed: {text}. The operation was not "
            "confirmed; knelpunt connects again at the next use, so retry once the server "
            "is back (events sent with an idempotency key are never stored twice)."
        )
    return EventStoreError(f"PostgreSQL store error: {text}")
