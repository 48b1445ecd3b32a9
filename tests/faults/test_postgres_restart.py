"""PostgreSQL restarted under a store that is in use, and during a live capture with
concurrent clients: the store connects again by itself, and every event a client
sent is stored exactly once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

import knelpunt as kp
from knelpunt.errors import StoreConnectionError
from knelpunt.events import Event, NewSource
from knelpunt.simulate.capture_client import CaptureClient
from tests.conftest import REPO
from tests.faults.conftest import Cluster

pytestmark = pytest.mark.postgres

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _events(prefix: str, n: int) -> list[Event]:
    return [
        Event(f"C{i % 3}", f"A{i}", T0 + timedelta(minutes=i), "complete", "r1", {}, f"{prefix}{i}")
        for i in range(n)
    ]


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_store_connects_again_after_a_restart(mode: str, cluster: Callable[..., Cluster]) -> None:
    """After ``pg_ctl restart`` the same store object reads and writes again without a
    failed call; while the server is down it says so clearly, and recovers after."""
    server = cluster()
    url = server.create_database("restart")
    with kp.open_store(url) as store:
        source = store.create_source(NewSource("before", "capture"))
        assert store.append(source.source_id, _events("a", 5)).added == 5
        server.restart(mode)
        # The old connection is gone; the next call begins on a new one.
        assert store.append(source.source_id, _events("b", 5)).added == 5
        assert store.last_position() >= 10
        server.stop("fast")
        with pytest.raises(StoreConnectionError, match="that the server is running"):
            store.append(source.source_id, _events("c", 5))
        with pytest.raises(StoreConnectionError):
            store.sources()
        server.start()
        assert store.append(source.source_id, _events("c", 5)).added == 5
        assert store.append(source.source_id, _events("c", 5)).duplicates == 5
        assert store.source(source.source_id).event_count == 15


def test_a_connection_lost_mid_transaction_is_reported_and_replaced(
    cluster: Callable[..., Cluster],
) -> None:
    """A session ended by the server inside a write fails that write with
    StoreConnectionError (nothing of it stored) and the next write succeeds."""
    server = cluster()
    url = server.create_database("terminate")
    with kp.open_store(url) as store:
        source = store.create_source(NewSource("s", "capture"))
        failing = pytest.raises(StoreConnectionError, match="was not confirmed")
        with failing, store._write() as cur:  # type: ignore[attr-defined]
            cur.execute("SELECT pg_backend_pid()")
            (pid,) = cur.fetchone()
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            time.sleep(0.2)
            cur.execute(
                "INSERT INTO events (source_id, case_id, activity, time_us) "
                "VALUES (%s, 'c', 'a', 0)",
                (source.source_id,),
            )
        assert store.source(source.source_id).event_count == 0
        assert store.append(source.source_id, _events("d", 3)).added == 3


class _CaptureServer:
    """``knelpunt capture serve`` on a PostgreSQL store, as a child process."""

    def __init__(self, store: str, log: Path) -> None:
        self.log = log
        with log.open("ab") as sink:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "knelpunt.cli", "capture", "serve", "--port", "0"),
                    *("--store", store, "--threads", "8"),
                ],
                cwd=REPO,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "COLUMNS": "200"},
            )
        deadline = time.monotonic() + 60
        while not (found := re.findall(r"http://127\.0\.0\.1:(\d+)/", log.read_text())):
            assert self.process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        self.base = f"http://127.0.0.1:{found[-1]}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def _stored_keys(url: str, source_id: int) -> list[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT idempotency_key FROM events WHERE source_id = %s", (source_id,)
        ).fetchall()
    return [row[0] for row in rows]


def test_capture_survives_postgres_restarts(
    cluster: Callable[..., Cluster],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    """Eight clients post through three restarts of PostgreSQL (fast, immediate, and a
    stop of two seconds) to one capture server that keeps running: the clients resend
    on 503 with backoff (CaptureClient), every event sent is stored exactly once, and
    every acknowledged one was stored."""
    server = cluster()
    url = server.create_database("capture")
    capture = _CaptureServer(url, tmp_path / "capture.log")
    clients, batches = 8, 60
    sizes = [[1 + (n + b) % 5 for b in range(batches)] for n in range(clients)]
    total = sum(map(sum, sizes))
    sent: set[str] = set()
    acknowledged: list[str] = []
    resends = [0]
    failures: list[BaseException] = []
    lock = threading.Lock()
    try:
        opener = CaptureClient.open_session(capture.base, "restart during capture")
        source_id = opener.session_id

        def post(number: int) -> None:
            try:
                with CaptureClient(capture.base, source_id, opener.token) as client:
                    for batch, size in enumerate(sizes[number]):
                        events = [
                            {
                                "case_id": f"C{number}-{batch}",
                                "activity": f"Stap {i}",
                                "timestamp": T0 + timedelta(minutes=batch, seconds=i),
                                "resource": f"medewerker {number}",
                                "idempotency_key": f"{number}-{batch}-{i}",
                            }
                            for i in range(size)
                        ]
                        with lock:
                            sent.update(e["idempotency_key"] for e in events)
                        receipt = client.send(events)
                        with lock:
                            acknowledged.extend(receipt.keys)
                            resends[0] += receipt.attempts - 1
                        time.sleep(0.01)
            except BaseException as error:  # reported by the test below
                failures.append(error)

        threads = [threading.Thread(target=post, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()

        def when_acknowledged(share: float) -> None:
            deadline = time.monotonic() + 120
            while len(acknowledged) < share * total and not failures:
                assert time.monotonic() < deadline, "the clients stopped making progress"
                time.sleep(0.01)

        when_acknowledged(0.2)
        server.restart("fast")
        when_acknowledged(0.45)
        server.restart("immediate")  # a crash: recovery from the WAL
        when_acknowledged(0.7)
        server.stop("fast")
        with lock:
            before_stop = set(acknowledged)
        time.sleep(2.0)  # the clients meet 503s meanwhile
        server.start()
        for thread in threads:
            thread.join(timeout=180)
        assert not any(thread.is_alive() for thread in threads)
        assert failures == []
        assert capture.process.poll() is None  # the same server process throughout
    finally:
        capture.stop()
    stored = _stored_keys(url, source_id)
    assert resends[0] > 0  # the clients did meet the restarts
    assert before_stop <= set(stored)  # acknowledged before the stop: durable
    assert len(stored) == len(set(stored))  # none doubled
    assert set(acknowledged) <= set(stored)  # none lost
    assert set(stored) == sent  # every event sent, stored once
    assert len(stored) == total
    record_property("fault", "postgres-restart")
    record_property("restarts", 3)
    record_property("events", total)
    record_property("resends", resends[0])
