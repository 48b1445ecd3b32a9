"""Live-capture throughput: ``knelpunt capture serve`` on loopback under concurrent clients.

Used by :mod:`benchmarks.operations` (operations ``capture-c<CLIENTS>-b<BATCH>``)
and runnable alone for a quick look::

    .venv/bin/python -m benchmarks.capture_load --store /tmp/c.db --clients 8 --batch 1

Outside the clock the server is started as a child process (``python -m
knelpunt.cli capture serve --port 0``, its default 8 threads) and a session
is opened. On the clock, ``clients`` threads each keep one HTTP/1.1
connection and post their share of the events, ``batch`` per request, each
request waiting for its answer (201: committed) before the next; a request
that fails is resent with the same idempotency keys. After the clock the
server is stopped (SIGTERM) and the store is read directly: every
acknowledged key must be there (``lost`` counts those that are not) and no
key twice (``duplicated``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["CAPTURE_OPERATIONS", "capture_load"]

WHEN = "2025-03-04T09:15:00+01:00"


class _Server:
    def __init__(self, store_url: str, log: Path) -> None:
        self.log = log
        with log.open("wb") as sink:
            command = ["capture", "serve", "--port", "0", "--store", store_url]
            self.process = subprocess.Popen(
                [sys.executable, "-m", "knelpunt.cli", *command],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "COLUMNS": "300"},
            )
        self.port = 0
        deadline = time.monotonic() + 60
        while not self.port:
            found = re.search(r"http://127\.0\.0\.1:(\d+)/", log.read_text())
            if found:
                self.port = int(found.group(1))
            elif self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the capture server did not start:\n{log.read_text()}")
            else:
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


def _post(
    connection: http.client.HTTPConnection, path: str, body: Any, token: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    connection.request("POST", path, json.dumps(body), headers)
    answer = connection.getresponse()
    return answer.status, json.loads(answer.read())


def _stored_keys(store_url: str, source_id: int) -> list[str]:
    statement = "SELECT idempotency_key FROM events WHERE source_id = ?"
    if store_url.startswith(("postgresql://", "postgres://")):
        import psycopg

        with psycopg.connect(store_url) as connection:
            rows = connection.execute(statement.replace("?", "%s"), (source_id,)).fetchall()
    else:
        with sqlite3.connect(store_url) as connection:
            rows = connection.execute(statement, (source_id,)).fetchall()
    return [row[0] for row in rows]


def capture_load(
    store_url: str, *, clients: int, batch: int, events: int, log: Path
) -> Callable[[], dict[str, Any]]:
    """Start the server and open a session; returns the timed part (see the module docstring)."""
    server = _Server(store_url, log)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        status, opened = _post(connection, "/api/capture/sessions", {"name": "benchmark"})
        connection.close()
        if status != 201:
            raise RuntimeError(f"opening a session failed: {status} {opened}")
    except BaseException:
        server.stop()
        raise
    path = f"/api/capture/sessions/{opened['source_id']}/events"
    token = opened["token"]
    requests = events // batch // clients

    def client(
        number: int, acknowledged: list[str], latencies: list[float], resent: list[int]
    ) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for request in range(requests):
            keys = [f"{number}-{request}-{i}" for i in range(batch)]
            body = {
                "events": [
                    {
                        "case_id": f"C{number}-{request // 10}",
                        "activity": f"Stap {i % 7}",
                        "timestamp": WHEN,
                        "resource": f"medewerker {number % 5}",
                        "idempotency_key": key,
                    }
                    for i, key in enumerate(keys)
                ]
            }
            while True:
                started = time.perf_counter()
                try:
                    status, _answer = _post(connection, path, body, token)
                except (OSError, http.client.HTTPException):
                    status = 0
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
                if status in (200, 201):
                    latencies.append(time.perf_counter() - started)
                    acknowledged.extend(keys)
                    break
                resent[0] += 1
                time.sleep(0.01)
        connection.close()

    def run() -> dict[str, Any]:
        acknowledged: list[list[str]] = [[] for _ in range(clients)]
        latencies: list[list[float]] = [[] for _ in range(clients)]
        resent = [[0] for _ in range(clients)]
        threads = [
            threading.Thread(target=client, args=(n, acknowledged[n], latencies[n], resent[n]))
            for n in range(clients)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        keys = [key for part in acknowledged for key in part]
        times = sorted(t for part in latencies for t in part)

        def after() -> dict[str, Any]:
            server.stop()
            stored = _stored_keys(store_url, opened["source_id"])
            unique = set(stored)
            return {
                "check": {
                    "clients": clients,
                    "batch": batch,
                    "sent": requests * clients * batch,
                    "requests": len(times),
                    "acknowledged": len(keys),
                    "stored": len(stored),
                    "lost": len(set(keys) - unique),
                    "duplicated": len(stored) - len(unique),
                    "resent": sum(r[0] for r in resent),
                    "load_seconds": seconds,
                    "p50_ms": 1000 * statistics.median(times),
                    "p99_ms": 1000 * times[int(0.99 * (len(times) - 1))],
                }
            }

        return {"events": len(keys), "after": after}

    return run


def _operation(clients: int, batch: int) -> Callable[..., Callable[[], dict[str, Any]]]:
    def prepare(events: str, store_url: str | None, _extra: str | None) -> Callable[[], Any]:
        if store_url is None:
            raise SystemExit("the capture operations need --store")
        log = Path(tempfile.gettempdir()) / f"knelpunt-capture-{os.getpid()}.log"
        return capture_load(store_url, clients=clients, batch=batch, events=int(events), log=log)

    return prepare


# The operation's INPUT argument is the number of events to send.
CAPTURE_OPERATIONS = {
    f"capture-c{clients}-b{batch}": _operation(clients, batch)
    for clients in (1, 8, 32)
    for batch in (1, 50)
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="SQLite file or postgresql:// URL")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--events", type=int, default=4_000)
    args = parser.parse_args(argv)
    log = Path(tempfile.gettempdir()) / "knelpunt-capture-load.log"
    run = capture_load(
        args.store, clients=args.clients, batch=args.batch, events=args.events, log=log
    )
    outcome = run()
    check = outcome["after"]()["check"]
    check["events_per_s"] = check["acknowledged"] / check["load_seconds"]
    print(json.dumps(check, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
