"""The dashboard's access to the store: events and results, computed once per store
state and kept while the store does not change.

A page's callback asks the workspace for one library result (say,
``workspace.result("blockers", sources, profile)``); the workspace loads the
events of those sources, caught up to the store's newest position, and calls
the library function once. Nothing is analysed here: the functions are the
library's.

Results are kept under the chosen sources' history (each source's id, time of
recording and event count, and the purges), the profile's words and the
options, and for results that use the store-wide teams and case attributes,
those as they are for the chosen cases: in memory, and on disk beside the store
(:data:`CACHE_SUFFIX`, a ``diskcache`` folder that every worker process serving the
store shares, its entries also keyed by the library's code), so that a restarted
server, or another worker, serves what was computed before instead of computing
it again. A purge clears what is kept on disk (it may hold the purged cases and
people); the folder is its owner's alone, or it is not used.

The events' projection (all sources, and each source alone) and the store-wide
facts are kept there too, as they were when last read, with the sources' history
at that moment: a restarted server reads them back and catches them up with the
store (reading only newer events) instead of reading every event again.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
import os
import re
import tempfile
import threading
import time as time_module
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import diskcache
import pandas as pd

import knelpunt as kp
from knelpunt.errors import AnalysisError, KnelpuntError, UnsupportedFormatError

_log = logging.getLogger("knelpunt.dashboard")
# Results kept in memory at once, drawn pages among them (the warm-up fills about
# 100 with 5 sources and 145 with 10: 6 results and 6 pages for all sources and for
# each of the newest 8 alone, and the map's 19 steps).
_KEPT: Final = 200
# The steps of the process map's activities slider, in percent.
ACTIVITY_STEPS: Final = tuple(range(10, 101, 5))
# The pages' results the warm-up computes, for all sources and for each one alone.
_WARMED: Final = ("summary", "scorecard", "map", "blockers", "criteria", "teamwork")
# Sources warmed alone (the newest).
_WARMED_ALONE: Final = 8
# Beside a SQLite store ``x.db``, its results are kept in ``x.db`` + this folder suffix;
# a PostgreSQL store's in the user's cache folder (platformdirs), by the store's id.
CACHE_SUFFIX: Final = ".knelpunt-cache"
# At most this much of the disk for results kept between restarts (least recently used
# go first).
_DISK_BYTES: Final = 4 * 2**30
# Results that read the store-wide teams or case attributes (Workspace.groups and
# .attributes): their key holds those, as they are for the chosen events.
_USES_FACTS: Final = frozenset({"blockers", "criteria", "scorecard", "teamwork", "report"})
# Results kept in memory only: large (an instance per row) and quick to compute again.
_MEMORY_ONLY: Final = frozenset({"instances"})
# A projection kept on disk is written again when it has grown by this share of its
# events (a live capture adds one event at a time; a restart catches up the rest).
_REKEEP_SHARE: Final = 0.01
# How long the mark of a process that warms up holds, should that process die meanwhile.
_WARMING_S: Final = 1800


def _code_digest() -> str:
    """The library's code, as a digest: results kept on disk by another version of
    knelpunt are not read back (they might be computed otherwise now)."""
    digest = hashlib.sha256(kp.__version__.encode())
    for path in sorted(Path(kp.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


_CODE: Final = _code_digest()


@lru_cache(maxsize=64)
def _profile_digest(name: str, _stamp: float) -> str:
    """A profile's file, as a digest (a result depends on what the profile says, not
    on its name); ``_stamp`` is the file's modification time, so an edit is seen."""
    found = _profile_file(name)
    return hashlib.sha256(found.read_bytes()).hexdigest()[:16] if found else name


def _profile_file(name: str) -> Path | None:
    for candidate in (Path(name), Path(kp.__file__).parent / "profiles" / f"{name}.yaml"):
        if candidate.is_file():
            return candidate
    return None


# How each page draws itself for a choice (registered by dashboards.components.draws):
# the warm-up draws the pages too, so that the first visitor finds them drawn.
DRAWINGS: Final[dict[str, Callable[[str, list[int] | None, str, Workspace], Any]]] = {}
# The order in which the warm-up draws the pages (by their body's id): the landing
# page first, then the blockers and the criteria; the others after.
_DRAWN_FIRST: Final = {"overview-body": 0, "blockers-body": 1, "criteria-body": 2}
# The language the warm-up draws the pages in (the dashboard's default; pages in
# English are drawn at their first visit).
_WARMED_LANG: Final = "nl"
# The file types an upload may have; its name is kept only as the source's name.
UPLOAD_SUFFIXES: Final = (".xes.gz", ".csv.gz", ".csv", ".xlsx", ".xes", ".parquet")
_UPLOAD_ID: Final = re.compile(r"[0-9a-f]{32}")


def _blockers(ws: Workspace, table: kp.EventTable, profile: str) -> Any:
    return kp.find_blockers(table, profile=profile, groups=ws.groups())


def _criteria(ws: Workspace, table: kp.EventTable, profile: str, *, linked: bool) -> Any:
    attributes = ws.attributes()
    # Linked to the blockers the Knelpunten page shows (found once, kept in the cache).
    blockers = ws.result("blockers", table.sources, profile) if linked else False
    return kp.evaluate_criteria(
        table, profile=profile, attributes=attributes, groups=ws.groups(), blockers=blockers
    )


def _instances(
    ws: Workspace,
    table: kp.EventTable,
    profile: str,
    *,
    activities: float = 1.0,
    working: bool = False,
) -> kp.ActivityInstances:
    """The activity instances of the most frequent ``activities`` share of the activities,
    their durations in the profile's working time when ``working``."""
    if activities < 1:
        table = kp.filter_events(table, activity_share=activities)
    calendar = ws.read_profile(profile).calendar if working else None
    return kp.pair_instances(table, calendar=calendar)


def _report(ws: Workspace, table: kp.EventTable, profile: str, *, lang: str = "nl") -> str:
    """The HTML report (:func:`knelpunt.report`) of the results the pages show."""

    def shown(name: str) -> Any:
        return ws.result(name, table.sources, profile)

    summary = shown("summary")
    found = kp.report(
        table,
        profile=ws.read_profile(profile),
        lang=lang,
        attributes=ws.attributes(),
        groups=ws.groups(),
        source_names={s.source_id: s.name for s in ws.sources()},
        summary=summary,
        blockers=shown("blockers") if summary.cases else None,
        criteria=shown("criteria") if summary.cases else None,
        process_map=shown("map") if summary.cases else None,
    )
    return found.html


def _map(
    ws: Workspace,
    table: kp.EventTable,
    profile: str,
    *,
    activities: float = 1.0,
    working: bool = False,
) -> kp.ProcessMap:
    """The map of the activity instances (see :func:`_instances`). The instances are
    not kept: a map is small, its instances are not (a click on a path asks for them)."""
    return kp.discover_map(_instances(ws, table, profile, activities=activities, working=working))


# What a page can ask for: each one library call on the chosen events (with options).
RESULTS: Final[dict[str, Callable[..., Any]]] = {
    "summary": lambda ws, table, profile: kp.summarise_log(
        table, zone=ws.read_profile(profile).calendar.timezone
    ),
    "instances": _instances,
    "map": _map,
    "blockers": _blockers,
    "criteria": partial(_criteria, linked=True),
    "scorecard": partial(_criteria, linked=False),
    "variants": lambda ws, table, profile: kp.list_variants(table),
    "teamwork": lambda ws, table, profile: kp.summarise_teamwork(
        table, profile=profile, groups=ws.groups()
    ),
    "cases": lambda ws, table, profile: kp.summarise_cases(table),
    "report": _report,
}


# Days an uploaded file is kept for recording.
_UPLOAD_DAYS: Final = 1


def _remove_older(folder: Path, *, seconds: float) -> None:
    """Remove the files in ``folder`` not changed for ``seconds``."""
    cutoff = time_module.time() - seconds
    for path in folder.iterdir():
        with contextlib.suppress(OSError):  # another worker removed it first
            if path.stat().st_mtime < cutoff:
                path.unlink()


# Pages ask for a profile on every draw (the capture page every two seconds); the
# choice is among the shipped ones, whose files do not change while the server runs.
_read_profile = lru_cache(maxsize=16)(kp.read_profile)


# The workspaces of this process by id. A background job (a thread outside any Flask
# request, see dashboards/jobs.py) finds its store here.
_OPEN: dict[str, Workspace] = {}
# Set in a thread that may only read results kept (see Workspace.prime), not compute them.
_KEPT_ONLY = threading.local()


class _NotKeptError(Exception):
    """A result asked for in a thread that only reads what is kept, and not kept."""


def find_workspace(workspace_id: object) -> Workspace:
    """The workspace with this id (see :attr:`Workspace.id`)."""
    found = _OPEN.get(str(workspace_id))
    if found is None:
        raise KnelpuntError("This page belongs to a server that has stopped; reload the page.")
    return found


class Workspace:
    """One store, as the dashboard sees it."""

    def __init__(
        self,
        store: str,
        *,
        profile: str = "sociaal-domein",
        cache: str | Path | Literal[False] | None = None,
    ) -> None:
        """A workspace on ``store``.

        Args:
            store: a SQLite file or a ``postgresql://`` URL.
            profile: the profile of a page that names none.
            cache: the folder of results kept between restarts and shared by the
                worker processes (None: as ``KNELPUNT_CACHE`` says, else beside a
                SQLite store, else in the user's cache folder; False: kept in
                memory only).
        """
        self.url = store
        self.profile = profile
        # The same for every worker process serving this store, so that a page drawn
        # by one worker can start work that another one runs.
        self.id = hashlib.sha256(store.encode("utf-8")).hexdigest()[:16]
        _OPEN[self.id] = self
        self._lock = threading.RLock()
        self._tables: dict[tuple[int, ...] | None, kp.EventTable] = {}
        self._results: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        # The results being computed now, each with the event that says it is done.
        self._running: dict[tuple[Any, ...], threading.Event] = {}
        self._identity = ""
        self._purges_seen: int | None = None
        self._histories: dict[int, tuple[Any, ...]] = {}
        self._warming: threading.Thread | None = None
        self._warm_again = False
        self._stop = threading.Event()
        self._facts_keys: dict[tuple[Any, ...], str] = {}
        self._latest_facts: kp.StoreFacts | None = None
        # Per projection kept on disk (by its sources), its events when kept; under
        # ("facts",), the store position of the facts kept.
        self._kept_sizes: dict[tuple[Any, ...] | None, int] = {}
        self.folder = _cache_folder(store, self.id) if cache is None else cache or None
        self._disk: diskcache.Cache | None = None
        if self.folder is not None:
            self._disk = _open_kept(Path(self.folder))
            if self._disk is None:
                self.folder = None
        # Uploads wait in a folder per store that every worker process serving it shares
        # (the check and the recording may land on different workers); a day later
        # they are gone.
        self._uploads = Path(tempfile.gettempdir()) / f"knelpunt-uploads-{self.id}"
        self._uploads.mkdir(mode=0o700, exist_ok=True)
        _remove_older(self._uploads, seconds=_UPLOAD_DAYS * 86_400)

    def read_profile(self, name: str | None) -> kp.Profile:
        """A profile by name (None: the workspace's), read from its file once."""
        return _read_profile(name or self.profile)

    @contextmanager
    def store(self) -> Iterator[kp.EventStore]:
        """A connection to the store for one piece of work."""
        with kp.open_store(self.url) as store:
            yield store

    def save_upload(self, name: str, content: bytes) -> str:
        """Keep an uploaded file under a new id; its name never becomes a path."""
        lowered = name.lower()
        suffix = next((s for s in UPLOAD_SUFFIXES if lowered.endswith(s)), None)
        if suffix is None:
            raise UnsupportedFormatError(
                f"{name}: not a log file knelpunt reads. Upload a CSV, Excel (.xlsx), XES "
                "(.xes or .xes.gz) or Parquet file."
            )
        upload = uuid.uuid4().hex
        (self._uploads / f"{upload}{suffix}").write_bytes(content)
        return upload

    def upload_path(self, upload: object) -> Path:
        """Where an upload is kept (by its id only)."""
        upload = str(upload)
        # The id comes back from the browser: only a 32-hex id is looked for.
        found = list(self._uploads.glob(f"{upload}.*")) if _UPLOAD_ID.fullmatch(upload) else []
        if not found:
            raise KnelpuntError(
                "The uploaded file is gone (the server restarted?); upload it again."
            )
        return found[0]

    def sources(self) -> list[kp.Source]:
        """The sources in the store, oldest first."""
        with self.store() as store:
            return kp.list_sources(store)

    def events(self, sources: Sequence[int] | None) -> kp.EventTable:
        """The events of these sources (None: all), caught up with the store."""
        key = tuple(sorted(set(sources))) if sources else None
        with self._lock, self.store() as store:
            known = self._tables.get(key)
            # Caught up: nothing recorded and nothing purged since (a purge leaves the
            # last position as it was).
            if (
                known is not None
                and known.high == store.last_position()
                and known.purges == len(store.purges())
            ):
                return known
            self._identify(store)
            if known is None and (key is None or len(key) == 1):
                known = self._read_latest(("table", key))
                if known is not None:
                    self._kept_sizes[key] = len(known)
            table = kp.load_events(store, sources=key, since=known)
            self._tables[key] = table
            kept = self._kept_sizes.get(key)
            if (key is None or len(key) == 1) and (
                kept is None or abs(len(table) - kept) > _REKEEP_SHARE * max(kept, 1)
            ):
                self._keep_latest(("table", key), table)
                self._kept_sizes[key] = len(table)
            return table

    def _read_latest(self, name: tuple[Any, ...]) -> Any | None:
        """What :meth:`_keep_latest` kept under ``name``, if this store's history still
        begins with it: every source it knew is still here, recorded at the same
        time, with at least as many events, and nothing was purged since (else
        None: it is read anew). Call after :meth:`_identify`."""
        if self._disk is None:
            return None
        found = _read_kept(self._disk, (_CODE, "latest", *name))
        if found is _MISSING:
            return None
        described, purges, value = found
        with self._lock:
            now = self._histories
            for source, created, count in described:
                known = now.get(source)
                if known is None or known[1] != created or known[2] < count:
                    return None
            if purges != self._purges_seen:
                return None
        return value

    def _keep_latest(self, name: tuple[Any, ...], value: Any) -> None:
        """Keep ``value`` (a projection, the facts) on disk under ``name`` with the
        sources' history now, for :meth:`_read_latest` after a restart."""
        if self._disk is None:
            return
        with self._lock:
            described = [h[:3] for h in self._histories.values()]
            purges = self._purges_seen
        _keep(self._disk, (_CODE, "latest", *name), (described, purges, value))

    def _identify(self, store: kp.EventStore) -> str:
        """What tells this store's history from another one's (a store made anew, a
        backup put back and recorded on otherwise): every source's id, time of
        recording and event count, and the purges. Read again whenever the store
        has moved on; a purge also clears the results kept on disk, which may hold
        the purged events' cases and people."""
        described = [
            (s.source_id, s.created_at.isoformat(), s.event_count) for s in store.sources()
        ]
        purges = len(store.purges())
        self._histories = {d[0]: (*d, purges) for d in described}
        if self._purges_seen is not None and purges != self._purges_seen and self._disk:
            with contextlib.suppress(Exception):
                self._disk.clear(retry=True)
        self._purges_seen = purges
        found = hashlib.sha256(repr((described, purges)).encode()).hexdigest()[:16]
        with self._lock:
            self._identity = found
            # Facts keys of earlier store states are not asked for again.
            self._facts_keys.clear()
        return found

    def _history(self, sources: Sequence[int] | None) -> str:
        """The chosen sources' history (see :meth:`_identify`): a result on them is
        theirs alone, so another source recording on does not change it."""
        with self._lock:
            chosen = sorted(self._histories) if sources is None else sorted(sources)
            described = [self._histories.get(s) for s in chosen]
        return hashlib.sha256(repr(described).encode()).hexdigest()[:16]

    def groups(self) -> dict[str, str]:
        """Per resource its team (``org:group``; none when no event carries it)."""
        return self._facts()[0]

    def attributes(self) -> Any:
        """One row per case with its attributes (:func:`knelpunt.read_case_attributes`)."""
        return self._facts()[1]

    def _facts(self) -> tuple[dict[str, str], Any]:
        """Teams and case attributes, caught up once per store state: the events
        recorded since they were last read are read and merged in (a first read is
        a pass over every event and its attributes: seconds for a million)."""
        table = self.events(None)

        def read() -> kp.StoreFacts:
            with self._lock:
                known = self._latest_facts
            if known is None:
                known = self._read_latest(("facts",))
                if known is not None:
                    self._kept_sizes[("facts",)] = known.high
            with self.store() as store:
                found = kp.load_store_facts(store, since=known)
            with self._lock:
                if self._latest_facts is None or found.high >= self._latest_facts.high:
                    self._latest_facts = found
            # Kept again as the projection is: once it has grown by a share of the events
            # (a live capture adds one at a time; a restart catches up the rest).
            kept = self._kept_sizes.get(("facts",))
            if found is not known and (
                kept is None or found.high - kept > _REKEEP_SHARE * max(kept, 1)
            ):
                self._keep_latest(("facts",), found)
                self._kept_sizes[("facts",)] = found.high
            return found

        facts: kp.StoreFacts = self._cached(
            ("facts", self._identity, table.high, table.purges), read, disk=False
        )
        return facts.groups, facts.attributes

    def _facts_key(self, table: kp.EventTable) -> str:
        """The store-wide teams and case attributes as they are for ``table``'s events: a
        result that uses them is computed again when they change, also when the change
        came with another source (a team named anew, a case's attribute added)."""
        everything = self.events(None)
        key = (everything.high, everything.purges, table.sources, table.high)
        with self._lock:
            known = self._facts_keys.get(key)
        if known is not None:
            return known
        groups, attributes = self._facts()
        digest = hashlib.sha256()
        mine = set(table.resources.tolist())
        digest.update(repr(sorted((r, g) for r, g in groups.items() if r in mine)).encode())
        rows = attributes
        if table.sources is not None and len(rows):
            rows = rows[rows["source_id"].isin(table.sources)]
        if len(rows):
            hashed = pd.util.hash_pandas_object(rows.astype(str), index=False)
            digest.update(hashed.to_numpy().tobytes())
        digest.update(repr(list(rows.columns)).encode())
        found = digest.hexdigest()[:24]
        with self._lock:
            self._facts_keys[key] = found
        return found

    def compare(
        self,
        a: Mapping[str, Any],
        b: Mapping[str, Any],
        profile: str | None,
        *,
        labels: tuple[str, str],
    ) -> kp.Comparison:
        """Two sets of cases side by side (:func:`knelpunt.compare`), cached. A set is
        ``sources`` (None: all), ``since`` and ``until`` (ISO dates, both days included,
        in the profile's time zone: when its cases started) and a ``team`` (the case
        holder's), each optional."""
        table = self.events(None)
        profile = profile or self.profile
        chosen = self.read_profile(profile)
        zone = ZoneInfo(chosen.calendar.timezone)

        def day(text: Any, *, after: bool = False) -> datetime | None:
            if not text:
                return None
            try:
                moment = datetime.combine(date.fromisoformat(str(text)), time(), tzinfo=zone)
            except ValueError:
                raise AnalysisError(
                    f"{text!r} is not a date; choose one in the calendar (e.g. 2025-03-31)."
                ) from None
            return moment + timedelta(days=1) if after else moment

        def select(wanted: Mapping[str, Any]) -> kp.EventTable:
            return kp.select_cases(
                table,
                sources=wanted.get("sources") or None,
                since=day(wanted.get("since")),
                until=day(wanted.get("until"), after=True),
                team=wanted.get("team") or None,
                profile=chosen,
                groups=self.groups(),
            )

        def run() -> kp.Comparison:
            attributes = self.attributes()
            return kp.compare(
                select(a),
                select(b),
                labels=labels,
                profile=chosen,
                attributes=attributes,
                groups=self.groups(),
            )

        def frozen(wanted: Mapping[str, Any]) -> tuple[Any, ...]:
            return tuple(
                tuple(sorted(v)) if isinstance(v, list) else v for _, v in sorted(wanted.items())
            )

        key = ("compare", self._identity, frozen(a), frozen(b), table.high, table.purges)
        found: kp.Comparison = self._cached((*key, profile, labels), run)
        return found

    def what_if(
        self,
        scenario: str,
        changes: Sequence[str],
        *,
        seeds: Sequence[int],
        overrides: Sequence[str],
        on_run: Callable[[kp.SimulationRun], None] | None = None,
    ) -> kp.WhatIf:
        """A scenario as written and changed, run on the same seeds and recorded in the
        store (:func:`knelpunt.compare_scenarios`)."""
        with self.store() as store:
            return kp.compare_scenarios(
                scenario, changes, seeds=seeds, overrides=overrides, store=store, on_run=on_run
            )

    def result(
        self, name: str, sources: Sequence[int] | None, profile: str | None, **options: Any
    ) -> Any:
        """The library result ``name`` (see :data:`RESULTS`) on these sources, with its
        options (say, ``activities=0.5`` for the map)."""
        table = self.events(sources)
        profile = profile or self.profile
        # The options as the function takes them, defaults filled in: the same result
        # has one key however it is asked for.
        bound = inspect.signature(RESULTS[name]).bind(self, table, profile, **options)
        bound.apply_defaults()
        options = {k: v for k, v in bound.arguments.items() if k not in ("ws", "table", "profile")}
        facts = self._facts_key(table) if name in _USES_FACTS else ""
        written = _profile_file(profile)
        key = (
            name,
            self._history(table.sources),
            _profile_digest(profile, written.stat().st_mtime if written else 0.0),
            table.sources,
            table.high,
            table.purges,
            facts,
            profile,
            *sorted(options.items()),
        )
        return self._cached(
            key,
            lambda: RESULTS[name](self, table, profile, **options),
            disk=name not in _MEMORY_ONLY,
        )

    def drawn(
        self,
        page: str,
        lang: str,
        sources: Sequence[int] | None,
        profile: str | None,
        draw: Callable[[], Any],
    ) -> tuple[str, Any]:
        """What a page drew for this choice, and the token that names it (see
        :meth:`page_token`). Kept while the store does not change: a page is a
        function of the choice and the store's state, so going back to it (or to a
        source chosen before) sends it again without building its figures."""
        token = self.page_token(page, lang, sources, profile)
        return token, self._cached(("drawn", token), draw, disk=False)

    def page_token(
        self, page: str, lang: str, sources: Sequence[int] | None, profile: str | None
    ) -> str:
        """What names a page drawn for this choice and this state of the store (the
        whole store's: a page on one source shows the store-wide teams too)."""
        table = self.events(sources)
        everything = self.events(None)
        described = (
            page,
            lang,
            self._identity,
            table.sources,
            table.high,
            everything.high,
            everything.purges,
            profile,
        )
        return hashlib.sha256(repr(described).encode()).hexdigest()[:24]

    def shown(self, token: str | None) -> Any | None:
        """The page :meth:`drawn` named ``token``, while it is still kept (else None)."""
        if not token:
            return None
        with self._lock:
            return self._results.get(("drawn", token))

    def warm(self, *, profile: str | None = None) -> threading.Thread:
        """Compute in a background thread what visitors ask for most, so that the
        first one finds it ready (on a million events the blocker analysis takes
        about ten seconds): the pages drawn for all sources (in Dutch, the overview
        first; drawing a page computes its results), then the same for each of the
        newest sources alone (at most eight, the newest first), then the map at every
        step of the activities slider. A failure is left for the page to show.

        Asked again while it runs (new sources recorded meanwhile), it runs once
        more when done, on the store as it is then; the thread returned is the
        one that does."""

        def run() -> None:
            try:
                while True:
                    try:
                        with self._warming_here() as mine:
                            if mine:
                                warm_once()
                    except Exception:  # the store unreachable for a moment, say
                        _log.warning("dashboard: the warm-up failed", exc_info=True)
                    with self._lock:
                        if not self._warm_again:
                            return
                        self._warm_again = False
            finally:
                with self._lock:
                    self._warming = None
                    self._warm_again = False

        def warm_once() -> None:
            sources = [s.source_id for s in self.sources()]
            # All sources first (the pages' default), then the newest alone, the newest
            # first (a source just recorded is the one looked at next); each choice's
            # pages drawn as soon as their results are in, the map's slider steps last.
            alone = sources[-_WARMED_ALONE:][::-1] if len(sources) > 1 else []
            drawn = profile or self.profile
            for chosen in [None, *([s] for s in alone)]:
                # Page by page, the landing page first: drawing a page computes what it
                # needs, so a visitor during the warm-up finds the first pages ready.
                pages = sorted(DRAWINGS.items(), key=lambda item: _DRAWN_FIRST.get(item[0], 99))
                for page, draw in pages:
                    try:
                        self.drawn(
                            page,
                            _WARMED_LANG,
                            chosen,
                            drawn,
                            partial(draw, _WARMED_LANG, chosen, drawn, self),
                        )
                    except Exception:
                        _log.warning(
                            "dashboard: drawing %s for sources %s failed",
                            page,
                            chosen,
                            exc_info=True,
                        )
                for name in _WARMED:  # what no page drew (the process map's)
                    compute(name, chosen, {})
            for step in ACTIVITY_STEPS:
                compute("map", None, {"activities": step / 100})

        def compute(name: str, chosen: list[int] | None, options: dict[str, Any]) -> None:
            try:
                self.result(name, chosen, profile, **options)
            except Exception:  # the page that needs it will show the failure
                _log.warning(
                    "dashboard: warming %s for sources %s failed", name, chosen, exc_info=True
                )

        with self._lock:
            if self._warming is not None:
                self._warm_again = True
                return self._warming
            thread = self._warming = threading.Thread(target=run, name="knelpunt-warm", daemon=True)
        thread.start()
        return thread

    def _cached(
        self, key: tuple[Any, ...], compute: Callable[[], Any], *, disk: bool = True
    ) -> Any:
        """The result kept under ``key``: in memory, else on disk (``disk``), else
        computed (outside the lock) and kept in both; the least recently used go
        first. A result being computed is waited for, not computed a second time (a
        visitor arriving during the warm-up would otherwise run the same minute of
        blocker analysis beside it)."""
        while True:
            with self._lock:
                if key in self._results:
                    self._results.move_to_end(key)
                    return self._results[key]
                running = self._running.get(key)
                if running is None:
                    running = self._running[key] = threading.Event()
                    break
            running.wait()  # then found above, or computed here if that attempt failed
        try:
            kept = self._disk if disk else None
            found = _MISSING if kept is None else _read_kept(kept, (_CODE, *key))
            if found is _MISSING:
                if getattr(_KEPT_ONLY, "on", False) and key[0] != "drawn":
                    raise _NotKeptError(key[0])
                found = compute()
                if kept is not None:
                    _keep(kept, (_CODE, *key), found)
            with self._lock:
                self._results[key] = found
                while len(self._results) > _KEPT:
                    self._results.popitem(last=False)
            return found
        finally:
            with self._lock:
                del self._running[key]
            running.set()

    @contextmanager
    def _warming_here(self) -> Iterator[bool]:
        """Whether this process warms up now: with several worker processes on one store,
        one warms at a time and the others read its results from the disk they share
        (an entry there says who warms; it expires, should that process die)."""
        kept = self._disk
        if kept is None:
            yield True
            return
        mine = f"{os.getpid()}-{threading.get_ident()}"
        try:
            taken = kept.add(("warming",), mine, expire=_WARMING_S, retry=True)
        except Exception:  # the disk cache unusable for a moment: warm here
            taken = True
        try:
            yield taken
        finally:
            if taken:
                with contextlib.suppress(Exception):
                    if kept.get(("warming",), retry=True) == mine:
                        kept.delete(("warming",), retry=True)

    def prime(self) -> threading.Thread:
        """Read in a background thread what every page needs first: the events of all
        sources and the store-wide facts (kept on disk: read back and caught up in a
        fraction of a second) and Plotly's figure template (loaded at its first use);
        then draw the pages for all sources from the results kept on disk, the
        overview first. Nothing is computed: a page whose results are not kept is
        left for its first visit (or the warm-up). So a restarted server's first
        visitor finds the pages drawn as they were before the restart."""

        def run() -> None:
            try:
                import plotly.graph_objects as go

                from knelpunt.reports.figures import house_style

                house_style(go.Figure())
                self.events(None)
                self._facts()
            except Exception:  # the page that needs them will show the failure
                _log.warning("dashboard: reading the store at start failed", exc_info=True)
                return
            _KEPT_ONLY.on = True
            try:
                drawn = self.profile
                for page, draw in sorted(
                    DRAWINGS.items(), key=lambda item: _DRAWN_FIRST.get(item[0], 99)
                ):
                    with contextlib.suppress(_NotKeptError):
                        self.drawn(
                            page,
                            _WARMED_LANG,
                            None,
                            drawn,
                            partial(draw, _WARMED_LANG, None, drawn, self),
                        )
                for name in _WARMED:
                    with contextlib.suppress(_NotKeptError):
                        self.result(name, None, drawn)
            except Exception:  # the page will show it
                _log.warning("dashboard: drawing the pages at start failed", exc_info=True)
            finally:
                _KEPT_ONLY.on = False

        thread = threading.Thread(target=run, name="knelpunt-prime", daemon=True)
        thread.start()
        return thread

    def watch(
        self,
        *,
        profile: str | None = None,
        every: float = 5.0,
        gap: float = 60.0,
    ) -> threading.Thread:
        """Warm up (:meth:`warm`) whenever the store has moved on, whoever recorded in
        it (``knelpunt ingest``, another worker, a capture), so that the pages are
        ready before they are visited. The store is looked at every ``every``
        seconds; a change is acted on once the store has been still for one look (a
        recording is finished first), and at most every ``gap`` seconds (a live
        capture adds an event at a time). Stops at :meth:`close`."""

        def look() -> tuple[int, int] | None:
            try:
                with self.store() as store:
                    return store.last_position(), len(store.purges())
            except Exception:  # the store unreachable for a moment
                _log.warning("dashboard: the store could not be looked at", exc_info=True)
                return None

        # The store as it is now, before the thread starts: what is recorded from here
        # on is warmed up, however late the thread's first look comes.
        start = look()

        def run() -> None:
            seen: tuple[int, int] | None = start
            warmed: tuple[int, int] | None = start
            last = -gap
            while not self._stop.wait(every):
                now = look()
                if now is None:
                    continue
                if warmed is None:
                    warmed = now
                settled = now == seen
                seen = now
                if settled and now != warmed and time_module.monotonic() - last >= gap:
                    warmed, last = now, time_module.monotonic()
                    self.warm(profile=profile)

        thread = threading.Thread(target=run, name="knelpunt-watch", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        """Stop watching the store, and let go of the disk cache (its files stay for the
        next start)."""
        self._stop.set()
        if self._disk is not None:
            self._disk.close()


_MISSING: Final = object()


def _read_kept(kept: diskcache.Cache, key: tuple[Any, ...]) -> Any:
    """A result kept on disk, or _MISSING (also when it cannot be read back: a file from
    another version of knelpunt or its libraries is computed again)."""
    try:
        return kept.get(key, default=_MISSING, retry=True)
    except Exception:
        _log.warning(
            "dashboard: a kept result could not be read; computing it again", exc_info=True
        )
        with contextlib.suppress(Exception):
            kept.delete(key, retry=True)
        return _MISSING


def _keep(kept: diskcache.Cache, key: tuple[Any, ...], found: Any) -> None:
    """Keep a result on disk; a full disk or a result that cannot be pickled leaves it in
    memory only."""
    try:
        kept.set(key, found, retry=True)
    except Exception:
        _log.warning("dashboard: a result could not be kept on disk", exc_info=True)


def _open_kept(folder: Path) -> diskcache.Cache | None:
    """The results kept in ``folder``, made if missing; None (memory only, with a
    warning) when it cannot be used or belongs to someone else or others may write
    to it: its files are read back as Python objects, so only its owner may write."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        found = folder.stat()
        if found.st_uid != os.getuid() or found.st_mode & 0o022:
            _log.warning(
                "dashboard: %s is not this user's alone; results are kept in memory only. "
                "Remove it, or set KNELPUNT_CACHE to a folder of your own.",
                folder,
            )
            return None
        return diskcache.Cache(
            str(folder / "results"),
            size_limit=_DISK_BYTES,
            eviction_policy="least-recently-used",
        )
    except (OSError, diskcache.Timeout) as error:
        _log.warning("dashboard: results cannot be kept in %s (%s); memory only", folder, error)
        return None


def _cache_folder(store: str, store_id: str) -> Path | None:
    """Where a store's results are kept: the folder ``KNELPUNT_CACHE`` names (one
    folder per store in it; ``off``: memory only), else beside a SQLite store (see
    :data:`CACHE_SUFFIX`) or in the user's cache folder; None for a store in memory."""
    chosen = os.environ.get("KNELPUNT_CACHE", "").strip()
    if chosen.lower() in ("off", "0", "false", "no") or store in ("", ":memory:"):
        return None
    if chosen:
        return Path(chosen) / store_id
    if "://" in store:
        import platformdirs

        return Path(platformdirs.user_cache_dir("knelpunt")) / store_id
    return Path(store).with_name(Path(store).name + CACHE_SUFFIX)
