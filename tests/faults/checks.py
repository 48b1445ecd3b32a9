"""What the fault tests hold a store to after a crash, a restart or a full disk."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import pandas as pd
import psycopg

import knelpunt as kp


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def physical_problems(url: str) -> list[str]:
    """The database's own integrity check: SQLite's ``integrity_check`` and
    ``foreign_key_check``; on PostgreSQL amcheck's B-tree check of every index (all
    heap rows found in it) and its heap check of every table. Empty when sound."""
    if not _is_postgres(url):
        with sqlite3.connect(url) as connection:
            found = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            keys = connection.execute("PRAGMA foreign_key_check").fetchall()
        problems = [] if found == ["ok"] else [f"integrity_check: {found}"]
        return problems + [f"foreign key broken: {row}" for row in keys]
    problems = []
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        indexes = connection.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_am a ON a.oid = c.relam "
            "WHERE a.amname = 'btree' AND c.relnamespace = 'public'::regnamespace"
        ).fetchall()
        for (index,) in indexes:
            # Raises on a corrupt index; heapallindexed: every table row is in the index.
            connection.execute("SELECT bt_index_check(%s::regclass, true)", (index,))
        tables = connection.execute(
            "SELECT c.relname FROM pg_class c "
            "WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace"
        ).fetchall()
        for (table,) in tables:
            for row in connection.execute(
                "SELECT blkno, offnum, msg FROM verify_heapam(%s::regclass)", (table,)
            ):
                problems.append(f"{table}: {row}")
    return problems


def logical_problems(url: str) -> list[str]:
    """The store's own invariants: every uploaded source and simulation run carries the
    report written in its transaction and exactly the events that report counts; no
    event without its source; positions unique and never above the store's last
    position."""
    problems = []
    with kp.open_store(url) as store:
        events = store.read_events()
        sources = store.sources()
        known = {s.source_id for s in sources}
        for source in sources:
            if source.kind in ("upload", "dataframe", "simulation"):
                if not source.report:
                    problems.append(f"source {source.source_id} visible without its report")
                elif source.report.get("events") != source.event_count:
                    problems.append(
                        f"source {source.source_id}: report says {source.report.get('events')} "
                        f"events, the store holds {source.event_count}"
                    )
        orphans = set(events["source_id"]) - known
        if orphans:
            problems.append(f"events of unknown sources {sorted(orphans)}")
        if not events["position"].is_unique:
            problems.append("two events share a position")
        if len(events) and int(events["position"].max()) > store.last_position():
            problems.append("an event lies beyond the last position")
    return problems


def assert_consistent(url: str) -> None:
    """Fail with every problem found, physical and logical."""
    problems = physical_problems(url) + logical_problems(url)
    assert problems == [], problems


@dataclass(frozen=True)
class Recorded:
    """What one source holds: its event count and a checksum of its events' content."""

    events: int
    checksum: str


def recorded(store: kp.EventStore, source_id: int) -> Recorded:
    """A source's events as a count and a SHA-256 over their content in file order
    (positions and source ids left out, attributes as parsed JSON), so two stores,
    also one SQLite and one PostgreSQL, can be compared."""
    digest = hashlib.sha256()
    count = 0
    for batch in store.iter_events(sources=[source_id]):
        for row in batch.itertuples(index=False):
            text = row.attributes
            attributes: Any = json.loads(text) if isinstance(text, str) and text else None
            digest.update(
                json.dumps(
                    [
                        row.case_id,
                        row.activity,
                        int(row.time_us),
                        row.lifecycle,
                        row.resource,
                        attributes,
                        None if pd.isna(row.line) else int(row.line),
                    ],
                    sort_keys=True,
                    default=str,
                ).encode()
            )
            count += 1
    return Recorded(count, digest.hexdigest())
