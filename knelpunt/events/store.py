"""The event store port: its contract, written once, for every backend.

An event store keeps **sources** (one upload, simulation run or capture
session) and their **events**, append-only:

* Every event gets a global ``position``: unique, increasing in commit
  order, never reused (also not after a purge). Reading ``after=p`` returns
  exactly the events committed after position ``p``, so projections can
  catch up incrementally.
* Events of one source keep the order in which they were given.
* The database itself refuses UPDATE and DELETE on recorded rows
  (triggers); the only exception is :meth:`EventStore.purge`, which removes a
  whole source and leaves a permanent entry in the purge log.
* Recording a file (:meth:`EventStore.recording`) is one transaction: the
  source, its events, its rejected rows and its report become visible
  together or not at all. A second source with the same content hash is
  refused with :class:`~knelpunt.errors.SourceExistsError`.
* :meth:`EventStore.append` adds events to an existing source (simulation,
  live capture); an event whose idempotency key the source has seen before is
  skipped, so a client may safely resend.
* Several processes may write at once: writes are serialised by the
  database, none is lost and no two events share a position.

Beside the events the store keeps who may use them and what they did:

* **Users** (:meth:`EventStore.put_user`, :meth:`EventStore.users`): one
  record per log-in name with its role and password hash. Users are the one
  thing in the store that changes in place (a new password, another role).
* **The audit log** (:meth:`EventStore.append_audit`,
  :meth:`EventStore.audit_log`): append-only like the events, refused
  UPDATE and DELETE by the database. A purge writes its own entry in the
  purge's transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from knelpunt.errors import StoreConnectionError, UnknownSourceError
from knelpunt.events.model import (
    AppendResult,
    AuditEntry,
    Event,
    NewAuditEntry,
    NewSource,
    PurgeRecord,
    Source,
    UserRecord,
)

__all__ = ["DEFAULT_STORE", "EventStore", "Recording", "open_store"]

DEFAULT_STORE = "knelpunt.db"


class Recording(ABC):
    """An open recording transaction for one new source (see :meth:`EventStore.recording`)."""

    source_id: int

    @abstractmethod
    def add_events(self, batch: pd.DataFrame) -> int:
        """Add a batch of events (columns :data:`~knelpunt.events.model.BATCH_COLUMNS`).

        Returns:
            The number of events added.
        """

    @abstractmethod
    def add_rejects(self, rejects: pd.DataFrame) -> int:
        """Keep refused rows with their reason (columns line, column, value, reason, raw).

        Returns:
            The number of rows kept.
        """

    @abstractmethod
    def finish(self, report: Mapping[str, Any]) -> None:
        """Attach the ingestion report; the transaction commits when the block ends."""


class EventStore(ABC):
    """Append-only store of sources and events; see the module docstring for the contract."""

    url: str

    @abstractmethod
    def recording(self, source: NewSource) -> AbstractContextManager[Recording]:
        """Open one transaction that records a new source with all its events.

        Leaving the ``with`` block normally commits; an exception rolls back
        everything, so the store is as it was.

        Raises:
            SourceExistsError: a source with the same ``content_hash`` exists.
        """

    @abstractmethod
    def create_source(self, source: NewSource) -> Source:
        """Create an empty source to :meth:`append` to (simulation run, capture session).

        Raises:
            SourceExistsError: a source with the same ``content_hash`` exists.
        """

    @abstractmethod
    def append(self, source_id: int, events: Sequence[Event]) -> AppendResult:
        """Append events to an existing source in one transaction.

        Events whose ``idempotency_key`` the source already holds (or that repeat
        a key within ``events``) are skipped and counted as duplicates.

        Raises:
            UnknownSourceError: no such source.
        """

    @abstractmethod
    def finish_source(self, source_id: int, report: Mapping[str, Any]) -> Source:
        """Attach the closing report to a source made by :meth:`create_source`.

        A simulation run calls it when the run ends, a capture session when it
        is closed; a source has at most one report, and events may still be
        appended after it (late captures), but the report is never rewritten.

        Raises:
            UnknownSourceError: no such source.
            SourceFinishedError: the source already has its report.
        """

    @abstractmethod
    def sources(self) -> list[Source]:
        """All sources, oldest first, with their live event and reject counts."""

    @abstractmethod
    def find_source(self, *, content_hash: str) -> Source | None:
        """The source recorded from content with this SHA-256, if any."""

    @abstractmethod
    def iter_events(
        self,
        *,
        sources: Sequence[int] | None = None,
        after: int = 0,
        batch_size: int = 200_000,
        attributes: bool = True,
    ) -> Iterator[pd.DataFrame]:
        """Events in position order, in batches.

        Each batch has the columns ``position``, ``source_id`` and
        :data:`~knelpunt.events.model.BATCH_COLUMNS` minus ``idempotency_key``.

        Args:
            sources: only these sources (default: all).
            after: only events with a position greater than this.
            batch_size: rows per batch.
            attributes: False leaves the ``attributes`` column empty (None),
                which reads much faster when only the core columns are needed.
        """

    @abstractmethod
    def rejects(self, source_id: int) -> pd.DataFrame:
        """The refused rows of a source: line, column, value, reason, raw."""

    @abstractmethod
    def purge(self, source_id: int, *, reason: str, purged_by: str | None = None) -> PurgeRecord:
        """Remove a whole source (events, rejects, report) and log that it happened: in the
        purge log and, in the same transaction, as a ``purge`` entry of the audit log.

        Raises:
            UnknownSourceError: no such source.
        """

    @abstractmethod
    def purges(self) -> list[PurgeRecord]:
        """The purge log, oldest first."""

    @abstractmethod
    def last_position(self) -> int:
        """The highest position ever given to an event (0 for a new store)."""

    @abstractmethod
    def put_user(self, user: UserRecord) -> None:
        """Add a user, or replace the record of the user of that name (its role, its
        password hash, when its sessions began to count)."""

    @abstractmethod
    def users(self) -> list[UserRecord]:
        """Every user, by name."""

    @abstractmethod
    def remove_user(self, name: str) -> bool:
        """Remove a user; False when there was none of that name."""

    def user(self, name: str) -> UserRecord | None:
        """The user of that name, if any."""
        return next((u for u in self.users() if u.name == name), None)

    @abstractmethod
    def append_audit(self, entry: NewAuditEntry) -> AuditEntry:
        """Write an entry in the audit log, stamped with the current moment (UTC).

        It does not wait for an upload that holds the event lock, so a log-in is
        not held up by a long recording (on PostgreSQL; SQLite has one writer).
        """

    @abstractmethod
    def audit_log(
        self,
        *,
        since: datetime | None = None,
        actions: Sequence[str] | None = None,
        actor: str | None = None,
        address: str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Audit entries, oldest first; with ``limit``, the newest ``limit`` of them.

        Args:
            since: only entries written at or after this moment (aware datetime).
            actions: only these actions.
            actor: only this actor's entries.
            address: only entries from this address.
            limit: at most this many, the newest.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the connection; the store object cannot be used afterwards."""

    def source(self, source_id: int) -> Source:
        """One source by id.

        Raises:
            UnknownSourceError: no such source.
        """
        for found in self.sources():
            if found.source_id == source_id:
                return found
        known = ", ".join(str(s.source_id) for s in self.sources()) or "none"
        raise UnknownSourceError(
            f"No source {source_id} in {self.url}. Known sources: {known}. "
            "List them with 'knelpunt sources'."
        )

    def read_events(self, *, sources: Sequence[int] | None = None, after: int = 0) -> pd.DataFrame:
        """All matching events as one DataFrame (see :meth:`iter_events`)."""
        batches = list(self.iter_events(sources=sources, after=after))
        if not batches:
            return _empty_events()
        return pd.concat(batches, ignore_index=True) if len(batches) > 1 else batches[0]

    def __enter__(self) -> EventStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "position": pd.Series(dtype="int64"),
            "source_id": pd.Series(dtype="int64"),
            "case_id": pd.Series(dtype="object"),
            "activity": pd.Series(dtype="object"),
            "time_us": pd.Series(dtype="int64"),
            "lifecycle": pd.Series(dtype="object"),
            "resource": pd.Series(dtype="object"),
            "attributes": pd.Series(dtype="object"),
            "line": pd.Series(dtype="Int64"),
        }
    )


def open_store(url: str | Path | None = None, *, busy_timeout: float = 300.0) -> EventStore:
    """Open (and create if needed) an event store.

    Args:
        url: a SQLite file path (``knelpunt.db``), ``sqlite:///path``,
            ``:memory:``, or a ``postgresql://user@host/db`` URL. Default: the
            file ``knelpunt.db`` in the working directory.
        busy_timeout: seconds a writer waits for another writer before giving up.

    Returns:
        A :class:`EventStore`; use it as a context manager to close it.

    Raises:
        StoreConnectionError: the store cannot be opened.

    Example:
        >>> with open_store(":memory:") as store:
        ...     store.last_position()
        0
    """
    text = str(url) if url is not None else DEFAULT_STORE
    if text.startswith(("postgresql://", "postgres://")):
        from knelpunt.events.postgres import PostgresEventStore

        return PostgresEventStore(text, busy_timeout=busy_timeout)
    if text == "sqlite://":
        text = ":memory:"
    elif text.startswith("sqlite:///"):
        # SQLAlchemy's convention: sqlite:///relative.db, sqlite:////absolute.db
        text = text.removeprefix("sqlite:///") or ":memory:"
    if "://" in text:
        raise StoreConnectionError(
            f"Unknown store URL {text!r}. Use a SQLite file path (e.g. knelpunt.db) or a "
            "postgresql://user@host/database URL."
        )
    from knelpunt.events.sqlite import SQLiteEventStore

    return SQLiteEventStore(text, busy_timeout=busy_timeout)
