"""SIGKILL of the ingesting process, at chosen stages and at seeded random moments,
on SQLite and on PostgreSQL: the store stays consistent, the killed source is absent
(or, killed after its commit, complete), and recording the file again gives the
events of one clean run, once."""

from __future__ import annotations

import random
import select
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

import knelpunt as kp
from knelpunt.testing import make_log
from tests.conftest import REPO, shared_log
from tests.faults.checks import Recorded, assert_consistent, recorded

# Seeds of the random kill moments; each gives one kill per backend.
RANDOM_SEEDS = (1, 2, 3, 4)
STAGES = ("read", "append-first", "append-middle", "finish")


def _url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return str(tmp_path / "store.db")
    return str(request.getfixturevalue("postgres_url"))


_CHILD_SECONDS: dict[str, float] = {}


def _child_seconds(backend: str, path: Path, request: pytest.FixtureRequest) -> float:
    """How long the child takes to record ``path`` undisturbed on ``backend``, from its
    "ready" to its "done" (measured once per backend, in a store of its own)."""
    if backend not in _CHILD_SECONDS:
        folder = request.getfixturevalue("tmp_path_factory").mktemp("timing")
        if backend == "sqlite":
            url = str(folder / "timing.db")
        else:
            server = request.getfixturevalue("postgres_server")
            name = f"timing_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            url = f"{server}/{name}"
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.ingest_child", url, str(path), "random"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert _read_line(child) == "ready"
        started = time.perf_counter()
        assert _read_line(child).startswith("done")
        _CHILD_SECONDS[backend] = time.perf_counter() - started
        child.kill()
        child.wait(timeout=30)
        assert child.stdout is not None
        child.stdout.close()
    return _CHILD_SECONDS[backend]


def _read_line(child: subprocess.Popen[str], timeout: float = 120.0) -> str:
    assert child.stdout is not None
    ready, _, _ = select.select([child.stdout], [], [], timeout)
    assert ready, "the ingesting process said nothing in time"
    return child.stdout.readline().strip()


def _kill_and_check(
    url: str,
    path: Path,
    stage: str,
    clean: Recorded,
    *,
    delay: Callable[[], float] | None = None,
) -> str:
    """Record a real log first, start the ingest of ``path`` in a child, SIGKILL it at
    ``stage`` (or ``delay()`` seconds after it starts recording), then check the store
    and record the file again. Returns what the kill left: "absent" or "committed"."""
    with kp.open_store(url) as store:
        earlier = kp.ingest_log(store, shared_log("receipt.xes.gz"))
        before = recorded(store, earlier.source.source_id)
        last_before = store.last_position()
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.ingest_child", url, str(path), stage],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        said = _read_line(child)
        if delay is None:
            assert said == f"at {stage}", said
        else:
            assert said == "ready", said
            time.sleep(delay())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert child.stdout is not None
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL  # killed, not finished on its own

    assert_consistent(url)
    with kp.open_store(url) as store:
        sources = store.sources()
        # The killed run's source, if it was committed (found by being new: its content
        # hash also holds the privacy choices and key, not the file's bytes alone).
        killed = next((s for s in sources if s.source_id != earlier.source.source_id), None)
        assert sources[0].source_id == earlier.source.source_id
        assert recorded(store, earlier.source.source_id) == before  # the earlier source intact
        if killed is None:
            outcome = "absent"
            assert len(sources) == 1
            assert store.read_events(after=last_before).empty  # no event of the killed run
        else:
            # Killed after its commit: then it is whole, with its report.
            assert delay is not None, f"killed at {stage}, yet the source was committed"
            outcome = "committed"
            assert killed.report["events"] == clean.events
            assert recorded(store, killed.source_id) == clean

        again = kp.ingest_log(store, path)
        if outcome == "absent":
            assert not again.already_recorded
            assert again.added == clean.events
        else:
            assert again.already_recorded
            assert again.added == 0
        assert recorded(store, again.source.source_id) == clean  # the same events, once
        third = kp.ingest_log(store, path)
        assert third.already_recorded  # the content hash holds
        assert third.added == 0
        assert len(store.sources()) == 2
        assert len(store.read_events()) == before.events + clean.events  # nothing doubled
    assert_consistent(url)
    return outcome


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.real_logs
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("stage", STAGES)
def test_kill_at_a_stage(
    backend: str,
    stage: str,
    bpic15: Path,
    bpic15_clean: Recorded,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
) -> None:
    """Killed while reading, half-way through a batch (the first, the fourth) or with
    its report written but not committed: nothing of the killed run is in the store."""
    outcome = _kill_and_check(_url(backend, tmp_path, request), bpic15, stage, bpic15_clean)
    assert outcome == "absent"
    record_property("fault", f"sigkill-{stage}")
    record_property("left", outcome)


@pytest.mark.real_logs
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_kill_at_a_random_moment(
    backend: str,
    seed: int,
    bpic15: Path,
    bpic15_clean: Recorded,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
) -> None:
    """Killed at a seeded random moment between the start of the recording and a
    little after an undisturbed run of the same process would have ended: the store
    holds the whole source or none of it, and a re-run completes it once."""
    seconds = _child_seconds(backend, bpic15, request)
    moment = random.Random(seed).uniform(0.0, 1.2 * seconds)
    clean = bpic15_clean
    outcome = _kill_and_check(
        _url(backend, tmp_path, request), bpic15, "random", clean, delay=lambda: moment
    )
    record_property("fault", "sigkill-random")
    record_property("moment_s", round(moment, 3))
    record_property("undisturbed_s", round(seconds, 3))
    record_property("left", outcome)


_DEMO_CLEAN: dict[str, Recorded] = {}


def _demo_clean() -> Recorded:
    """The demo scenario's run as an undisturbed process records it (once per session)."""
    if "demo" not in _DEMO_CLEAN:
        with kp.open_store(":memory:") as store:
            run = kp.simulate_scenario(store, "demo")
            assert run.source is not None
            _DEMO_CLEAN["demo"] = recorded(store, run.source.source_id)
    return _DEMO_CLEAN["demo"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("stage", ["simulate", "simulate-finish"])
def test_killed_simulation_run_is_left_out_of_analyses(
    backend: str,
    stage: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
) -> None:
    """A simulation run killed half-way through writing its events, or with its report
    written but not committed, leaves nothing an analysis could read; run again, it is
    recorded whole and once, and a third run adds nothing."""
    url = _url(backend, tmp_path, request)
    with kp.open_store(url) as store:
        earlier = kp.ingest_log(store, make_log(cases=5, seed=4), name="earlier")
        before = recorded(store, earlier.source.source_id)
        last_before = store.last_position()
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.ingest_child", url, "demo", stage],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert _read_line(child) == f"at {stage}"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert child.stdout is not None
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    assert_consistent(url)
    with kp.open_store(url) as store:
        assert [s.source_id for s in store.sources()] == [earlier.source.source_id]
        assert store.read_events(after=last_before).empty  # no event of the killed run
        assert len(kp.load_events(store)) == before.events  # analyses see the earlier only
        assert recorded(store, earlier.source.source_id) == before

        again = kp.simulate_scenario(store, "demo")
        assert again.source is not None
        assert again.added == len(again.events) == _demo_clean().events
        assert recorded(store, again.source.source_id) == _demo_clean()
        third = kp.simulate_scenario(store, "demo")
        assert third.source == again.source
        assert third.added == 0
        assert len(store.sources()) == 2
        assert len(store.read_events()) == before.events + _demo_clean().events
    assert_consistent(url)
    record_property("fault", f"sigkill-{stage}")
    record_property("left", "absent")
