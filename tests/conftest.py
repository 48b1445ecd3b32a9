"""Fixtures shared by the whole suite: stores on both backends, paths to data."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_LOGS = REPO.parent / "shared" / "event_logs"
SAMPLES = REPO / "event_logs"
DATA = Path(__file__).parent / "data"


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; Debian's package brings the
    # 'postgres' system user to run them as.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1; yields its base URL."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        pytest.fail(
            "PostgreSQL server binaries not found; run 'bash scripts/setup-system.sh' "
            "(make test does this for you)."
        )
    root = Path(tempfile.mkdtemp(prefix="knelpunt-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "knelpunt",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {root} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        _as_postgres(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "server.log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://knelpunt@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the test cluster; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{postgres_server}/{name}"
    finally:
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as admin,
        ):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty store, once per backend."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return str(request.getfixturevalue("postgres_url"))


REAL_XES_LOGS = [
    "running-example.xes",
    "receipt.xes.gz",
    "BPIC15_1.xes.gz",
    "BPIC15_2.xes.gz",
    "CCC19.xes.gz",
    "Sepsis_Cases-Event_Log.xes.gz",
    "helpdesk.xes.gz",
    "interval_event_log.xes.gz",
    "bpi_challenge_2012.xes.gz",
    "Road_Traffic_Fine_Management_Process.xes.gz",
]
"""Every XES log in ../shared/event_logs, smallest first."""


def shared_log(name: str) -> Path:
    """A real public log from ../shared/event_logs, or a clear skip when it is absent."""
    path = SHARED_LOGS / name
    if not path.exists():
        pytest.skip(
            f"{name} not found: the real public logs live in {SHARED_LOGS}, next to the "
            "repository, and this checkout has none"
        )
    return path
