"""Ingestion benchmark: knelpunt side by side with rustxes and pm4py.

Run from the repository root::

    .venv/bin/python -m benchmarks.run            # everything (about 15 minutes on 2 cores)
    .venv/bin/python -m benchmarks.run --quick    # without the 5M-event cases
    .venv/bin/python -m benchmarks.run --only xes-1m --only csv
    .venv/bin/python -m benchmarks.run --list     # the case names

Every measured operation runs in a fresh interpreter
(:mod:`benchmarks.operations`), so its peak RSS is its own. Generated logs are
cached in ``benchmarks/data/`` (git-ignored); stores, child logs and the raw
results (``results.json``) go there too. The Markdown report goes to stdout
and to ``benchmarks/RESULTS.md``; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Final, LiteralString

from benchmarks.generate import DATA_DIR, csv_log, xes_log

REPO: Final = Path(__file__).resolve().parent.parent
RESULTS_MD: Final = Path(__file__).resolve().parent / "RESULTS.md"
BPIC_2012: Final = REPO.parent / "shared" / "event_logs" / "bpi_challenge_2012.xes.gz"
BPIC_2012_EVENTS: Final = 262_200
DEFAULT_TIMEOUT: Final = 900.0

# The targets.
MAX_RECORD_VS_PARSE: Final = 2.0
MIN_SPEEDUP_VS_PM4PY: Final = 5.0
MAX_CSV_SECONDS: Final = 15.0
# "Bounded" memory: the 5M peak may exceed the 1M peak by at most this factor.
MAX_RSS_GROWTH: Final = 1.25


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Log:
    key: str  # used in case names
    title: str
    events: int
    path: Callable[[], Path]
    big: bool = False  # skipped by --quick
    repeat: int = 3  # runs per case; the median is reported


@dataclass(frozen=True)
class Case:
    name: str
    log: Log
    operation: str  # see benchmarks.operations.OPERATIONS
    what: str
    backend: str | None = None  # sqlite or postgres, for knelpunt


def _cases() -> list[Case]:
    logs = {
        "bpic2012": Log("bpic2012", "BPIC 2012 (real XES)", BPIC_2012_EVENTS, lambda: BPIC_2012),
        "xes-1m": Log("xes-1m", "synthetic XES, 1M", 1_000_000, lambda: xes_log(1_000_000)),
        "xes-5m": Log(
            "xes-5m", "synthetic XES, 5M", 5_000_000, lambda: xes_log(5_000_000), big=True, repeat=1
        ),
        "csv-1m": Log("csv-1m", "synthetic CSV, 1M", 1_000_000, lambda: csv_log(1_000_000)),
    }
    cases = []
    for key in ("bpic2012", "xes-1m", "xes-5m"):
        log = logs[key]
        cases += [
            Case(f"{key}-rustxes", log, "rustxes", "`rustxes.import_xes` (parse only)"),
            Case(
                f"{key}-knelpunt-sqlite",
                log,
                "knelpunt",
                "`kp.ingest_log` → new SQLite store",
                "sqlite",
            ),
            Case(
                f"{key}-pm4py",
                log,
                "pm4py-xes",
                '`pm4py.read_xes(variant="iterparse")`',
            ),
        ]
    for key in ("bpic2012", "xes-1m", "xes-5m"):
        log = logs[key]
        cases += [
            Case(
                f"{key}-map-knelpunt",
                log,
                "knelpunt-map",
                "`discover_map` + `list_variants` + `summarise_cases` on the projection",
                "sqlite",
            ),
            Case(
                f"{key}-map-pm4py",
                log,
                "pm4py-map",
                "`discover_performance_dfg` + `get_variants` + `get_cases_description`",
            ),
        ]
    for key in ("bpic2012", "xes-1m"):
        log = logs[key]
        cases += [
            Case(
                f"{key}-instances-knelpunt",
                log,
                "knelpunt-instances",
                "`pair_instances` (office hours, Dutch holidays) + `summarise_activities`",
                "sqlite",
            ),
            Case(
                f"{key}-instances-pm4py",
                log,
                "pm4py-instances",
                "`interval_lifecycle.assign_lead_cycle_time` (pairs, then business hours)",
            ),
        ]
    log = logs["csv-1m"]
    cases += [
        Case(
            "csv-1m-knelpunt-sqlite",
            log,
            "knelpunt",
            "`kp.ingest_log` → new SQLite store",
            "sqlite",
        ),
        Case(
            "csv-1m-knelpunt-postgres",
            log,
            "knelpunt",
            "`kp.ingest_log` → new PostgreSQL database",
            "postgres",
        ),
        Case(
            "csv-1m-pm4py",
            log,
            "pm4py-csv",
            "`pd.read_csv` + `pm4py.format_dataframe` (no store)",
        ),
    ]
    return cases


# -- a throwaway PostgreSQL server -------------------------------------------------------


def _pg_bin() -> Path:
    preferred = Path("/usr/lib/postgresql/15/bin")
    if (preferred / "initdb").exists():
        return preferred
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise SystemExit(
            "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin; run "
            "'bash scripts/setup-system.sh', or leave the PostgreSQL case out with "
            "--only (e.g. --only xes)."
        )
    return found[-1].parent


def _as_postgres(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """initdb + pg_ctl start in a temporary folder; default durability (fsync on)."""

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.root = Path(tempfile.mkdtemp(prefix="knelpunt-bench-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.url = f"postgresql://knelpunt@127.0.0.1:{self.port}"
        self.version = ""
        self._databases = 0

    def _run(self, args: list[str]) -> str:
        done = subprocess.run(
            _as_postgres(args), cwd=self.root, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "knelpunt", "--auth=trust",
             "-E", "UTF8", "--no-locale"]
        )  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
        self._run(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
             str(self.root / "log"), "-w", "start"]
        )  # fmt: skip
        self.version = self._query("SHOW server_version")
        _say(f"PostgreSQL {self.version} started on port {self.port} ({self.root})")

    def _query(self, statement: LiteralString) -> str:
        import psycopg

        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as admin:
            row = admin.execute(statement).fetchone()
        return "" if row is None else str(row[0])

    def settings(self) -> str:
        names = ("fsync", "synchronous_commit", "full_page_writes", "wal_level")
        return ", ".join(f"{n}={self._query('SHOW ' + n)}" for n in names)

    def create_database(self) -> str:
        import psycopg
        from psycopg import sql

        self._databases += 1
        name = f"bench_{self._databases}"
        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(f"{self.url}/postgres", autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                _as_postgres(
                    [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]
                ),
                cwd=self.root,
                capture_output=True,
                check=False,
            )
            _say("PostgreSQL stopped")
        shutil.rmtree(self.root, ignore_errors=True)


# -- measuring ---------------------------------------------------------------------------


def snapshot() -> tuple[Path, str]:
    """Copy knelpunt/ and benchmarks/ aside; the runs import the copy.

    Every case of one run then measures the same code, even when the working
    tree changes while the benchmark runs. Returns the folder and a short
    SHA-256 of knelpunt's sources.
    """
    target = DATA_DIR / "snapshot"
    shutil.rmtree(target, ignore_errors=True)
    skip = shutil.ignore_patterns("__pycache__", "data", "*.md")
    for package in ("knelpunt", "benchmarks"):
        shutil.copytree(REPO / package, target / package, ignore=skip)
    digest = hashlib.sha256()
    for source in sorted((target / "knelpunt").rglob("*.py")):
        digest.update(source.relative_to(target).as_posix().encode() + b"\0")
        digest.update(source.read_bytes())
    return target, digest.hexdigest()[:12]


@dataclass
class Run:
    status: str  # ok, timeout, failed
    seconds: float | None = None
    peak_rss_mb: float | None = None
    baseline_rss_mb: float | None = None
    events: int | None = None
    detail: str = ""


@dataclass
class Measured:
    case: str
    log: str
    title: str
    events: int
    operation: str
    what: str
    runs: list[Run] = field(default_factory=list)
    earlier: str = ""  # set when kept from an earlier run by --merge: which run

    @property
    def ok(self) -> list[Run]:
        return [r for r in self.runs if r.status == "ok"]

    @property
    def seconds(self) -> float | None:
        good = [r.seconds for r in self.ok if r.seconds is not None]
        return statistics.median(good) if good else None

    @property
    def peak_rss_mb(self) -> float | None:
        good = [r.peak_rss_mb for r in self.ok if r.peak_rss_mb is not None]
        return max(good) if good else None

    @property
    def baseline_rss_mb(self) -> float | None:
        good = [r.baseline_rss_mb for r in self.ok if r.baseline_rss_mb is not None]
        return max(good) if good else None

    @property
    def status(self) -> str:
        if self.ok:
            return "ok"
        return self.runs[0].status if self.runs else "not run"


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextlib.contextmanager
def _fresh_store(case: Case, attempt: int, postgres: PostgresServer | None) -> Iterator[str | None]:
    if case.backend == "sqlite":
        path = DATA_DIR / "stores" / f"{case.name}-{attempt}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_sqlite(path)
        try:
            yield str(path)
        finally:
            _remove_sqlite(path)
    elif case.backend == "postgres":
        assert postgres is not None
        name = postgres.create_database()
        try:
            yield f"{postgres.url}/{name}"
        finally:
            postgres.drop_database(name)
    else:
        yield None


def _measure_once(
    case: Case,
    path: Path,
    attempt: int,
    *,
    code: Path,
    timeout: float,
    postgres: PostgresServer | None,
) -> Run:
    logs = DATA_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    result = logs / f"{case.name}-{attempt}.json"
    output = logs / f"{case.name}-{attempt}.log"
    result.unlink(missing_ok=True)
    with _fresh_store(case, attempt, postgres) as store:
        command = [
            sys.executable,
            "-m",
            "benchmarks.operations",
            case.operation,
            str(path),
            str(result),
        ]
        if store is not None:
            command += ["--store", store]
        started = time.perf_counter()
        with output.open("w") as sink:
            child = subprocess.Popen(
                command, cwd=code, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                status = child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                return Run("timeout", detail=f"killed after {timeout:.0f} s")
            except BaseException:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                raise
        elapsed = time.perf_counter() - started
    if status != 0 or not result.exists():
        tail = output.read_text(errors="replace").strip().splitlines()[-1:] or [""]
        why = f"signal {-status}" if status < 0 else f"exit {status}"
        if status == -signal.SIGKILL:
            why += " (out of memory?)"
        return Run("failed", detail=f"{why} after {elapsed:.0f} s: {tail[0][:200]} (see {output})")
    data = json.loads(result.read_text())
    run = Run(
        "ok",
        seconds=data["seconds"],
        peak_rss_mb=data["peak_rss_kb"] / 1024,
        baseline_rss_mb=data["baseline_rss_kb"] / 1024,
        events=data["events"],
    )
    if run.events != case.log.events:
        run.detail = f"{run.events:,} events, expected {case.log.events:,}"
    if data.get("note"):
        run.detail = f"{run.detail} {data['note']}".strip()
    module = data.get("module")
    if module is not None and not Path(module).is_relative_to(code):
        run.detail += f" knelpunt imported from {module}, not from the snapshot"
    return run


def measure(
    cases: list[Case],
    *,
    code: Path,
    repeat: int | None,
    timeout: float,
    postgres: PostgresServer | None,
) -> list[Measured]:
    paths: dict[str, Path] = {}
    results = []
    for case in cases:
        if case.log.key not in paths:
            _say(f"preparing {case.log.title} ...")
            started = time.perf_counter()
            paths[case.log.key] = case.log.path()
            _say(f"  {paths[case.log.key]} ({time.perf_counter() - started:.1f} s)")
        measured = Measured(
            case.name, case.log.key, case.log.title, case.log.events, case.operation, case.what
        )
        for attempt in range(1, (repeat or case.log.repeat) + 1):
            _say(f"{case.name} run {attempt} ...")
            run = _measure_once(
                case, paths[case.log.key], attempt, code=code, timeout=timeout, postgres=postgres
            )
            measured.runs.append(run)
            if run.status == "ok":
                _say(f"  {run.seconds:.2f} s, peak RSS {run.peak_rss_mb:.0f} MB {run.detail}")
            else:
                _say(f"  {run.status}: {run.detail}")
                break  # a timeout or failure would repeat; do not wait for it again
        results.append(measured)
    return results


# -- the report --------------------------------------------------------------------------


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> str:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _git(*args: str) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False, timeout=30
        )
        if done.returncode == 0:
            return done.stdout.strip()
    return ""


def machine(postgres: PostgresServer | None, fingerprint: str) -> dict[str, str]:
    import sqlite3

    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    if _git("status", "--porcelain", "--", "knelpunt"):
        commit += " + uncommitted changes in knelpunt/"
    commit += f"; sources sha256 {fingerprint}…"
    info = {
        "Date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "CPU": _cpu_model(),
        "nproc": nproc or str(len(os.sched_getaffinity(0))),
        "Memory": _memory_gib(),
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "knelpunt": f"{_version('knelpunt')} (git {commit})",
        "Libraries": ", ".join(
            f"{p} {_version(p)}" for p in ("rustxes", "pm4py", "pandas", "polars", "psycopg")
        )
        + f", SQLite {sqlite3.sqlite_version}",
    }
    if postgres is not None:
        info["PostgreSQL"] = f"{postgres.version} ({postgres.settings()})"
    return info


def _num(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _find(results: list[Measured], name: str) -> Measured | None:
    return next((m for m in results if m.case == name), None)


def _results_table(results: list[Measured]) -> list[str]:
    lines = [
        "| Case | Log | Events | Operation | Wall s | Peak RSS MB | RSS after imports MB "
        "| Events/s | Runs | Notes |",
        "|---|---|--:|---|--:|--:|--:|--:|--:|---|",
    ]
    for m in results:
        notes = [r.detail for r in m.runs if r.detail]
        if m.earlier:
            notes.append(f"from the earlier run of {m.earlier}")
        if m.status != "ok":
            notes.insert(0, f"**{m.status}**")
        elif len(m.ok) > 1:
            times = [r.seconds or 0.0 for r in m.ok]
            notes.insert(0, f"median of {len(m.ok)} ({min(times):.2f}–{max(times):.2f} s)")
        rate = m.events / m.seconds if m.seconds else None
        lines.append(
            f"| `{m.case}` | {m.title} | {m.events:,} | {m.what} | "
            f"{_num(m.seconds) if m.status == 'ok' else m.status} | {_num(m.peak_rss_mb, 0)} | "
            f"{_num(m.baseline_rss_mb, 0)} | {_num(rate, 0)} | {len(m.runs)} | "
            f"{'; '.join(notes)} |"
        )
    return lines


def _verdict(met: bool | None) -> str:
    return {True: "**met**", False: "**not met**", None: "not measured"}[met]


def _targets(results: list[Measured], timeout: float) -> list[str]:
    rows = []
    for key, title in (
        ("bpic2012", "BPIC 2012"),
        ("xes-1m", "XES 1M"),
        ("xes-5m", "XES 5M"),
    ):
        parse = _find(results, f"{key}-rustxes")
        record = _find(results, f"{key}-knelpunt-sqlite")
        pm4py = _find(results, f"{key}-pm4py")
        if parse and record and parse.seconds and record.seconds:
            ratio = record.seconds / parse.seconds
            rows.append(
                f"| Recording XES ≤ {MAX_RECORD_VS_PARSE:g}× rustxes parse time | {title} | "
                f"{record.seconds:.2f} s / {parse.seconds:.2f} s = **{ratio:.2f}×** | "
                f"{_verdict(ratio <= MAX_RECORD_VS_PARSE)} |"
            )
        elif parse or record:
            rows.append(
                f"| Recording XES ≤ {MAX_RECORD_VS_PARSE:g}× rustxes parse time | {title} | "
                f"– | {_verdict(None)} |"
            )
        if record and record.seconds and pm4py and pm4py.seconds:
            speedup = pm4py.seconds / record.seconds
            rows.append(
                f"| Recording ≥ {MIN_SPEEDUP_VS_PM4PY:g}× faster than pm4py iterparse | {title} | "
                f"{pm4py.seconds:.2f} s / {record.seconds:.2f} s = **{speedup:.1f}×** | "
                f"{_verdict(speedup >= MIN_SPEEDUP_VS_PM4PY)} |"
            )
        elif record and record.seconds and pm4py and pm4py.status == "timeout":
            bound = timeout / record.seconds
            rows.append(
                f"| Recording ≥ {MIN_SPEEDUP_VS_PM4PY:g}× faster than pm4py iterparse | {title} | "
                f"pm4py > {timeout:.0f} s (timeout) / {record.seconds:.2f} s "
                f"= **> {bound:.1f}×** | "
                f"{_verdict(True if bound >= MIN_SPEEDUP_VS_PM4PY else None)} |"
            )
        elif record or pm4py:
            rows.append(
                f"| Recording ≥ {MIN_SPEEDUP_VS_PM4PY:g}× faster than pm4py iterparse | {title} | "
                f"– | {_verdict(None)} |"
            )
    csv_case = _find(results, "csv-1m-knelpunt-sqlite")
    if csv_case is not None:
        value = csv_case.seconds
        rows.append(
            f"| 1M CSV events into SQLite < {MAX_CSV_SECONDS:g} s | CSV 1M | "
            f"{'**' + _num(value) + ' s**' if value else csv_case.status} | "
            f"{_verdict(None if value is None else value < MAX_CSV_SECONDS)} |"
        )
    small, large = (
        _find(results, "xes-1m-knelpunt-sqlite"),
        _find(results, "xes-5m-knelpunt-sqlite"),
    )
    memory_note: list[str] = []
    if small and large and small.peak_rss_mb and large.peak_rss_mb:
        growth = large.peak_rss_mb / small.peak_rss_mb
        per_million = (large.peak_rss_mb - small.peak_rss_mb) / 4
        rows.append(
            f"| Memory bounded (peak RSS at 5M ≤ {MAX_RSS_GROWTH:g}× peak at 1M) | XES 1M → 5M | "
            f"{small.peak_rss_mb:,.0f} MB → {large.peak_rss_mb:,.0f} MB = **{growth:.2f}×** | "
            f"{_verdict(growth <= MAX_RSS_GROWTH)} |"
        )
        base = small.baseline_rss_mb or 0.0
        above = (small.peak_rss_mb - base, large.peak_rss_mb - base)
        memory_note = [
            "",
            f"Memory: recording 5M XES events peaked at {large.peak_rss_mb:,.0f} MB against "
            f"{small.peak_rss_mb:,.0f} MB for 1M ({growth:.2f}×). Above the ~{base:,.0f} MB the "
            f"interpreter and imports take, that is {above[0]:,.0f} MB → {above[1]:,.0f} MB "
            f"({above[1] / above[0]:.2f}× for 5× the events), about {per_million:,.0f} MB per "
            "extra million events. "
            + (
                "Peak memory does not grow with the log: it is bounded."
                if growth <= MAX_RSS_GROWTH
                else "Peak memory grows roughly linearly with the log size, so it is not bounded "
                "today."
            ),
        ]
    else:
        rows.append(
            "| Memory bounded | XES 1M → 5M | needs both the 1M and 5M cases | not measured |"
        )
    return [
        "| Target | Log | Measured | Verdict |",
        "|---|---|---|---|",
        *rows,
        *memory_note,
    ]


def render(
    results: list[Measured], info: dict[str, str], *, argv: list[str], timeout: float
) -> str:
    selection = " ".join(argv) if argv else "(full run)"
    lines = [
        "# Benchmarks",
        "",
        "knelpunt's `ingest_log` side by side with `rustxes` alone and with pm4py, and its "
        "process map, variants and case table side by side with pm4py's. Generated by "
        "`python -m benchmarks.run`; do not edit by hand.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.items()),
        f"| Arguments | `{selection}` |",
        "",
        "## Results",
        "",
        *_results_table(results),
        "",
        "How it is measured: every run is a fresh `python -m benchmarks.operations` process, "
        "importing a copy of `knelpunt/` taken when the benchmark started (the sha256 above). "
        "The libraries are imported first; *Wall s* is `time.perf_counter()` around the "
        'operation alone (for knelpunt: the `kp.ingest_log(store, path, mode="strict", '
        'duplicates="keep")` call, which includes hashing the file, parsing, converting and '
        "the committed insert; for the `map` cases: `discover_map`, `list_variants` and "
        "`summarise_cases` on a projection built beforehand, against pm4py's "
        "`discover_performance_dfg`, `get_variants` and `get_cases_description` on the "
        "DataFrame `read_xes` returned, both outside the clock; their peak RSS therefore "
        "includes reading the log). *Peak RSS MB* is `ru_maxrss` / 1024 of that process after the "
        "operation, plus `ru_maxrss` of its largest helper process (knelpunt parses large XES "
        "files in one; the sum is an upper bound on what both held at once), so it includes "
        "the interpreter and imports "
        "(shown as *RSS after imports*). With more than one run the median time and the highest "
        "peak are shown. Every knelpunt run writes to a new store: a new SQLite file in "
        "`benchmarks/data/stores/` (knelpunt's settings: WAL, `synchronous=FULL`) or a new "
        "database on a throwaway PostgreSQL server started by the benchmark with default "
        f"durability (fsync on). Each run has a {timeout:.0f} s time-out. The pm4py CSV path "
        "only parses (no store); `format_dataframe` takes the format as `timest_format` in "
        "pm4py 2.7.",
        "",
        "## Targets",
        "",
        *_targets(results, timeout),
        "",
        "## Reproduce",
        "",
        "```sh",
        "make benchmark                               # or, with the venv set up:",
        ".venv/bin/python -m benchmarks.run           # all cases, writes benchmarks/RESULTS.md",
        ".venv/bin/python -m benchmarks.run --quick   # skip the 5M-event cases",
        ".venv/bin/python -m benchmarks.run --only xes-1m --only csv-1m-knelpunt  # a subset",
        ".venv/bin/python -m benchmarks.run --list    # case names for --only",
        "```",
        "",
        "The BPIC 2012 log is read from `../shared/event_logs/bpi_challenge_2012.xes.gz` "
        "(BPI Challenge 2012, 4TU.ResearchData, doi:10.4121/uuid:3926db30-f712-4394-aebc-"
        "75976070e91f). The synthetic logs are generated deterministically "
        "(`benchmarks/generate.py`, fixed seed) on first use and cached in `benchmarks/data/`; "
        "`python -m benchmarks.generate --xes 1000000 --csv 1000000` builds them alone. The "
        "PostgreSQL case needs the server binaries in `/usr/lib/postgresql/*/bin` "
        "(`scripts/setup-system.sh`); as root the server runs as the `postgres` user.",
        "",
    ]
    return "\n".join(lines)


# -- command line ------------------------------------------------------------------------


def _merged(new: list[Measured], *, cases: list[Case]) -> list[Measured]:
    """The new results plus the earlier ones of cases not run now, in the cases' order."""
    path = DATA_DIR / "results.json"
    kept: dict[str, Measured] = {}
    if path.exists():
        earlier = json.loads(path.read_text())
        machine = earlier["machine"]
        when = f"{machine.get('Date', '?')} (knelpunt {machine.get('knelpunt', '?')})"
        for item in earlier["results"]:
            runs = [Run(**run) for run in item.pop("runs")]
            item["earlier"] = item.get("earlier") or when
            kept[item["case"]] = Measured(**item, runs=runs)
    kept.update({m.case: m for m in new})
    order = [c.name for c in cases]
    return sorted(
        kept.values(), key=lambda m: order.index(m.case) if m.case in order else len(order)
    )


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description="knelpunt ingestion benchmark"
    )
    parser.add_argument("--quick", action="store_true", help="skip the 5M-event cases")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only cases whose name contains NAME (repeatable; see --list)",
    )
    parser.add_argument("--list", action="store_true", help="list the case names and exit")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the earlier results (benchmarks/data/results.json) of cases not run now",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="runs per case (default: 3, and 1 for the 5M cases)",
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per run (default 900)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS_MD,
        help="Markdown file (default benchmarks/RESULTS.md)",
    )
    args = parser.parse_args(argv)

    cases = _cases()
    if args.list:
        for case in cases:
            skipped = "  [skipped by --quick]" if case.log.big else ""
            print(f"{case.name:28} {case.log.title}: {case.what}{skipped}")
        return 0
    if args.quick:
        cases = [c for c in cases if not c.log.big]
    if args.only:
        cases = [c for c in cases if any(name in c.name for name in args.only)]
        if not cases:
            parser.error(f"no case matches {args.only}; see --list")
    if any(c.log.key == "bpic2012" for c in cases) and not BPIC_2012.exists():
        _say(f"{BPIC_2012} not found: the BPIC 2012 cases are skipped")
        cases = [c for c in cases if c.log.key != "bpic2012"]

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    postgres = PostgresServer() if any(c.backend == "postgres" for c in cases) else None
    try:
        if postgres is not None:
            postgres.start()
        code, fingerprint = snapshot()
        info = machine(postgres, fingerprint)
        started = time.perf_counter()
        results = measure(
            cases, code=code, repeat=args.repeat, timeout=args.timeout, postgres=postgres
        )
        _say(f"done in {(time.perf_counter() - started) / 60:.1f} min")
    finally:
        if postgres is not None:
            postgres.stop()
    if args.merge:
        results = _merged(results, cases=_cases())
    (DATA_DIR / "results.json").write_text(
        json.dumps(
            {"machine": info, "argv": argv, "results": [asdict(m) for m in results]}, indent=2
        )
    )
    report = render(results, info, argv=argv, timeout=args.timeout)
    print(report)
    args.output.write_text(report)
    _say(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
