"""The contract on a real PostgreSQL server, started by the test set-up."""

from __future__ import annotations

import psycopg
import pytest

import knelpunt as kp
from knelpunt.errors import StoreConnectionError
from tests.events.contract import EventStoreContract

pytestmark = pytest.mark.postgres


class TestPostgresEventStore(EventStoreContract):
    """PostgreSQL keeps the event store contract."""

    @pytest.fixture
    def url(self, postgres_url: str) -> str:
        return postgres_url

    def raw_sql(self, url: str, statement: str) -> None:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(statement)

    def test_truncate_is_refused(self, url: str) -> None:
        """TRUNCATE, which skips row triggers, is refused too."""
        kp.open_store(url).close()
        with pytest.raises(psycopg.Error, match="append-only"):
            self.raw_sql(url, "TRUNCATE events CASCADE")

    def test_password_is_not_shown(self, postgres_server: str) -> None:
        """A wrong database gives a clear error without the password in it."""
        bad = postgres_server.replace("knelpunt@", "knelpunt:secret@") + "/no_such_db"
        with pytest.raises(StoreConnectionError) as info:
            kp.open_store(bad)
        assert "secret" not in str(info.value)
        assert "no_such_db" in str(info.value)
