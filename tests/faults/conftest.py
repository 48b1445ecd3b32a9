"""Fixtures of the fault tests: PostgreSQL clusters of their own (to restart, or to
fill), small tmpfs mounts, and the real log the ingests record."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

import knelpunt as kp
from tests.conftest import _as_postgres, _free_port, _pg_bin, shared_log
from tests.faults.checks import Recorded, recorded


def cannot(reason: str) -> None:
    """Skip a test whose fault cannot be injected here, with the reason; in CI
    (``CI=true``, where .ci/run runs as root) fail instead, so a fault test never
    passes there unseen."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the fault tests must run in CI)")
    pytest.skip(reason)


@pytest.fixture
def bpic15(tmp_path: Path) -> Path:
    """BPIC 2015 municipality 1 (52,217 events of building-permit cases, seven pieces
    of traces), copied next to the test so its reads cost the same every time."""
    copy = tmp_path / "BPIC15_1.xes.gz"
    shutil.copyfile(shared_log("BPIC15_1.xes.gz"), copy)
    return copy


class Cluster:
    """A PostgreSQL cluster of its own on 127.0.0.1 with PostgreSQL's default
    durability (fsync and synchronous commit on, unlike the suite's shared server),
    so a test may stop, crash and restart it.

    Args:
        root: a folder for the socket, the server log and (by default) the data.
        data: the data directory, e.g. on a small tmpfs.
        wal: the WAL directory, when not inside the data directory (initdb --waldir).
        wal_segment_mb: WAL segment size (initdb's default is 16 MB).
    """

    def __init__(
        self,
        root: Path,
        *,
        data: Path | None = None,
        wal: Path | None = None,
        wal_segment_mb: int = 16,
    ) -> None:
        bin_dir = _pg_bin()
        if bin_dir is None:
            pytest.fail("PostgreSQL server binaries not found; run 'bash scripts/setup-system.sh'.")
        self.bin = bin_dir
        self.root = root
        self.data = data if data is not None else root / "data"
        self.wal = wal
        self.log = root / "server.log"
        self.port = _free_port()
        for folder in {root, self.data.parent} | ({wal.parent} if wal else set()):
            if os.geteuid() == 0:
                shutil.chown(folder, "postgres", "postgres")
        self._run(
            *(["initdb", f"--waldir={wal}"] if wal else ["initdb"]),
            "-D",
            str(self.data),
            "-U",
            "knelpunt",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            f"--wal-segsize={wal_segment_mb}",
        )

    def _run(
        self, program: str, *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _as_postgres([str(self.bin / program), *args]),
            check=check,
            capture_output=True,
            text=True,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://knelpunt@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
        return self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", *args,
            check=check,
        )  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop")

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart -m MODE``: ``fast`` ends the sessions and checkpoints;
        ``immediate`` kills the server, which recovers from its WAL on the start."""
        self._ctl("-m", mode, "restart")

    def running(self) -> bool:
        return self._ctl("status", check=False).returncode == 0

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def remove(self) -> None:
        if self.running():
            self._ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(self.data, ignore_errors=True)
        if self.wal is not None:
            shutil.rmtree(self.wal.parent, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Callable[..., Cluster]]:
    """Make started clusters of their own; each is stopped and removed afterwards."""
    made: list[tuple[Cluster, Path]] = []

    def make(
        *, data: Path | None = None, wal: Path | None = None, wal_segment_mb: int = 16
    ) -> Cluster:
        root = Path(tempfile.mkdtemp(prefix="knelpunt-faults-pg-"))
        server = Cluster(root, data=data, wal=wal, wal_segment_mb=wal_segment_mb)
        made.append((server, root))
        server.start()
        return server

    yield make
    for server, root in made:
        server.remove()
        shutil.rmtree(root, ignore_errors=True)


def grow_tmpfs(point: Path, size: str) -> None:
    """Give a mounted tmpfs more room (``mount -o remount,size=...``): space freed."""
    subprocess.run(["mount", "-o", f"remount,size={size}", str(point)], check=True)


@pytest.fixture(scope="session")
def bpic15_clean(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """BPIC 2015 municipality 1 recorded once, undisturbed, in a new SQLite store: its
    events' count and checksum (the PostgreSQL runs are held to them too)."""
    folder = tmp_path_factory.mktemp("clean")
    with kp.open_store(folder / "clean.db") as store:
        result = kp.ingest_log(store, shared_log("BPIC15_1.xes.gz"))
        return recorded(store, result.source.source_id)


@pytest.fixture
def tmpfs() -> Iterator[Callable[[str], Path]]:
    """Mount small tmpfs file systems (``tmpfs("16m")``); unmounted afterwards. Needs
    root; skips with the reason where mounting is not possible (fails in CI)."""
    mounted: list[Path] = []

    def mount(size: str) -> Path:
        if os.geteuid() != 0:
            cannot("mounting a small tmpfs to fill needs root (the CI runs as root)")
        point = Path(tempfile.mkdtemp(prefix="knelpunt-full-"))
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            point.rmdir()
            cannot(f"'mount -t tmpfs' failed here: {done.stderr.strip() or done.returncode}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        for _ in range(50):
            if subprocess.run(["umount", str(point)], capture_output=True).returncode == 0:
                break
            time.sleep(0.1)  # a child that held a file there is still exiting
        else:
            subprocess.run(["umount", "-l", str(point)], capture_output=True)
        with contextlib.suppress(OSError):
            point.rmdir()
