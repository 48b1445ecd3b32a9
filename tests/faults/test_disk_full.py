"""A full disk under the store, for real: the store on a small tmpfs (SQLite), or the
data directory of a PostgreSQL cluster of its own on one. Recording a real log that
does not fit fails with StoreFullError saying so, where, and what to do; the store
stays intact and readable with nothing of the failed log in it; once space is freed
the same file records whole."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import knelpunt as kp
from knelpunt.errors import StoreFullError
from knelpunt.ingest.files import scan_file
from tests.conftest import REPO, shared_log
from tests.faults.checks import Recorded, assert_consistent, recorded
from tests.faults.conftest import Cluster, grow_tmpfs


def _after_the_failure(url: str, path: Path, earlier: int, before: Recorded) -> None:
    """Nothing of ``path`` in the store; the earlier source as it was; all sound."""
    assert_consistent(url)
    with kp.open_store(url) as store:
        assert [s.source_id for s in store.sources()] == [earlier]
        assert store.find_source(content_hash=scan_file(path).sha256) is None
        assert recorded(store, earlier) == before


def _recorded_again(url: str, path: Path, clean: Recorded) -> None:
    with kp.open_store(url) as store:
        again = kp.ingest_log(store, path)
        assert again.added == clean.events
        assert recorded(store, again.source.source_id) == clean
    assert_consistent(url)


@pytest.mark.real_logs
def test_sqlite_store_on_a_full_disk(
    tmpfs: Callable[[str], Path],
    bpic15: Path,
    bpic15_clean: Recorded,
    record_property: Callable[[str, object], None],
) -> None:
    """A 16 MB file system holds the receipt log (4.5 MB) but not BPIC 2015 (41 MB):
    the library and the command both say the disk is full, where, and what to do."""
    disk = tmpfs("16m")
    url = str(disk / "knelpunt.db")
    with kp.open_store(url) as store:
        earlier = kp.ingest_log(store, shared_log("receipt.xes.gz")).source.source_id
        before = recorded(store, earlier)
        with pytest.raises(StoreFullError) as info:
            kp.ingest_log(store, bpic15)
    message = str(info.value)
    assert "disk is full" in message
    assert url in message  # where: the store's file ...
    assert f"mounted at {disk}" in message  # ... and the file system it is on
    assert "Nothing of this write was recorded" in message
    assert "Free space there" in message  # what to do
    assert isinstance(info.value, OSError)
    _after_the_failure(url, bpic15, earlier, before)

    # The command says the same and exits with the store-error code.
    done = subprocess.run(
        [sys.executable, "-m", "knelpunt.cli", "ingest", str(bpic15), "--store", url],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert done.returncode == 4, done.stderr
    assert "disk is full" in done.stderr
    assert url in " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr
    _after_the_failure(url, bpic15, earlier, before)

    grow_tmpfs(disk, "96m")  # space freed
    _recorded_again(url, bpic15, bpic15_clean)
    record_property("fault", "disk-full-sqlite")
    record_property("left", "StoreFullError; store intact; recorded after space freed")


def _until_connected(url: str, server: Cluster, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            kp.open_store(url).close()
            return
        except kp.errors.StoreConnectionError:
            assert time.monotonic() < deadline, server.server_log()[-3000:]
            time.sleep(0.25)


@pytest.mark.postgres
@pytest.mark.real_logs
@pytest.mark.parametrize("wal", ["with-data", "own-disk"])
def test_postgres_data_directory_on_a_full_disk(
    wal: str,
    tmpfs: Callable[[str], Path],
    cluster: Callable[..., Cluster],
    bpic15: Path,
    bpic15_clean: Recorded,
    record_property: Callable[[str, object], None],
) -> None:
    """A cluster whose data directory is on a 64 MB tmpfs. With the WAL on the same
    disk PostgreSQL itself stops when it cannot write its WAL (a PANIC, then recovery
    needs room); with the WAL on a disk of its own the server refuses the write and
    stays up. Either way the recording fails with StoreFullError, nothing of it is
    stored, and once space is freed (and the server started) the store is whole and
    the file records."""
    disk = tmpfs("64m")
    server = cluster(
        data=disk / "data",
        # A folder of its own on the machine's disk (the postgres user cannot enter
        # pytest's tmp_path).
        wal=Path(tempfile.mkdtemp(prefix="knelpunt-wal-")) / "wal" if wal == "own-disk" else None,
        wal_segment_mb=1,
    )
    url = server.create_database("full")
    with kp.open_store(url) as store:
        earlier = kp.ingest_log(store, shared_log("receipt.xes.gz")).source.source_id
        before = recorded(store, earlier)
        with pytest.raises(StoreFullError) as info:
            kp.ingest_log(store, bpic15)
    message = str(info.value)
    assert "disk is full" in message
    assert url in message
    assert "No space left on device" in message  # the server's own words: which file
    assert "Nothing of this write was recorded" in message
    assert "Free space on the disk of the server's data directory" in message
    if wal == "own-disk":
        assert server.running()  # the server refused the write and stays up
        _after_the_failure(url, bpic15, earlier, before)  # readable on the full disk
    grow_tmpfs(disk, "256m")  # space freed
    if not server.running():
        server.start()  # recovery from the WAL, now that it has room
    _until_connected(url, server)
    _after_the_failure(url, bpic15, earlier, before)
    _recorded_again(url, bpic15, bpic15_clean)
    record_property("fault", f"disk-full-postgres-wal-{wal}")
    record_property("server_stopped_itself", "PANIC" in server.server_log())


@pytest.mark.parametrize(
    ("ci", "outcome"), [(None, pytest.skip.Exception), ("true", pytest.fail.Exception)]
)
def test_without_root_the_test_says_why(
    ci: str | None,
    outcome: type[BaseException],
    tmpfs: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where mounting is not possible the fault tests skip with the reason, except in
    CI, where they must run, so there they fail instead."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="needs root"):
        tmpfs("1m")
