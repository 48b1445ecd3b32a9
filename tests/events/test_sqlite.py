"""The contract on the embedded SQLite backend, plus what only SQLite has."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import knelpunt as kp
from tests.events.contract import EventStoreContract


class TestSQLiteEventStore(EventStoreContract):
    """SQLite (one file, WAL mode) keeps the event store contract."""

    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return str(tmp_path / "store.db")

    def raw_sql(self, url: str, statement: str) -> None:
        with sqlite3.connect(url) as connection:
            connection.execute(statement)

    def test_file_is_in_wal_mode(self, tmp_path: Path) -> None:
        """The embedded store is one file in write-ahead-log mode."""
        path = tmp_path / "s.db"
        kp.open_store(path).close()
        with sqlite3.connect(path) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def test_sqlite_url_forms(self, tmp_path: Path) -> None:
        """sqlite:/// URLs and plain paths open the same file."""
        path = tmp_path / "u.db"
        with kp.open_store(f"sqlite:///{path}") as store:
            assert store.url == str(path)
