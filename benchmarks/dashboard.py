"""The dashboard in the browser with a million events (issue 7): how long each page
takes to draw in headless Chromium, and how long the process map's sliders, its
overlay switch and the choice of a source take to show their result.

Run from the repository root (prints Markdown; ``--write`` also replaces the
"Dashboard in the browser" section of benchmarks/RESULTS.md)::

    .venv/bin/python -m benchmarks.dashboard [--write] [--events 1000000] [--repeat 20]

*Data*: the demo team of the simulator (``demo``: a social team with a weekly team
meeting, registration, the nightly batch, budget approval and a caseload cap)
made four times larger (64 professionals, 220 new cases a week), one source per
calendar year, recorded in a SQLite store until it holds ``--events`` events. The
store is cached in the temporary folder (``knelpunt-bench-dash-1m.db``) and built
again only when it is missing.

*Served*: the app of ``create_app(store)`` in a thread of this process
(werkzeug, threaded, on 127.0.0.1), all sources chosen, driven by Debian's
Chromium through Playwright, as in tests/dashboards. *First paint* runs from
``page.goto`` until the page's main content is drawn (the element the browser
tests wait for, the map's nodes in its Cytoscape instance), each visit in a new
browser context. A page's first visit on a fresh server computes its library
results (*cold*); later visits find them in the workspace's cache (*warm*), as
they are on a server that keeps running. An *interaction* runs from the key press
or click until the redrawn result is on the page: the map's Cytoscape instance
holds exactly the edges and labels of the server's answer, or the overview's case
count is the chosen source's, followed by two animation frames.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import knelpunt as kp
from benchmarks.sections import write_section
from dashboards.browser import CHROMIUM, CHROMIUM_ARGS

REPO: Final = Path(__file__).resolve().parent.parent
SECTION: Final = "## Dashboard in the browser"
# The demo team four times over: the same rules and blockers, four times the cases.
TEAM: Final = (
    "arrivals.per_week=220",
    "team.professionals.generalist=36",
    "team.professionals.jeugd=16",
    "team.professionals.schulden=4",
    "team.professionals.specialist=8",
    "team.team_leaders=4",
    "team.managers=4",
)
# Events one year of that team records (arrivals of 364 days and their tail).
PER_YEAR: Final = 218_000
LAST_YEAR: Final = 2025
TARGET_PAINT: Final = 2.0
TARGET_P95: Final = 0.5
TIMEOUT_MS: Final = 900_000
LOAD_EVERY: Final = 5.0

# A page, the elements its first paint waits for, and a check on the page's state.
_CY: Final = (
    "(() => { const el = document.querySelector('#map-graph');"
    " const reg = el && (el._cyreg || (el.firstChild && el.firstChild._cyreg));"
    " return reg && reg.cy; })()"
)
PAGES: Final[tuple[tuple[str, str, tuple[str, ...], str | None], ...]] = (
    (
        "/",
        "Overzicht",
        (
            "#kpi-cases .card-value",
            "#overview-histogram .main-svg",
            "#overview-terms .main-svg",
            "#overview-trend .main-svg",
            "#overview-dotted .main-svg",
        ),
        None,
    ),
    (
        "/proceskaart",
        "Proceskaart",
        ("#map-graph canvas",),
        f"() => {{ const cy = {_CY}; return !!cy && cy.nodes().length > 2; }}",
    ),
    ("/knelpunten", "Knelpunten", (".blocker",), None),
    ("/beleidsdoelen", "Beleidsdoelen", (".scorecard",), None),
    ("/team", "Team", ("#team-kpi-teams",), None),
    ("/individueel", "Individueel", ("#people-table .ag-row",), None),
    # A loaded row of the cases grid (a row still loading has no row-id).
    ("/zaken", "Zaken", ("#cases-grid .ag-row[row-id]",), None),
    ("/vergelijken", "Vergelijken", ("#compare-a",), None),
    ("/simulatie", "Simulatie", ("#sim-switches input",), None),
    ("/vastleggen", "Vastleggen", ("#capture-open",), None),
    ("/uploaden", "Uploaden", ("#upload-file",), None),
)

# Counts the page's Dash callbacks in flight and logs each one's round trip
# (request sent until the answer's headers arrived: the server's work).
_WATCH: Final = """
(() => {
  const original = window.fetch;
  const dash = (window.__dash = { pending: 0, changed: 0, log: [] });
  window.fetch = async function (input, init) {
    const url = typeof input === "string" ? input : (input && input.url) || "";
    if (!url.includes("_dash-update-component")) return original.apply(this, arguments);
    const entry = { start: performance.now(), end: null, bytes: 0, output: "" };
    try { entry.output = JSON.parse((init && init.body) || "{}").output || ""; } catch (e) {}
    dash.log.push(entry);
    dash.pending += 1;
    dash.changed = performance.now();
    try {
      const response = await original.apply(this, arguments);
      entry.end = performance.now();
      entry.bytes = Number(response.headers.get("content-length") || 0);
      return response;
    } finally {
      if (entry.end === null) entry.end = performance.now();
      dash.pending -= 1;
      dash.changed = performance.now();
    }
  };
  // When each figure was last drawn (Plotly.newPlot or Plotly.react resolved), by
  // the id of its dcc.Graph: plotly.js arrives later, so its setter wraps it.
  const plots = (window.__plots = {});
  let plotly;
  const wrap = (fn) => async function (gd) {
    const done = await fn.apply(this, arguments);
    let el = typeof gd === "string" ? document.getElementById(gd) : gd;
    while (el && !el.id) el = el.parentElement;
    if (el) plots[el.id] = performance.now();
    return done;
  };
  Object.defineProperty(window, "Plotly", {
    configurable: true,
    get: () => plotly,
    set: (value) => {
      plotly = value;
      if (value && !value.__watched) {
        value.newPlot = wrap(value.newPlot);
        value.react = wrap(value.react);
        value.__watched = true;
      }
    },
  });
})();
"""
_SETTLED: Final = (
    "() => window.__dash && window.__dash.pending === 0"
    " && performance.now() - window.__dash.changed > 400"
)
_FRAMES: Final = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
_EDGES: Final = (
    f"() => {{ const cy = {_CY}; if (!cy) return null;"
    " return cy.edges().map(e => e.id() + '|' + e.data('label')).sort().join('\\n'); }"
)
_EDGES_ARE: Final = (
    f"want => {{ const cy = {_CY}; if (!cy) return false;"
    " return cy.edges().map(e => e.id() + '|' + e.data('label')).sort().join('\\n') === want; }"
)


# -- the store -----------------------------------------------------------------------


def default_store(events: int) -> Path:
    label = f"{events // 1_000_000}m" if events % 1_000_000 == 0 else str(events)
    return Path(tempfile.gettempdir()) / f"knelpunt-bench-dash-{label}.db"


def _first_monday(year: int) -> date:
    day = date(year, 1, 1)
    return day + timedelta(days=(7 - day.weekday()) % 7)


def record_year(path: Path, year: int) -> kp.SimulationRun:
    """The team's ``year`` simulated and recorded in the store at ``path``."""
    with kp.open_store(str(path)) as store:
        return kp.simulate_scenario(
            store,
            "demo",
            seed=year,
            overrides=[*TEAM, f"start={_first_monday(year).isoformat()}", "days=364"],
            name=f"Wijkteam (demo x4) {year}",
        )


def build_store(path: Path, events: int) -> dict[str, Any]:
    """The store with the team's years, built when missing; what it holds."""
    marker = path.with_name(path.name + ".json")
    if path.exists() and marker.exists():
        found: dict[str, Any] = json.loads(marker.read_text(encoding="utf-8"))
        if found.get("target") == events and found.get("team") == list(TEAM):
            found["cached"] = True
            return found
    for stale in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", ".json"))):
        stale.unlink(missing_ok=True)
    years = max(1, math.ceil(events / PER_YEAR))
    started = time.perf_counter()
    for year in range(LAST_YEAR - years + 1, LAST_YEAR + 1):
        run = record_year(path, year)
        _say(f"  {year}: {run.cases:,} cases, {run.added:,} events")
    seconds = time.perf_counter() - started
    with kp.open_store(str(path)) as store:
        table = kp.load_events(store)
        sources = [
            {"id": s.source_id, "name": s.name, "events": s.event_count}
            for s in kp.list_sources(store)
        ]
    found = {
        "target": events,
        "team": list(TEAM),
        "events": len(table.time_us),
        "cases": table.n_cases,
        "activities": len(table.activities),
        "sources": sources,
        "seconds": seconds,
        "built": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    }
    marker.write_text(json.dumps(found, indent=1), encoding="utf-8")
    found["cached"] = False
    return found


# -- the server ----------------------------------------------------------------------


@dataclass
class Computed:
    """One library result computed by the workspace (not found in its cache)."""

    name: str
    sources: Any
    options: dict[str, Any]
    seconds: float
    ended: float


@dataclass
class Server:
    """The dashboard served in a thread of this process, its computations logged."""

    store: str
    computed: list[Computed] = field(default_factory=list)
    # Results asked of the workspace and found in its cache: (name, when).
    cached: list[tuple[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        from werkzeug.serving import make_server

        from dashboards import create_app
        from dashboards import workspace as module

        for name, function in list(module.RESULTS.items()):
            module.RESULTS[name] = self._timed(name, function)
        self.app = create_app(self.store)
        self.workspace = self.app.server.config["KNELPUNT_WORKSPACE"]
        load = self.workspace.events

        def events(sources: Sequence[int] | None) -> kp.EventTable:
            started = time.perf_counter()
            table = load(sources)
            seconds = time.perf_counter() - started
            if seconds > 0.05:  # read from the store, not found in the cache
                self.computed.append(
                    Computed("projection", sources, {}, seconds, time.perf_counter())
                )
            return table

        self.workspace.events = events
        result = self.workspace.result

        def served(name: str, sources: Any, profile: str | None, **options: Any) -> Any:
            started = time.perf_counter()
            found = result(name, sources, profile, **options)
            if not any(c.name == name and c.ended >= started for c in self.computed):
                self.cached.append((name, time.perf_counter()))
            return found

        # Also the calls of one result for another (the criteria asking for the blockers).
        self.workspace.result = served
        self.server = make_server("127.0.0.1", 0, self.app.server, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        # wraps: the workspace reads the function's options (and their defaults) from it.
        @functools.wraps(function)
        def timed(ws: Any, table: kp.EventTable, profile: str, **options: Any) -> Any:
            started = time.perf_counter()
            found = function(ws, table, profile, **options)
            ended = time.perf_counter()
            self.computed.append(Computed(name, table.sources, options, ended - started, ended))
            return found

        return timed

    def since(self, moment: float) -> list[Computed]:
        return [c for c in self.computed if c.ended >= moment]

    def cached_since(self, moment: float) -> list[str]:
        """The results found in the cache since ``moment``, each named once."""
        return list(dict.fromkeys(name for name, ended in self.cached if ended >= moment))

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


class Restarted:
    """The dashboard restarted: ``knelpunt-dashboard --no-warm`` in a process of its own
    on the same store, finding the results the run before kept on disk."""

    def __init__(self, store: str) -> None:
        import socket
        import urllib.request

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "dashboards", "--store", store, "--port", str(port)]
        self.process = subprocess.Popen(
            [*command, "--no-warm"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started = time.perf_counter()
        while True:
            try:
                with urllib.request.urlopen(self.url + "/api/capture/health", timeout=5):
                    break
            except OSError:
                if self.process.poll() is not None or time.perf_counter() - started > 300:
                    raise RuntimeError("the restarted dashboard did not start") from None
                time.sleep(0.5)
        self.started_s = time.perf_counter() - started

    def since(self, _moment: float) -> list[Computed]:
        return []  # computed in another process: not seen from here

    def cached_since(self, _moment: float) -> list[str]:
        return []

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@dataclass
class Recorded:
    """A year recorded by another process while the dashboard ran, and the pages'
    first visits once the dashboard had prepared them."""

    events: int
    record_s: float
    prepared_s: float
    visits: list[Visit]


def recorded_while_served(browser: Any, path: Path) -> Recorded:
    """On a copy of the store (and of the results this run kept beside it): the
    dashboard served and warmed up as a server that has been running, watching the
    store as ``knelpunt-dashboard`` does; a year recorded by another process (as
    ``knelpunt ingest`` would); the time until the dashboard had the pages prepared,
    then each page's first visit in a new browser context."""
    import shutil
    import sqlite3

    from dashboards.workspace import CACHE_SUFFIX

    copy = path.with_name(path.stem + "-recording.db")

    def remove() -> None:
        shutil.rmtree(copy.with_name(copy.name + CACHE_SUFFIX), ignore_errors=True)
        for leftover in (copy, *(copy.with_name(copy.name + x) for x in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)

    remove()
    with sqlite3.connect(path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    kept = path.with_name(path.name + CACHE_SUFFIX)
    if kept.is_dir():
        shutil.copytree(kept, copy.with_name(copy.name + CACHE_SUFFIX))
    server = Server(str(copy))
    workspace = server.workspace
    try:
        workspace.warm().join()
        workspace.watch()
        with kp.open_store(str(copy)) as store:
            before = store.last_position()
        started = time.perf_counter()
        code = (
            "import sys; from pathlib import Path; from benchmarks.dashboard import record_year;"
            "record_year(Path(sys.argv[1]), int(sys.argv[2]))"
        )
        subprocess.run(
            [sys.executable, "-c", code, str(copy), str(LAST_YEAR + 1)], check=True, cwd=REPO
        )
        ended = time.perf_counter()
        with kp.open_store(str(copy)) as store:
            added = store.last_position() - before
        # The watcher notices the recording within two looks, then warms up.
        while workspace._warming is None:
            if time.perf_counter() - ended > 120:
                raise RuntimeError("the dashboard did not notice the recording")
            time.sleep(0.2)
        while workspace._warming is not None:
            if time.perf_counter() - ended > 1800:
                raise RuntimeError("the dashboard did not finish preparing")
            time.sleep(0.2)
        prepared = time.perf_counter() - ended
        visits = [visit(browser, server, p, r, c) for p, _n, r, c in PAGES]
    finally:
        server.close()
        workspace.close()
        remove()
    return Recorded(events=added, record_s=ended - started, prepared_s=prepared, visits=visits)


# -- measuring -----------------------------------------------------------------------


@dataclass
class Visit:
    page: str
    seconds: float
    loaded: float
    settled: float
    callbacks: int
    slowest: float
    megabytes: float
    computed: list[Computed]
    cached: list[str]


@dataclass
class Interaction:
    kind: str
    seconds: float
    roundtrip: float
    computed: list[Computed]


@contextmanager
def fresh_page(browser: Any, base: str, context: Any = None) -> Iterator[Any]:
    """A new page (a new tab: no session storage of earlier visits), in a browser
    context of its own (no cached files either) unless ``context`` is given."""
    own = context is None
    if own:
        context = new_context(browser, base)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
    finally:
        page.close()
        if own:
            context.close()
        if errors:
            _say(f"  page errors: {errors[:3]}")


def new_context(browser: Any, base: str) -> Any:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=base)
    context.add_init_script(_WATCH)
    return context


def _log(page: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate("() => window.__dash ? window.__dash.log : []")
    return found


def visit(
    browser: Any,
    server: Server | Restarted,
    path: str,
    ready: Sequence[str],
    check: str | None,
    context: Any = None,
) -> Visit:
    with fresh_page(browser, server.url, context) as page:
        started = time.perf_counter()
        page.goto(path)
        for selector in ready:
            page.wait_for_selector(selector, timeout=TIMEOUT_MS)
        if check:
            page.wait_for_function(check, timeout=TIMEOUT_MS)
        page.evaluate(_FRAMES)
        seconds = time.perf_counter() - started
        page.wait_for_function(_SETTLED, timeout=TIMEOUT_MS, polling=100)
        log = _log(page)
        loaded = page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return n ? n.loadEventEnd : 0; }"
        )
    return Visit(
        page=path,
        seconds=seconds,
        loaded=loaded / 1000,
        settled=max((e["end"] for e in log), default=0.0) / 1000,
        callbacks=len(log),
        slowest=max((e["end"] - e["start"] for e in log), default=0.0) / 1000,
        megabytes=sum(e["bytes"] for e in log) / 1e6,
        computed=server.since(started),
        cached=server.cached_since(started),
    )


def _timed_map(page: Any, server: Server, kind: str, act: Callable[[], None]) -> Interaction:
    """One action on the map, until Cytoscape shows the server's new edges and labels."""
    before = len(_log(page))
    started = time.perf_counter()
    with page.expect_response(
        lambda r: "_dash-update-component" in r.url and "map-body" in (r.request.post_data or ""),
        timeout=TIMEOUT_MS,
    ) as answer:
        act()
    elements = answer.value.json()["response"]["map-body"]["children"]["props"]["elements"]
    want = "\n".join(
        sorted(f"{e['data']['id']}|{e['data']['label']}" for e in elements if "source" in e["data"])
    )
    page.wait_for_function(_EDGES_ARE, arg=want, timeout=TIMEOUT_MS)
    page.evaluate(_FRAMES)
    seconds = time.perf_counter() - started
    log = _log(page)[before:]
    trips = [e["end"] - e["start"] for e in log if "map-body" in e["output"]]
    return Interaction(kind, seconds, max(trips, default=0.0) / 1000, server.since(started))


def map_interactions(browser: Any, server: Server, repeat: int) -> list[Interaction]:
    found: list[Interaction] = []
    with fresh_page(browser, server.url) as page:
        page.goto("/proceskaart")
        page.wait_for_selector("#map-graph canvas", timeout=TIMEOUT_MS)
        page.wait_for_function(PAGES[1][3], timeout=TIMEOUT_MS)
        page.wait_for_function(_SETTLED, timeout=TIMEOUT_MS, polling=100)
        # Paths: 30% up one step at a time, then back down (as a drag does).
        for slider, kind, first in (
            ("#map-paths", "paths slider (one 5% step)", "ArrowRight"),
            ("#map-activities", "activities slider (one 5% step)", "ArrowLeft"),
        ):
            handle = page.locator(f"{slider} [role=slider]")
            back = "ArrowLeft" if first == "ArrowRight" else "ArrowRight"
            for step in range(repeat):
                key = first if step < math.ceil(repeat / 2) else back
                handle.focus()
                found.append(_timed_map(page, server, kind, lambda k=key: page.keyboard.press(k)))
        for step in range(repeat):
            label = "Doorlooptijd" if step % 2 == 0 else "Frequentie"
            found.append(
                _timed_map(
                    page,
                    server,
                    "overlay switch (Frequentie / Doorlooptijd)",
                    lambda label=label: page.get_by_label(label, exact=True).check(),
                )
            )
    return found


def filter_interactions(
    browser: Any, server: Server, sources: list[dict[str, Any]], repeat: int
) -> list[Interaction]:
    """On the overview: one source chosen (each in turn), then all again; timed from
    the click that chooses (the list of sources already open) until every figure of
    the server's answer is drawn anew and the case count is the new one."""
    found: list[Interaction] = []
    kind = "source filter on the overview (one source, then all)"
    with fresh_page(browser, server.url) as page:
        page.goto("/")
        for selector in PAGES[0][2]:
            page.wait_for_selector(selector, timeout=TIMEOUT_MS)
        page.wait_for_function(_SETTLED, timeout=TIMEOUT_MS, polling=100)
        everything = page.inner_text("#kpi-cases .card-value")
        for step in range(repeat):
            before = len(_log(page))
            chosen = sources[(step // 2) % len(sources)]["id"] if step % 2 == 0 else None
            if chosen is not None:
                page.click("#sources")
                option = page.get_by_role("option", name=re.compile(f"^{chosen}: "))
                option.wait_for(timeout=TIMEOUT_MS)
                act, shows = option.click, "v.innerText !== all"
            else:
                act = functools.partial(page.click, "#sources .dash-dropdown-clear")
                shows = "v.innerText === all"
            clicked = page.evaluate("() => performance.now()")
            started = time.perf_counter()
            with page.expect_response(
                lambda r: (
                    "_dash-update-component" in r.url
                    and "overview-body" in (r.request.post_data or "")
                ),
                timeout=TIMEOUT_MS,
            ) as answer:
                act()
            figures = _figures(answer.value.json())
            page.wait_for_function(
                "([all, ids, after]) => {"
                " const v = document.querySelector('#kpi-cases .card-value');"
                f" return v && {shows} && ids.every(id => (window.__plots[id] || 0) > after); }}",
                arg=[everything, figures, clicked],
                timeout=TIMEOUT_MS,
            )
            page.evaluate(_FRAMES)
            seconds = time.perf_counter() - started
            page.keyboard.press("Escape")
            log = _log(page)[before:]
            trips = [e["end"] - e["start"] for e in log if "overview-body" in e["output"]]
            found.append(
                Interaction(kind, seconds, max(trips, default=0.0) / 1000, server.since(started))
            )
            page.wait_for_function(_SETTLED, timeout=TIMEOUT_MS, polling=100)
    return found


def _figures(answer: dict[str, Any]) -> list[str]:
    """The ids of the figures a Dash answer draws: set in place, or in a new tree."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            props = node.get("props")
            if node.get("type") == "Graph" and isinstance(props, dict):
                found.append(str(props.get("id")))
            for value in (props or node).values():
                walk(value)

    for ident, props in (answer.get("sideUpdate") or {}).items():
        if "figure" in props:
            found.append(ident)
        walk(props)
    walk(answer.get("response"))
    return sorted(set(found))


@contextmanager
def chromium_memory() -> Iterator[list[float]]:
    """The largest sum of the resident memory of Chromium's processes, sampled."""
    import psutil

    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        me = psutil.Process()
        while not done.wait(0.25):
            total = 0
            for child in me.children(recursive=True):
                try:
                    if "chrom" in child.name().lower():
                        total += child.memory_info().rss
                except psutil.Error:
                    continue
            peak[0] = max(peak[0], total / 2**20)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        done.set()
        thread.join(timeout=5)


@dataclass
class Reference:
    """The same million events' map recomputed, by knelpunt and by pm4py."""

    read_s: float
    pm4py_dfg_s: float
    knelpunt_map_s: float
    simplify_ms: float


def references(store: str, whole: kp.ProcessMap, repeat: int = 3) -> Reference:
    import pm4py

    started = time.perf_counter()
    with kp.open_store(store) as opened:
        frame = kp.read_events(opened, positions=False)
        table = kp.load_events(opened)
    read_s = time.perf_counter() - started
    pm4py_s = _median_time(repeat, lambda: pm4py.discover_performance_dfg(frame))
    knelpunt_s = _median_time(repeat, lambda: kp.discover_map(kp.pair_instances(table)))
    simplify_s = _median_time(50, lambda: kp.simplify_map(whole, paths=0.3))
    return Reference(read_s, pm4py_s, knelpunt_s, simplify_s * 1000)


def _median_time(repeat: int, work: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# -- report --------------------------------------------------------------------------


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _pct(values: Sequence[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q))


def _git() -> str:
    def run(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = run("rev-parse", "--short", "HEAD")
    dirty = run("status", "--porcelain", "--", "dashboards", "knelpunt")
    return f"{commit} (with uncommitted changes in dashboards/ or knelpunt/)" if dirty else commit


def _measured(git: tuple[str, str]) -> str:
    """The commit measured (the code is imported at the start), and a later one if
    the checkout changed during the run."""
    start, end = git
    if start == end:
        return start
    return f"{start} (at the start, when the code was imported; {end} by the end)"


class LoadPeak:
    """The highest 1-minute load average from now until :meth:`stop`, read every
    LOAD_EVERY seconds in a thread."""

    def __init__(self) -> None:
        import os

        self.peak = os.getloadavg()[0]
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        import os

        while not self.done.wait(LOAD_EVERY):
            self.peak = max(self.peak, os.getloadavg()[0])

    def stop(self) -> float:
        import os

        self.done.set()
        self.thread.join(timeout=LOAD_EVERY + 5)
        self.peak = max(self.peak, os.getloadavg()[0])
        return self.peak


def _computed(found: Sequence[Computed]) -> str:
    parts = []
    for c in found:
        options = ", ".join(f"{k}={v}" for k, v in c.options.items())
        parts.append(f"{c.name}{f' ({options})' if options else ''} {c.seconds:.1f}")
    return "; ".join(parts) if parts else "–"


def _cold(visit: Visit) -> str:
    """What the cold visit computed, and what it found computed by an earlier page."""
    computed = _computed(visit.computed)
    done = {c.name for c in visit.computed}
    found = [name for name in visit.cached if name not in done]
    if not found:
        return computed
    cached = f"from the cache: {', '.join(found)}"
    return cached if computed == "–" else f"{computed}; {cached}"


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


@dataclass
class Run:
    info: dict[str, Any]
    projection_s: float
    cold: list[Visit]
    restarted: list[Visit]
    restart_s: float
    recorded: Recorded
    fresh: dict[str, list[Visit]]
    back: dict[str, list[Visit]]
    interactions: list[Interaction]
    warmup_s: float | None
    python_mb: float
    chromium_mb: float
    reference: Reference
    whole_map: str
    chromium: str
    load: tuple[tuple[float, ...], tuple[float, ...]]
    load_peak: float
    git: tuple[str, str]
    seconds: float


def markdown(run: Run, args: argparse.Namespace) -> str:
    info = run.info
    names = {path: name for path, name, _, _ in PAGES}
    years = [s["name"].rsplit(" ", 1)[-1] for s in info["sources"]]
    built = (
        f"recorded once in {info['seconds']:.0f} s ({info['built']}) and cached"
        if info.get("cached")
        else f"recorded in {info['seconds']:.0f} s for this run"
    )
    lines = [
        SECTION,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({platform.machine()}, {_nproc()} cores, Python {platform.python_version()}, "
        f"Chromium {run.chromium} headless), git {_measured(run.git)}; "
        f"`python -m benchmarks.dashboard --write --events {args.events} "
        f"--repeat {args.repeat} --visits {args.visits}` ({run.seconds / 60:.0f} min in all).",
        "",
        f"*Data*: {info['events']:,} events of {info['cases']:,} cases, "
        f"{info['activities']} activities, in {len(info['sources'])} sources "
        f"(one per year, {years[0]}–{years[-1]}, about "
        f"{info['events'] // len(info['sources']):,} events each): the simulator's `demo` "
        f"team made four times larger ({', '.join(f'`{t}`' for t in TEAM)}), "
        f"{built} in a SQLite store. All sources are chosen (the default) unless "
        "said otherwise. The app is served in a thread of the measuring process "
        "(werkzeug, threaded) and driven by Playwright. Times include Playwright's "
        "input and its polling (about one animation frame).",
        "",
        f"*Before the first page*: the projection of the {info['events']:,} events "
        f"(the workspace's `EventTable`, read from SQLite) built in "
        f"**{run.projection_s:.1f} s**. Peak resident memory: "
        f"{run.python_mb:,.0f} MB for the Python process (server, projection, results "
        f"kept), {run.chromium_mb:,.0f} MB for Chromium's processes together (sum of "
        "their RSS, sampled every 0.25 s).",
        "",
        "### First paint per page",
        "",
        "From `page.goto` until the page's main content is drawn (the element the "
        "browser tests wait for; on the map, its nodes in Cytoscape) plus two "
        "animation frames. *Cold*: the first visit on a fresh server, in a new "
        "browser context, computing the page's library results (in the page order "
        "below; a result an earlier page computed is already cached, and the column "
        "names those a page found there, *from the cache*, also when one result asks "
        "for another). *Warm*: the results cached on the server, the median of "
        f"{args.visits} visits; *new browser*: each in a new browser context (nothing "
        "cached: Dash, Plotly, AG Grid and Cytoscape's scripts downloaded and "
        "parsed again), *returning*: each in a new tab of one context that has seen "
        "every page once (the scripts in the browser's cache, as for someone who "
        "uses the dashboard daily; a new tab has no session storage, so the page "
        "starts from its defaults). "
        "*Scripts loaded*: the returning visit's load event (Dash's scripts "
        "fetched and run, seconds since navigation); "
        "*last answer*: when the last Dash callback of the returning visit answered "
        "(seconds since navigation, so after the first paint where a page draws "
        "more below its main content); *slowest callback*: the longest round trip "
        "of one callback (the server's work, its answer's headers back); *answer*: "
        "the callbacks' answers together.",
        "",
        "*Restarted*: at the end of the run, the dashboard started again in a process "
        "of its own (`knelpunt-dashboard --no-warm`: no warm-up, no result in memory; "
        "at start, in the background, it reads back the events' projection and the "
        "store-wide facts kept on disk and draws the pages for all sources from the "
        "results kept there, computing nothing (`Workspace.prime`); it answered "
        f"{run.restart_s:.1f} s after its start), each page's first visit "
        "in a new browser context: the workspace reads the projection and the "
        "results this run kept on disk beside the store (`k.db.knelpunt-cache`, "
        "removed before the cold visits) instead of computing them.",
        "",
        "*After recording*: then a year more of the same team "
        f"({run.recorded.events:,} events) recorded by another process in "
        f"{run.recorded.record_s:.0f} s, into a copy of the store (and of the results "
        "kept beside it) served by a dashboard that had been running (warmed up) and "
        "watched the store as `knelpunt-dashboard` does (`Workspace.watch`: a look every "
        "5 s, the warm-up once the store is still). It had the pages prepared "
        f"**{run.recorded.prepared_s:.0f} s** after the recording ended (all sources, "
        "now with the new year, and each source alone); each page's first visit then, "
        "in a new browser context. A visit before that waits for the results it needs "
        "(the *cold* column is the worst case: nothing computed yet).",
        "",
        "| Page | Cold first visit s | Computed on the server in the cold visit (s) "
        "| Restarted, first visit s | After recording, first visit s "
        "| Warm, new browser s | Warm, returning s | Under 2 s (returning / new) "
        "| Scripts loaded s | Last answer s | Slowest callback s | Answer MB |",
        "|---|--:|---|--:|--:|--:|--:|---|--:|--:|--:|--:|",
    ]
    restarted = {v.page: v.seconds for v in run.restarted}
    recorded = {v.page: v.seconds for v in run.recorded.visits}
    for cold in run.cold:
        fresh = statistics.median(v.seconds for v in run.fresh[cold.page])
        warm = run.back[cold.page]
        paint = statistics.median(v.seconds for v in warm)
        lines.append(
            f"| {names[cold.page]} (`{cold.page}`) | {cold.seconds:.2f} | "
            f"{_cold(cold)} | **{restarted[cold.page]:.2f}** | **{recorded[cold.page]:.2f}** | "
            f"{fresh:.2f} | **{paint:.2f}** | "
            f"{_met(paint < TARGET_PAINT)} / {_met(fresh < TARGET_PAINT)} | "
            f"{statistics.median(v.loaded for v in warm):.2f} | "
            f"{statistics.median(v.settled for v in warm):.2f} | "
            f"{statistics.median(v.slowest for v in warm):.2f} | "
            f"{statistics.median(v.megabytes for v in warm):.2f} |"
        )
    lines += [
        "",
        "### Interactions",
        "",
        f"On the map (all sources; {run.whole_map}): the paths slider moved one 5% "
        "step with the keyboard, up from 30% and back; the activities slider one 5% "
        "step, down from 100% and back up; the overlay switched between Frequentie "
        "and Doorlooptijd. On the overview: one source chosen in the shell's source "
        "choice (each year in turn), then the choice cleared (all sources again). "
        "Each interaction runs from the key press or click until the page shows the "
        "server's answer (the map: Cytoscape holds exactly the answer's edges and "
        "labels; the overview: the case count changed and the graphs drawn) plus two "
        "animation frames. *Round trip*: the callback's request until its answer's "
        "headers, i.e. the server's work; the rest is the browser's (and "
        "Playwright's). *Computed*: the step needed a result the workspace did not "
        "have yet (a new activities share, a source not chosen before); the others "
        "were served from results already computed.",
        "",
        (
            f"Before the interactions the server warmed up as `knelpunt-dashboard` does "
            f"at start (`Workspace.warm`: the pages' results for all sources, the map at "
            f"every step of the activities slider, then the pages' results for each of the "
            f"newest eight sources alone), in {run.warmup_s:.0f} s of background work after "
            "the page visits above; so the steps measured find their results computed, as on a "
            "server that has been running that long."
            if run.warmup_s is not None
            else "The server did not warm up (`--no-warm`): every step whose result was "
            "not asked for before computes it."
        ),
        "",
        "| Interaction | Steps | p50 s | p95 s | Max s | Round trip p50 s | p95 under 0.5 s |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    kinds = list(dict.fromkeys(i.kind for i in run.interactions))
    for kind in kinds:
        mine = [i for i in run.interactions if i.kind == kind]
        groups = [("", mine)]
        computed = [i for i in mine if i.computed]
        if computed and len(computed) < len(mine):
            groups += [
                (" – served from the cache", [i for i in mine if not i.computed]),
                (" – computed on the server", computed),
            ]
        for suffix, group in groups:
            seconds = [i.seconds for i in group]
            p95 = _pct(seconds, 95)
            name = kind + suffix if not suffix else f"&nbsp;&nbsp;{suffix.strip(' –')}"
            lines.append(
                f"| {name} | {len(group)} | {_pct(seconds, 50):.3f} | **{p95:.3f}** | "
                f"{max(seconds):.3f} | {_pct([i.roundtrip for i in group], 50):.3f} | "
                f"{_met(p95 < TARGET_P95)} |"
            )
    ref = run.reference
    lines += [
        "",
        "### Serving against recomputing",
        "",
        f"The same {info['events']:,} events (median of 3 runs each, outside the "
        "browser): pm4py's `discover_performance_dfg` on the store's events as a "
        f"DataFrame (`kp.read_events`, read with the projection in {ref.read_s:.1f} s) "
        f"takes **{ref.pm4py_dfg_s:.2f} s**; knelpunt's whole map recomputed from the "
        f"projection (`pair_instances` + `discover_map`) **{ref.knelpunt_map_s:.2f} s**; "
        "what the dashboard does on a slider step once the map is cached, "
        f"`simplify_map(whole, paths=0.3)`, **{ref.simplify_ms:.1f} ms**.",
        "",
    ]
    lines += _targets(run)
    before, after = run.load
    lines += [
        "",
        f"Load average (1, 5, 15 min) at the start {before[0]:.2f}, {before[1]:.2f}, "
        f"{before[2]:.2f} and at the end {after[0]:.2f}, {after[1]:.2f}, {after[2]:.2f}, "
        f"the 1-minute load at most {run.load_peak:.2f} during the run (read every "
        f"{LOAD_EVERY:.0f} s), on {_nproc()} cores; the browser, the server and "
        "Playwright share them."
        + (
            " The 1-minute load was above the number of cores (it counts the run's own "
            "browser and server too): the times include waiting for a core, so they "
            "are upper bounds."
            if max(before[0], after[0], run.load_peak) > _nproc()
            else ""
        ),
        "",
    ]
    return "\n".join(lines)


def _targets(run: Run) -> list[str]:
    def slow(visits: dict[str, float]) -> str:
        over = [f"`{p}` {s:.1f} s" for p, s in visits.items() if s >= TARGET_PAINT]
        return _met(not over) + (f" ({', '.join(over)})" if over else "")

    def worst(visits: dict[str, float]) -> str:
        over = [f"`{p}` {s:.1f} s" for p, s in visits.items() if s >= TARGET_PAINT]
        return ", ".join(over) if over else f"every page under {TARGET_PAINT:.0f} s"

    back = {p: statistics.median(v.seconds for v in run.back[p]) for p, _, _, _ in PAGES}
    fresh = {p: statistics.median(v.seconds for v in run.fresh[p]) for p, _, _, _ in PAGES}
    cold = {v.page: v.seconds for v in run.cold}
    restarted = {v.page: v.seconds for v in run.restarted}
    recorded = {v.page: v.seconds for v in run.recorded.visits}
    parts = []
    for kind in dict.fromkeys(i.kind for i in run.interactions):
        seconds = [i.seconds for i in run.interactions if i.kind == kind]
        parts.append(f"{kind} {_met(_pct(seconds, 95) < TARGET_P95)}")
    return [
        "**Targets** (issue 7, a million events loaded). First paint of each page "
        f"under {TARGET_PAINT:.0f} s, results cached (a server that keeps running): "
        f"returning browser {slow(back)}; new browser {slow(fresh)}. A restarted "
        f"server, results on disk: {slow(restarted)}. After a year recorded by another "
        f"process, once the dashboard had prepared it ({run.recorded.prepared_s:.0f} s "
        f"after): {slow(recorded)}. Not a target but the worst case, a page's very first "
        "visit before anything was computed for it (cold: the visitor waits for the "
        f"analyses): {worst(cold)}. p95 of an "
        "interaction under "
        f"{TARGET_P95 * 1000:.0f} ms: " + "; ".join(parts) + "."
    ]


def _nproc() -> int:
    import os

    return len(os.sched_getaffinity(0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="Update benchmarks/RESULTS.md.")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20, help="Each interaction this often.")
    parser.add_argument("--visits", type=int, default=3, help="Warm visits of each page.")
    parser.add_argument("--store", type=Path, help="The store (default: in the temp folder).")
    parser.add_argument(
        "--no-warm",
        dest="warm",
        action="store_false",
        help="Measure the interactions without the server's warm-up (knelpunt-dashboard "
        "--no-warm).",
    )
    parser.add_argument(
        "--filter-only",
        action="store_true",
        help="Warm up, then time only the source filter (a quick check; writes nothing).",
    )
    args = parser.parse_args(argv)
    import logging
    import os

    from playwright.sync_api import sync_playwright

    begun = time.perf_counter()
    load_before = os.getloadavg()
    git_before = _git()
    peak = LoadPeak()
    path = args.store or default_store(args.events)
    _say(f"store {path} ...")
    info = build_store(path, args.events)
    _say(f"  {info['events']:,} events, {info['cases']:,} cases, {len(info['sources'])} sources")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Cold means cold: no results kept on disk by an earlier run.
    import shutil

    from dashboards.workspace import CACHE_SUFFIX

    shutil.rmtree(path.with_name(path.name + CACHE_SUFFIX), ignore_errors=True)
    server = Server(str(path))
    try:
        started = time.perf_counter()
        server.workspace.events(None)
        projection = time.perf_counter() - started
        _say(f"projection {projection:.1f} s")
        with sync_playwright() as playwright, chromium_memory() as chromium_mb:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS)
            )
            if args.filter_only:
                server.workspace.warm().join()
                quick = filter_interactions(browser, server, info["sources"], args.repeat)
                times = sorted(i.seconds for i in quick)
                for i in quick:
                    _say(f"{i.kind}: {i.seconds:.3f} s (round trip {i.roundtrip:.3f} s)")
                print(f"p50 {_pct(times, 50):.3f} s, p95 {_pct(times, 95):.3f} s")
                return 0
            cold = []
            for path_, _name, ready, check in PAGES:
                cold.append(visit(browser, server, path_, ready, check))
                _say(f"cold {path_}: {cold[-1].seconds:.2f} s {_computed(cold[-1].computed)}")
            fresh: dict[str, list[Visit]] = {p: [] for p, _, _, _ in PAGES}
            back: dict[str, list[Visit]] = {p: [] for p, _, _, _ in PAGES}
            returning = new_context(browser, server.url)
            for path_, _name, ready, check in PAGES:
                visit(browser, server, path_, ready, check, returning)
            for _ in range(args.visits):
                for path_, _name, ready, check in PAGES:
                    fresh[path_].append(visit(browser, server, path_, ready, check))
                    back[path_].append(visit(browser, server, path_, ready, check, returning))
                    _say(
                        f"warm {path_}: new browser {fresh[path_][-1].seconds:.2f} s, "
                        f"returning {back[path_][-1].seconds:.2f} s"
                    )
            returning.close()
            warmup = None
            if args.warm:
                # As knelpunt-dashboard does at start: what visitors ask for most.
                started = time.perf_counter()
                server.workspace.warm().join()
                warmup = time.perf_counter() - started
                _say(f"warm-up {warmup:.1f} s")
            interactions = map_interactions(browser, server, args.repeat)
            for i in interactions:
                _say(f"{i.kind}: {i.seconds:.3f} s (round trip {i.roundtrip:.3f} s)")
            sources = info["sources"]
            interactions += filter_interactions(browser, server, sources, args.repeat)
            for i in interactions[-args.repeat :]:
                _say(f"{i.kind}: {i.seconds:.3f} s (round trip {i.roundtrip:.3f} s)")
            python_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            whole = server.workspace.result("map", None, None, activities=1.0, working=False)
            server.close()
            server.workspace.close()
            again = Restarted(str(path))
            try:
                restarted = [visit(browser, again, p, r, c) for p, _n, r, c in PAGES]
            finally:
                again.close()
            for v in restarted:
                _say(f"restarted {v.page}: {v.seconds:.2f} s")
            recorded = recorded_while_served(browser, path)
            _say(
                f"recorded {recorded.events:,} events in {recorded.record_s:.1f} s; "
                f"prepared {recorded.prepared_s:.1f} s after"
            )
            for v in recorded.visits:
                _say(f"after recording {v.page}: {v.seconds:.2f} s")
            version = browser.version
            browser.close()
    finally:
        server.close()
    described = f"{len(whole.activities)} activities, {len(whole.edges)} paths in the whole map"
    _say("pm4py and knelpunt recomputing ...")
    reference = references(str(path), whole)
    run = Run(
        info=info,
        projection_s=projection,
        cold=cold,
        restarted=restarted,
        restart_s=again.started_s,
        recorded=recorded,
        fresh=fresh,
        back=back,
        interactions=interactions,
        warmup_s=warmup,
        python_mb=python_mb,
        chromium_mb=chromium_mb[0],
        reference=reference,
        whole_map=described,
        chromium=version,
        load=(load_before, os.getloadavg()),
        load_peak=peak.stop(),
        git=(git_before, _git()),
        seconds=time.perf_counter() - begun,
    )
    text = markdown(run, args)
    print(text)
    if args.write:
        write_section(SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
