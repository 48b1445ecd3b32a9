"""Faults and load (issue 9): the capture API and the dashboard under concurrent
clients on loopback, and the table of the faults the tests in tests/faults inject.

Run from the repository root (prints Markdown; ``--write`` also replaces the "Faults
and load" section of benchmarks/RESULTS.md)::

    .venv/bin/python -m benchmarks.load                       # 50 clients, 60 s per part
    .venv/bin/python -m benchmarks.load --duration 300 --write  # the recorded run
    .venv/bin/python -m benchmarks.load --only capture-sqlite --clients 8 --duration 20
    .venv/bin/python -m benchmarks.load --faults --only none --write  # the fault tests alone
    .venv/bin/python -m benchmarks.load --render --write       # the report again, from JSON

*Parts*. ``capture-sqlite`` and ``capture-postgres``: ``knelpunt capture serve`` (its
defaults: waitress, 8 threads) as a child process on a new store (SQLite: WAL,
``synchronous=FULL``; PostgreSQL: a server of its own with default durability). A
session is opened; then ``--clients`` threads each post one event per request with
:class:`~knelpunt.simulate.capture_client.CaptureClient`, each waiting for the
committed answer before the next (no pause between requests), until ``--duration``
seconds have passed or ``--requests`` requests were answered, whichever comes first.
A request that fails is resent by the client with the same idempotency key (counted
as *resent*); a request the client gives up on is an *error*. Afterwards the server is
stopped and the store read directly: *lost* counts acknowledged keys that are not
stored, *duplicated* keys stored twice.

``dashboard``: ``knelpunt-dashboard`` (waitress, 8 threads; ``--no-warm``) on the demo
year (the simulator's ``demo`` scenario, 60,136 events, recorded once into
``benchmarks/data/load-demo.db``). The requests a browser sends to load each of the
eleven pages are recorded once with Chromium (Playwright): the page itself,
``/_dash-layout``, ``/_dash-dependencies`` and every ``/_dash-update-component`` POST
with its body, in the order sent (scripts and styles come from the browser's cache
for a returning visitor and are left out). Each page is replayed once before the clock,
so its results are computed (a server that has been running), then ``--clients``
threads replay page loads, page after page, each request waiting for the previous
one. A request answered other than 200 or 204 is an error.

*Logging in*: :func:`login` returns the headers a client sends with every request: in
the local mode (no log-in) its session cookie and CSRF header; with log-in it is the
one place to change.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from benchmarks.capture_load import _Server as CaptureServer
from benchmarks.capture_load import _stored_keys
from benchmarks.sections import write_section

REPO: Final = Path(__file__).resolve().parent.parent
DATA: Final = REPO / "benchmarks" / "data"
RESULTS_JSON: Final = DATA / "faults_load.json"
SECTION: Final = "## Faults and load"
PARTS: Final = ("capture-sqlite", "capture-postgres", "dashboard")
PAGES: Final = (
    "/",
    "/proceskaart",
    "/knelpunten",
    "/beleidsdoelen",
    "/team",
    "/individueel",
    "/zaken",
    "/vergelijken",
    "/simulatie",
    "/vastleggen",
    "/uploaden",
)
WHEN: Final = "2025-03-04T09:15:00+01:00"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def login(base_url: str) -> dict[str, str]:
    """The headers every client sends: the session cookie and the CSRF header.

    Each client calls it once, before its first request (and the recording and the
    warm-up once more). The local mode has no log-in, but every POST to the dashboard
    carries the CSRF token (Flask-WTF's, issue 9): the first page sets the session
    and the ``_csrf_token`` cookie, whose value goes back as ``X-CSRFToken``, as
    Dash's renderer sends it.
    """
    import urllib.error
    import urllib.request

    from dashboards.security import CSRF_COOKIE

    try:
        with urllib.request.urlopen(base_url + "/", timeout=60) as answer:
            cookies = [c.split(";", 1)[0] for c in answer.headers.get_all("Set-Cookie") or []]
    except urllib.error.HTTPError as error:
        if error.code != 404:
            raise
        return {}  # `knelpunt capture serve` has no pages: its clients send their token
    headers = {"Cookie": "; ".join(cookies)} if cookies else {}
    token = next((c.split("=", 1)[1] for c in cookies if c.startswith(f"{CSRF_COOKIE}=")), None)
    if token:
        headers["X-CSRFToken"] = token
    return headers


# -- measuring helpers --------------------------------------------------------------------


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ms(values: list[float]) -> dict[str, float | None]:
    def scaled(q: float) -> float | None:
        found = _quantile(values, q)
        return None if found is None else 1000 * found

    return {"p50_ms": scaled(0.50), "p99_ms": scaled(0.99), "max_ms": scaled(1.0)}


@dataclass
class LoadWatch:
    """The machine's load average, read every 5 s while a part runs."""

    samples: list[tuple[float, float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> LoadWatch:
        self.samples.append(os.getloadavg())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(5.0):
            self.samples.append(os.getloadavg())

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.samples.append(os.getloadavg())

    def summary(self) -> dict[str, Any]:
        return {
            "start": list(self.samples[0]),
            "end": list(self.samples[-1]),
            "max_1min": max(s[0] for s in self.samples),
        }


def _run_clients(
    client: Callable[[int], None], clients: int
) -> tuple[float, float, dict[str, Any]]:
    """Run ``client(0)`` ... ``client(clients - 1)`` in threads of their own, all at once,
    and wait for them. Returns the wall-clock seconds, this process's CPU seconds (the
    clients' share of the work) and the machine's load while they ran."""
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    with LoadWatch() as watch:
        started, cpu = time.perf_counter(), time.process_time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return seconds, cpu, watch.summary()


# -- the capture API ----------------------------------------------------------------------


def capture_part(store_url: str, *, clients: int, duration: float, requests: int) -> dict[str, Any]:
    """``clients`` CaptureClients posting single events until time or count runs out."""
    from urllib3.util import Retry

    from knelpunt.errors import CaptureError
    from knelpunt.simulate.capture_client import CaptureClient

    log = Path(tempfile.gettempdir()) / f"knelpunt-load-capture-{os.getpid()}.log"
    server = CaptureServer(store_url, log)
    try:
        base = f"http://127.0.0.1:{server.port}"
        headers = login(base)
        opener = CaptureClient.open_session(base, "load test", headers=headers)
        # Resend for up to about a minute, as DEFAULT_RETRY; no Retry-After wait of a
        # whole second so a busy store is retried as soon as backoff allows.
        retry = Retry(
            total=20,
            backoff_factor=0.05,
            backoff_max=2.0,
            status_forcelist=(502, 503, 504),
            allowed_methods=None,
            respect_retry_after_header=False,
            raise_on_status=False,
            redirect=0,
        )
        acknowledged: list[list[str]] = [[] for _ in range(clients)]
        latencies: list[list[float]] = [[] for _ in range(clients)]
        resent = [0] * clients
        errors = [0] * clients
        budget = threading.Semaphore(requests)
        deadline = time.monotonic() + duration

        def client(number: int) -> None:
            with CaptureClient(
                base, opener.session_id, opener.token, retry=retry, headers=login(base)
            ) as mine:
                sent = 0
                while time.monotonic() < deadline and budget.acquire(blocking=False):
                    key = f"{number}-{sent}"
                    event = {
                        "case_id": f"C{number}-{sent // 20}",
                        "activity": f"Stap {sent % 7}",
                        "timestamp": WHEN,
                        "resource": f"medewerker {number % 16}",
                        "idempotency_key": key,
                    }
                    sent += 1
                    started = time.perf_counter()
                    try:
                        receipt = mine.send([event])
                    except CaptureError:
                        errors[number] += 1
                        continue
                    latencies[number].append(time.perf_counter() - started)
                    acknowledged[number].extend(receipt.keys)
                    resent[number] += receipt.attempts - 1

        seconds, cpu, machine = _run_clients(client, clients)
    finally:
        server.stop()
    keys = {key for part in acknowledged for key in part}
    stored = _stored_keys(store_url, opener.session_id)
    times = [t for part in latencies for t in part]
    return {
        "clients": clients,
        "seconds": seconds,
        "requests": len(times),
        "requests_per_s": len(times) / seconds,
        **_ms(times),
        "errors": sum(errors),
        "resent": sum(resent),
        "acknowledged": len(keys),
        "stored": len(stored),
        "lost": len(keys - set(stored)),
        "duplicated": len(stored) - len(set(stored)),
        "client_cpu_share": cpu / seconds,
        "load": machine,
    }


# -- the dashboard ------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """One request of a page load, as the browser sent it."""

    method: str
    path: str
    body: bytes | None
    content_type: str | None

    @property
    def kind(self) -> str:
        if self.path.startswith("/_dash-update-component"):
            return "callback"
        if self.path.startswith("/_dash-"):
            return "layout"
        return "page"


def demo_store() -> Path:
    """The demo year in a SQLite store, recorded once and kept in benchmarks/data."""
    import knelpunt as kp

    path = DATA / "load-demo.db"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.db")
        with kp.open_store(partial) as store:
            _say("recording the demo year (once) ...")
            kp.simulate_scenario(store, "demo")
        partial.rename(path)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def dashboard_server(store: Path) -> Iterator[str]:
    """``knelpunt-dashboard`` on ``store`` as a child process; yields its base URL."""
    port = _free_port()
    log = Path(tempfile.gettempdir()) / f"knelpunt-load-dashboard-{os.getpid()}.log"
    with log.open("wb") as sink:
        child = subprocess.Popen(
            [
                *(sys.executable, "-m", "dashboards", "--store", str(store)),
                *("--port", str(port), "--no-warm"),
            ],
            cwd=REPO,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError, http.client.HTTPException):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/_dash-layout")
                if connection.getresponse().status == 200:
                    connection.close()
                    break
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard did not start:\n{log.read_text()}")
            time.sleep(0.25)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=30)


def record_page_loads(base: str) -> dict[str, list[Recorded]]:
    """The requests Chromium sends to load each page (scripts and styles left out), in a
    session of its own (the replaying clients send theirs, see :func:`login`)."""
    from playwright.sync_api import sync_playwright

    from dashboards.browser import CHROMIUM, CHROMIUM_ARGS

    loads: dict[str, list[Recorded]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS)
        )
        try:
            for path in PAGES:
                context = browser.new_context()
                page = context.new_page()
                seen: list[Recorded] = []
                last = [time.monotonic()]

                def keep(
                    request: Any, seen: list[Recorded] = seen, last: list[float] = last
                ) -> None:
                    if not request.url.startswith(base):
                        return
                    last[0] = time.monotonic()
                    where = urlsplit(request.url)
                    dash = where.path.startswith("/_dash-") and not where.path.startswith(
                        "/_dash-component-suites"
                    )
                    if not (dash or request.resource_type == "document"):
                        return  # scripts, styles, fonts: a returning browser has them
                    seen.append(
                        Recorded(
                            request.method,
                            where.path + (f"?{where.query}" if where.query else ""),
                            request.post_data_buffer,
                            request.headers.get("content-type"),
                        )
                    )

                page.on("request", keep)
                page.goto(base + path, wait_until="load", timeout=180_000)
                # Loaded when no request has gone out for 1.5 s (at most 15 s; the capture
                # page polls every 2 s, which is then recorded with its first poll).
                settle = time.monotonic() + 15
                while time.monotonic() - last[0] < 1.5 and time.monotonic() < settle:
                    page.wait_for_timeout(250)
                loads[path] = list(seen)
                context.close()
                _say(
                    f"recorded {path}: {len(seen)} requests, "
                    f"{sum(r.kind == 'callback' for r in seen)} callbacks"
                )
        finally:
            browser.close()
    return loads


# What a page callback answers when its library call failed (components.failure): a
# readable message with role "alert", sent with status 200.
_FAILURE: Final = re.compile(rb'"role":\s*"alert"')


def _replay(
    connection: http.client.HTTPConnection, request: Recorded, headers: Mapping[str, str]
) -> tuple[int, int]:
    """Send one recorded request; its status (0 for a failure message) and answer size."""
    sent = dict(headers)
    if request.content_type:
        sent["Content-Type"] = request.content_type
    connection.request(request.method, request.path, body=request.body, headers=sent)
    answer = connection.getresponse()
    body = answer.read()
    if request.kind == "callback" and _FAILURE.search(body):
        return 0, len(body)
    return answer.status, len(body)


def dashboard_part(*, clients: int, duration: float, requests: int) -> dict[str, Any]:
    """``clients`` threads replaying recorded page loads until time or count runs out."""
    import knelpunt as kp

    store = demo_store()
    with kp.open_store(store) as opened:
        events = sum(source.event_count for source in opened.sources())
    with dashboard_server(store) as base:
        headers = login(base)
        loads = record_page_loads(base)
        port = urlsplit(base).port
        assert port is not None
        # Before the clock: each page once, so the pages' results are computed.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        for path, load in loads.items():
            for request in load:
                status, _ = _replay(connection, request, headers)
                if status not in (200, 204):
                    raise RuntimeError(f"{path}: {request.path} answered {status or 'a failure'}")
        connection.close()
        by_kind: dict[str, list[list[float]]] = {
            kind: [[] for _ in range(clients)] for kind in ("page", "layout", "callback")
        }
        page_loads: list[list[float]] = [[] for _ in range(clients)]
        errors = [0] * clients
        received = [0] * clients
        budget = threading.Semaphore(requests)
        deadline = time.monotonic() + duration
        order = list(loads)

        def client(number: int) -> None:
            signed_in = login(base)  # each client its own session
            mine = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            visit = number
            while time.monotonic() < deadline:
                load = loads[order[visit % len(order)]]
                visit += 1
                began = time.perf_counter()
                whole = True
                for request in load:
                    if not budget.acquire(blocking=False) or time.monotonic() >= deadline:
                        mine.close()
                        return
                    started = time.perf_counter()
                    try:
                        status, size = _replay(mine, request, signed_in)
                        received[number] += size
                    except (OSError, http.client.HTTPException):
                        status = 0
                        mine.close()
                        mine = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    if status in (200, 204):
                        by_kind[request.kind][number].append(time.perf_counter() - started)
                    else:
                        errors[number] += 1
                        whole = False
                if whole:
                    page_loads[number].append(time.perf_counter() - began)
            mine.close()

        seconds, cpu, machine = _run_clients(client, clients)
    flat = {kind: [t for part in parts for t in part] for kind, parts in by_kind.items()}
    served = sum(len(v) for v in flat.values())
    loads_done = [t for part in page_loads for t in part]
    return {
        "clients": clients,
        "seconds": seconds,
        "events_in_store": events,
        "pages": {path: len(load) for path, load in loads.items()},
        "callbacks_per_visit": {
            path: sum(r.kind == "callback" for r in load) for path, load in loads.items()
        },
        "requests": served,
        "requests_per_s": served / seconds,
        **_ms([t for values in flat.values() for t in values]),
        "callbacks": {"count": len(flat["callback"]), **_ms(flat["callback"])},
        "page_loads": {"count": len(loads_done), **_ms(loads_done)},
        "errors": sum(errors),
        "answered_mb": sum(received) / 1e6,
        "client_cpu_share": cpu / seconds,
        "load": machine,
    }


# -- the fault tests ----------------------------------------------------------------------


def run_faults() -> dict[str, Any]:
    """Run tests/faults (``pytest``) and read what each test injected from its JUnit XML."""
    report = Path(tempfile.gettempdir()) / f"knelpunt-faults-{os.getpid()}.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/faults",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
        "-o",
        "junit_family=legacy",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    tests = []
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                outcome = {"failure": "failed", "error": "failed", "skipped": "skipped"}[tag]
                if tag == "skipped" and found.get("type") == "pytest.xfail":
                    outcome = "xfailed"
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        tests.append(
            {
                "name": case.get("name"),
                "outcome": outcome,
                "seconds": float(case.get("time") or 0),
                "properties": properties,
            }
        )
    report.unlink(missing_ok=True)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    return {
        "command": " ".join(["python", *command[1:5]]),
        "seconds": seconds,
        "summary": summary,
        "tests": tests,
    }


# -- the report ---------------------------------------------------------------------------


def _machine() -> dict[str, str]:
    from benchmarks.run import _cpu_model, _git, _memory_gib

    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "nproc": str(os.cpu_count()),
        "memory": _memory_gib(),
        "python": platform.python_version(),
        "git": _git("rev-parse", "--short", "HEAD") or "unknown",
    }


def _n(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _cpu(found: dict[str, Any]) -> str:
    share = found.get("client_cpu_share")
    return "–" if share is None else f"{100 * share:.0f}%"


def _fault_rows(faults: dict[str, Any]) -> list[str]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for test in faults["tests"]:
        name = str(test["name"])
        backend = "PostgreSQL" if "postgres" in name else "SQLite"
        if name.startswith("test_kill_at_a_stage"):
            fault = "SIGKILL of the ingest at a chosen stage"
        elif name.startswith("test_kill_at_a_random_moment"):
            fault = "SIGKILL of the ingest at a seeded random moment"
        elif name.startswith("test_capture_survives"):
            fault, backend = "PostgreSQL restarted during a live capture (8 clients)", "PostgreSQL"
        elif name.startswith(("test_store_connects_again", "test_a_connection_lost")):
            fault = "PostgreSQL restarted, stopped, or the session ended, under an open store"
            backend = "PostgreSQL"
        elif "full_disk" in name:
            fault = "Disk full while recording"
        elif "simulation" in name:
            fault = "SIGKILL of a simulation run half-way"
        else:
            continue  # not a fault (the skip-or-fail rule of the tests themselves)
        groups.setdefault((fault, backend), []).append(test)
    rows = []
    for (fault, backend), tests in groups.items():
        passed = sum(t["outcome"] == "passed" for t in tests)
        left = [t["properties"].get("left") for t in tests]
        notes = []
        if "random" in fault:
            moments = ", ".join(
                f"{float(t['properties']['moment_s']):.2f}"
                for t in tests
                if "moment_s" in t["properties"]
            )
            took = ", ".join(
                sorted({f"{float(t['properties']['undisturbed_s']):.1f}" for t in tests})
            )
            notes.append(
                f"killed at {moments} s after the recording began (an undisturbed run took "
                f"{took} s); the source was absent {left.count('absent')}×, whole "
                f"(killed after its commit) {left.count('committed')}×"
            )
        elif "chosen stage" in fault:
            notes.append(
                "while reading; half-way through batch 1; half-way through batch 4; report "
                "written, not committed: the source absent each time"
            )
        elif "live capture" in fault:
            notes += [
                f"3 restarts (fast, immediate, a 2 s stop); {t['properties'].get('events')} "
                f"events sent, {t['properties'].get('resends')} resends; every event stored "
                "once, the capture server never restarted"
                for t in tests
            ]
        elif "Disk full" in fault:
            notes.append(
                "StoreFullError; the store intact and readable; the file recorded whole "
                "after space was freed"
                + (
                    " (WAL on the data disk: PostgreSQL stopped itself; WAL on its own "
                    "disk: it stayed up)"
                    if backend == "PostgreSQL"
                    else ""
                )
            )
        elif "simulation" in fault:
            notes.append(
                "half-way through batch 3 of its events; its report written, not "
                "committed: the run absent each time (one transaction), analyses read only "
                "the earlier source; run again, recorded whole and once"
            )
        elif "open store" in fault:
            notes.append(
                "restart -m fast, restart -m immediate, stop and start, "
                "pg_terminate_backend mid-write"
            )
        shown = f"{passed}" if passed == len(tests) else f"{passed} ({len(tests) - passed} xfail)"
        rows.append(f"| {fault} | {backend} | {len(tests)} | {shown} | {'; '.join(notes)} |")
    return rows


def render(results: dict[str, Any]) -> str:
    machine = results.get("machine", {})
    lines = [
        SECTION,
        "",
        f"Measured {machine.get('date', '?')} on {machine.get('cpu', '?')} "
        f"({machine.get('nproc', '?')} cores, shared with other developers' work; "
        f"{machine.get('memory', '?')}), Python {machine.get('python', '?')}, git "
        f"{machine.get('git', '?')}; `{results.get('command', 'python -m benchmarks.load')}`.",
        "",
    ]
    faults = results.get("faults")
    if faults:
        lines += [
            "### Faults injected and survived",
            "",
            f"`{faults['command']}` ({faults['seconds']:.0f} s; pytest: {faults['summary']}). "
            "Every test checks the store afterwards: SQLite's `integrity_check` and "
            "`foreign_key_check` or amcheck on PostgreSQL (`bt_index_check` with "
            "`heapallindexed`, `verify_heapam`), the store's invariants (each uploaded "
            "source with its report and exactly the events it counts), and that recording "
            "or sending again adds the missing events once (counts and a checksum against "
            "an undisturbed run).",
            "",
            "| Fault | Store | Injected | Passed | What happened |",
            "|---|---|--:|--:|---|",
            *_fault_rows(faults),
            "",
        ]
    load = results.get("load", {})
    if load:
        lines += [
            "### Load",
            "",
            "*Capture API*: `knelpunt capture serve` (waitress, 8 threads) on a new store "
            "(SQLite: WAL, `synchronous=FULL`; PostgreSQL: a server of its own, fsync and "
            "synchronous commit on); each client posts one event per request and waits for "
            "the answer, sent after the commit, before the next (no pause between "
            "requests). *Resent*: requests the client sent again after a 503 or a lost "
            "connection; *lost*: acknowledged but not in the store; *duplicated*: stored "
            "twice (read from the store after the run).",
            "",
            "| Store | Clients | Seconds | Requests | Requests/s | p50 ms | p99 ms | Max ms "
            "| Errors | Resent | Acknowledged | Stored | Lost | Duplicated | Clients' CPU "
            "| Load avg (start, end, max 1-min) |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
        ]
        for part, label in (("capture-sqlite", "SQLite"), ("capture-postgres", "PostgreSQL")):
            found = load.get(part)
            if not found:
                continue
            watch = found["load"]
            lines.append(
                f"| {label} | {found['clients']} | {found['seconds']:.0f} | "
                f"{found['requests']:,} | {found['requests_per_s']:,.0f} | "
                f"{_n(found['p50_ms'])} | {_n(found['p99_ms'])} | {_n(found['max_ms'])} | "
                f"{found['errors']} | {found['resent']} | {found['acknowledged']:,} | "
                f"{found['stored']:,} | **{found['lost']}** | **{found['duplicated']}** | "
                f"{_cpu(found)} | "
                f"{watch['start'][0]:.2f}, {watch['end'][0]:.2f}, {watch['max_1min']:.2f} |"
            )
        captured = [
            (label, load[part])
            for part, label in (("capture-sqlite", "SQLite"), ("capture-postgres", "PostgreSQL"))
            if part in load
        ]
        if captured:
            held = all(found["lost"] == 0 and found["duplicated"] == 0 for _, found in captured)
            counts = "; ".join(
                f"{label}: {found['lost']} lost of {found['acknowledged']:,} acknowledged, "
                f"{found['duplicated']} stored twice"
                for label, found in captured
            )
            lines += [
                "",
                f"Events lost (issue 9: must be 0): **{'met' if held else 'not met'}** ({counts}).",
            ]
        dash = load.get("dashboard")
        if dash:
            watch = dash["load"]
            visits = ", ".join(f"`{p}` {n}" for p, n in dash["callbacks_per_visit"].items())
            lines += [
                "",
                f"*Dashboard*: `knelpunt-dashboard --no-warm` (waitress, 8 threads) on the "
                f"demo year ({dash['events_in_store']:,} events, SQLite); the requests "
                "Chromium sent to load each of the eleven pages (the page, `/_dash-layout`, "
                "`/_dash-dependencies` and the `_dash-update-component` POSTs, with their "
                "bodies; scripts and styles left out, as a returning browser has them) "
                "replayed by "
                f"{dash['clients']} clients, page after page, for {dash['seconds']:.0f} s, "
                "each request waiting for the one before; every page was loaded once "
                "before the clock, so the results it shows were computed (a server that "
                "has been running). A callback that answers with the failure message "
                f"counts as an error. Callbacks per page load: {visits}.",
                "",
                "| Requests | Requests/s | p50 ms | p99 ms | Callbacks | Callback p50 ms "
                "| Callback p99 ms | Page loads | Page load p50 ms | Page load p99 ms | Errors "
                "| MB answered | Clients' CPU | Load avg (start, end, max 1-min) |",
                "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
                f"| {dash['requests']:,} | {dash['requests_per_s']:,.0f} | "
                f"{_n(dash['p50_ms'])} | {_n(dash['p99_ms'])} | "
                f"{dash['callbacks']['count']:,} | {_n(dash['callbacks']['p50_ms'])} | "
                f"{_n(dash['callbacks']['p99_ms'])} | {dash['page_loads']['count']:,} | "
                f"{_n(dash['page_loads']['p50_ms'])} | {_n(dash['page_loads']['p99_ms'])} | "
                f"{dash['errors']} | {dash['answered_mb']:,.0f} | {_cpu(dash)} | "
                f"{watch['start'][0]:.2f}, {watch['end'][0]:.2f}, "
                f"{watch['max_1min']:.2f} |",
            ]
        lines += [
            "",
            "The clients are threads of one Python process (*Clients' CPU*: its CPU time "
            "over the run's wall time, 100% = one core), the capture clients using "
            "knelpunt's own `CaptureClient`. Clients and servers share the machine's two "
            "cores, and during these runs other developers' work did too (see the load "
            "average): latencies include waiting for a core.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per part")
    parser.add_argument(
        "--requests", type=int, default=10_000_000, help="at most this many requests per part"
    )
    parser.add_argument(
        "--only", action="append", choices=[*PARTS, "none"], help="parts to run (default all)"
    )
    parser.add_argument("--faults", action="store_true", help="also run tests/faults")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument(
        "--render", action="store_true", help=f"only the report again, from {RESULTS_JSON.name}"
    )
    args = parser.parse_args(argv)
    if args.render:
        text = render(json.loads(RESULTS_JSON.read_text()))
        print(text)
        if args.write:
            write_section(SECTION, text)
        return 0
    parts = [p for p in (args.only or PARTS) if p != "none"]
    previous: dict[str, Any] = {}
    if RESULTS_JSON.exists():
        previous = json.loads(RESULTS_JSON.read_text())
    results: dict[str, Any] = {
        "machine": _machine(),
        "command": "python -m benchmarks.load " + " ".join(argv or sys.argv[1:]),
        "load": dict(previous.get("load", {})),
        "faults": previous.get("faults"),
    }
    if args.faults:
        _say("running tests/faults ...")
        results["faults"] = run_faults()
    for part in parts:
        _say(f"{part}: {args.clients} clients, {args.duration:.0f} s ...")
        if part == "capture-sqlite":
            with tempfile.TemporaryDirectory(prefix="knelpunt-load-") as folder:
                found = capture_part(
                    str(Path(folder) / "capture.db"),
                    clients=args.clients,
                    duration=args.duration,
                    requests=args.requests,
                )
        elif part == "capture-postgres":
            from benchmarks.run import PostgresServer

            server = PostgresServer()
            server.start()
            try:
                found = capture_part(
                    f"{server.url}/{server.create_database()}",
                    clients=args.clients,
                    duration=args.duration,
                    requests=args.requests,
                )
            finally:
                server.stop()
        else:
            found = dashboard_part(
                clients=args.clients, duration=args.duration, requests=args.requests
            )
        found["measured"] = results["machine"]["date"]
        results["load"][part] = found
        _say(json.dumps({k: v for k, v in found.items() if not isinstance(v, dict)}))
    DATA.mkdir(parents=True, exist_ok=True)
    RESULTS_JSON.write_text(json.dumps(results, indent=2, default=str))
    text = render(results)
    print(text)
    if args.write:
        write_section(SECTION, text)
    lost = sum(
        found.get("lost", 0) + found.get("duplicated", 0) for found in results["load"].values()
    )
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
