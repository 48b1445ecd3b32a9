"""The event projection: a store's events as sorted, dictionary-coded columns.

Every map, variant list and case table is a pass over this table, never a
query on raw events. Events are sorted by case, then time, then store
position (so ties keep the order in which they were recorded, as pm4py keeps
file order); text columns are integer codes into small name arrays. A case is
a case id *within a source*: two uploads that both have a case "Z1" hold two
cases.

A projection remembers the store position it reflects. :func:`load_events`
catches up by reading only the events recorded since, and merges them in
with one linear pass (no new sort of the whole table); a purge since then
forces a rebuild. With ``cache=`` a folder, the projection is also kept on
disk as Parquet, so a new process does not re-read the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from knelpunt.errors import FilterError
from knelpunt.events.store import EventStore

__all__ = ["EventTable", "load_events", "table_from_frame"]

_FORMAT: Final = 1
_NO_CODE: Final = -1
_SEP: Final = "\x1f"  # between source id and case id in a case's key


@dataclass(frozen=True, slots=True, eq=False)
class EventTable:
    """Events sorted by case, time and position; text as codes into name arrays.

    Attributes:
        case: per event, the case code (index into ``case_ids``).
        activity: per event, the activity code (index into ``activities``).
        resource: per event, the resource code, -1 when none.
        lifecycle: per event, the lifecycle code, -1 when none.
        time_us: per event, UTC microseconds since the epoch.
        position: per event, the store position.
        case_ids: per case code, the case id.
        case_sources: per case code, the source id.
        activities, resources, lifecycles: the names behind the codes.
        case_start: offsets: case k's events are ``case_start[k]:case_start[k+1]``.
        high: the store position this table reflects (events up to it).
        sources: the sources included, or None for all.
        purges: how many purges the store had logged when this was built.
        filters: the filters applied, in words (see :mod:`knelpunt.mining.filters`);
            empty for a whole projection.
    """

    case: np.ndarray
    activity: np.ndarray
    resource: np.ndarray
    lifecycle: np.ndarray
    time_us: np.ndarray
    position: np.ndarray
    case_ids: np.ndarray
    case_sources: np.ndarray
    activities: np.ndarray
    resources: np.ndarray
    lifecycles: np.ndarray
    case_start: np.ndarray = field(repr=False)
    high: int = 0
    sources: tuple[int, ...] | None = None
    purges: int = 0
    filters: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.case)

    @property
    def n_cases(self) -> int:
        """The number of cases."""
        return len(self.case_ids)

    def to_frame(self, *, rows: int | None = None) -> pd.DataFrame:
        """The events as a DataFrame with names instead of codes (in table order); the
        first ``rows`` only when given."""
        cut = slice(None, rows)
        case = self.case[cut]
        return pd.DataFrame(
            {
                "source_id": self.case_sources[case],
                "case_id": self.case_ids[case],
                "activity": self.activities[self.activity[cut]],
                "time_us": self.time_us[cut],
                "lifecycle": _decode(self.lifecycles, self.lifecycle[cut]),
                "resource": _decode(self.resources, self.resource[cut]),
                "position": self.position[cut],
            }
        )

    def _repr_html_(self) -> str:
        head = (
            f"<p>{len(self):,} events of {self.n_cases:,} cases, {len(self.activities)} "
            f"activities, {len(self.resources)} resources; the first events:</p>"
        )
        return head + self.to_frame(rows=10).to_html(index=False)


def _decode(names: np.ndarray, codes: np.ndarray) -> np.ndarray:
    out = np.full(len(codes), None, dtype=object)
    known = codes >= 0
    out[known] = names[codes[known]]
    return out


class _Names:
    """Codes for names, extended as new names arrive (codes never change)."""

    def __init__(self, names: Iterable[Any] = ()) -> None:
        self.names: list[Any] = list(names)
        self.codes: dict[Any, int] = {name: i for i, name in enumerate(self.names)}

    def encode(self, values: pd.Series) -> np.ndarray:
        """Codes for the values; -1 for missing ones."""
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        mapping = np.empty(len(uniques), dtype=np.int32)
        for i, name in enumerate(uniques.tolist()):
            code = self.codes.get(name)
            if code is None:
                code = self.codes[name] = len(self.names)
                self.names.append(name)
            mapping[i] = code
        out = np.full(len(codes), _NO_CODE, dtype=np.int32)
        known = codes >= 0
        out[known] = mapping[codes[known]]
        return out

    def array(self) -> np.ndarray:
        return np.array(self.names, dtype=object)


def _empty(sources: tuple[int, ...] | None, purges: int) -> EventTable:
    none_i32 = np.empty(0, dtype=np.int32)
    none_i64 = np.empty(0, dtype=np.int64)
    names = np.empty(0, dtype=object)
    return EventTable(
        case=none_i32,
        activity=none_i32,
        resource=none_i32,
        lifecycle=none_i32,
        time_us=none_i64,
        position=none_i64,
        case_ids=names,
        case_sources=none_i64,
        activities=names,
        resources=names,
        lifecycles=names,
        case_start=np.zeros(1, dtype=np.int64),
        sources=sources,
        purges=purges,
    )


def _read_new(
    store: EventStore, base: EventTable
) -> tuple[dict[str, np.ndarray], dict[str, _Names], int]:
    """Events after ``base.high``, coded with ``base``'s codes (extended), in position order."""
    case_keys = _Names(
        f"{source}{_SEP}{case}"
        for source, case in zip(base.case_sources.tolist(), base.case_ids.tolist(), strict=True)
    )
    names = {
        "activity": _Names(base.activities.tolist()),
        "resource": _Names(base.resources.tolist()),
        "lifecycle": _Names(base.lifecycles.tolist()),
    }
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("case", "activity", "resource", "lifecycle", "time_us", "position")
    }
    high = base.high
    for batch in store.iter_events(sources=base.sources, after=base.high, attributes=False):
        keys = batch["source_id"].astype(str) + _SEP + batch["case_id"].astype(str)
        parts["case"].append(case_keys.encode(keys))
        for column, coder in names.items():
            parts[column].append(coder.encode(batch[column]))
        parts["time_us"].append(batch["time_us"].to_numpy(dtype=np.int64))
        parts["position"].append(batch["position"].to_numpy(dtype=np.int64))
        high = int(batch["position"].iloc[-1])
    columns = {
        k: np.concatenate(v)
        if v
        else np.empty(0, dtype=np.int64 if k in ("time_us", "position") else np.int32)
        for k, v in parts.items()
    }
    names["case"] = case_keys
    return columns, names, high


def _offsets(case: np.ndarray, n_cases: int) -> np.ndarray:
    """Where each case's events start in a table sorted by case (and where the last ends)."""
    case_start = np.zeros(n_cases + 1, dtype=np.int64)
    np.cumsum(np.bincount(case, minlength=n_cases), out=case_start[1:])
    return case_start


def _merge(
    base: EventTable, new: dict[str, np.ndarray], names: dict[str, _Names], high: int
) -> EventTable:
    """Merge newly read events into the sorted table with one linear pass."""
    # New events arrive in position order, so a stable sort by case and time
    # leaves ties in position order.
    order = (
        pl.DataFrame({"case": new["case"], "time_us": new["time_us"]})
        .select(pl.arg_sort_by(["case", "time_us"], maintain_order=True))
        .to_series()
        .to_numpy()
    )
    new = {k: v[order] for k, v in new.items()}
    n_cases = len(names["case"].names)
    # Where each new event goes among the old ones: after the old events of
    # its case that are not later than it (equal times: old first, as their
    # positions are lower).
    old_start = base.case_start
    # Events of cases the table did not have go after all old events; only
    # cases that already had events need a search among them.
    insert_at = np.full(len(new["case"]), len(base), dtype=np.int64)
    bounds = np.flatnonzero(np.diff(new["case"])) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    ends = np.concatenate([bounds, [len(new["case"])]]).astype(np.int64)
    known = new["case"][starts] < base.n_cases
    for lo, hi in zip(starts[known].tolist(), ends[known].tolist(), strict=True):
        code = int(new["case"][lo])
        begin, end = old_start[code], old_start[code + 1]
        insert_at[lo:hi] = begin + np.searchsorted(
            base.time_us[begin:end], new["time_us"][lo:hi], side="right"
        )
    total = len(base) + len(new["case"])
    is_new = np.zeros(total, dtype=bool)
    is_new[insert_at + np.arange(len(insert_at))] = True
    merged = {}
    for column in new:
        out = np.empty(total, dtype=new[column].dtype)
        out[is_new] = new[column]
        out[~is_new] = getattr(base, column)
        merged[column] = out
    # Only the cases first seen now need their key split into source and id.
    added = [key.split(_SEP, 1) for key in names["case"].names[base.n_cases :]]
    case_start = _offsets(merged["case"], n_cases)
    return replace(
        base,
        case=merged["case"],
        activity=merged["activity"],
        resource=merged["resource"],
        lifecycle=merged["lifecycle"],
        time_us=merged["time_us"],
        position=merged["position"],
        case_ids=np.concatenate([base.case_ids, np.array([k[1] for k in added], dtype=object)]),
        case_sources=np.concatenate(
            [base.case_sources, np.array([int(k[0]) for k in added], dtype=np.int64)]
        ),
        activities=names["activity"].array(),
        resources=names["resource"].array(),
        lifecycles=names["lifecycle"].array(),
        case_start=case_start,
        high=high,
    )


def table_from_frame(frame: pd.DataFrame) -> EventTable:
    """An event table of rows already recorded elsewhere (a partition on a cluster).

    ``frame`` holds ``source_id``, ``case_id``, ``activity``, ``resource``,
    ``lifecycle`` (either may be null), ``time_us`` and ``position``. Codes are given as
    a projection of the store gives them: cases, activities, resources and lifecycles
    in the order they were first recorded; events by case, time and position.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.mining.projection import table_from_frame
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=1), name="demo")
        ...     events = kp.load_events(store)
        >>> again = table_from_frame(events.to_frame())
        >>> (again.case_ids == events.case_ids).all(), (again.time_us == events.time_us).all()
        (np.True_, np.True_)
    """
    recorded = frame.sort_values("position", kind="stable")

    def coded(column: str) -> tuple[np.ndarray, np.ndarray]:
        values = recorded[column]
        names = pd.unique(values[values.notna()])
        codes = pd.Categorical(values, categories=names).codes.astype(np.int32)
        return codes, np.asarray(names, dtype=object)

    keys = pd.MultiIndex.from_arrays([recorded["source_id"], recorded["case_id"]])
    case, cases = pd.factorize(keys)
    recorded = recorded.assign(_case=case)
    activity, activities = coded("activity")
    resource, resources = coded("resource")
    lifecycle, lifecycles = coded("lifecycle")
    recorded = recorded.assign(_activity=activity, _resource=resource, _lifecycle=lifecycle)
    ordered = recorded.sort_values(["_case", "time_us", "position"], kind="stable")
    counts = np.bincount(ordered["_case"].to_numpy(), minlength=len(cases))
    case_start = np.zeros(len(cases) + 1, dtype=np.int64)
    np.cumsum(counts, out=case_start[1:])
    sources = sorted({int(s) for s in cases.get_level_values(0)}) if len(cases) else []
    return EventTable(
        case=ordered["_case"].to_numpy(dtype=np.int32),
        activity=ordered["_activity"].to_numpy(dtype=np.int32),
        resource=ordered["_resource"].to_numpy(dtype=np.int32),
        lifecycle=ordered["_lifecycle"].to_numpy(dtype=np.int32),
        time_us=ordered["time_us"].to_numpy(dtype=np.int64),
        position=ordered["position"].to_numpy(dtype=np.int64),
        case_ids=np.asarray(cases.get_level_values(1), dtype=object),
        case_sources=np.asarray(cases.get_level_values(0), dtype=np.int64),
        activities=activities,
        resources=resources,
        lifecycles=lifecycles,
        case_start=case_start,
        high=int(recorded["position"].max()) if len(recorded) else 0,
        sources=tuple(sources),
    )


def load_events(
    store: EventStore,
    *,
    sources: Sequence[int] | None = None,
    since: EventTable | None = None,
    cache: str | Path | None = None,
) -> EventTable:
    """The store's events as an :class:`EventTable`, caught up to the newest position.

    Args:
        store: the event store.
        sources: only these sources (default: all).
        since: an earlier table of the same sources: only newer events are
            read and merged in (rebuilt if a source was purged meanwhile).
        cache: a folder that keeps the table as Parquet between processes;
            it is read first and written back when the store has moved on.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=4, seed=1), name="demo")
        ...     table = kp.load_events(store)
        >>> len(table), table.n_cases, table.high
        (20, 4, 20)
    """
    if since is not None and since.filters:
        raise FilterError(
            "A filtered table cannot catch up with the store (it would mix filtered and "
            "unfiltered events). Catch up the whole table, then filter it again."
        )
    wanted = None if sources is None else tuple(sorted({int(s) for s in sources}))
    purges = len(store.purges())
    base = since
    folder = None if cache is None else Path(cache) / _cache_name(wanted)
    if base is None and folder is not None:
        base = _read_cache(folder)
    if base is None or base.sources != wanted or base.purges != purges:
        base = _empty(wanted, purges)
    if store.last_position() <= base.high:
        return base
    new, names, high = _read_new(store, base)
    table = _merge(base, new, names, high) if len(new["case"]) else replace(base, high=high)
    if folder is not None:
        _write_cache(folder, table)
    return table


def _cache_name(sources: tuple[int, ...] | None) -> str:
    return "all" if sources is None else "sources-" + "-".join(map(str, sources))


def _write_cache(folder: Path, table: EventTable) -> None:
    """Write to a new folder, then swap it in: a reader never sees half a table."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = folder.with_name(folder.name + ".new")
    scratch.mkdir(exist_ok=True)
    events = pa.table(
        {
            k: getattr(table, k)
            for k in ("case", "activity", "resource", "lifecycle", "time_us", "position")
        }
    )
    pq.write_table(events, scratch / "events.parquet", compression="zstd")
    cases = pa.table(
        {
            "case_id": pa.array(table.case_ids.tolist(), pa.string()),
            "source_id": table.case_sources,
        }
    )
    pq.write_table(cases, scratch / "cases.parquet", compression="zstd")
    meta = {
        "format": _FORMAT,
        "high": table.high,
        "sources": table.sources,
        "purges": table.purges,
        "activities": table.activities.tolist(),
        "resources": table.resources.tolist(),
        "lifecycles": table.lifecycles.tolist(),
    }
    (scratch / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    old = folder.with_name(folder.name + ".old")
    if folder.exists():
        folder.rename(old)
    scratch.rename(folder)
    if old.exists():
        for item in old.iterdir():
            item.unlink()
        old.rmdir()


def _read_cache(folder: Path) -> EventTable | None:
    """The cached table, or None when there is none or it is unreadable."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != _FORMAT:
            return None
        events = pq.read_table(folder / "events.parquet")
        cases = pq.read_table(folder / "cases.parquet")
    except (OSError, ValueError, pa.ArrowException):
        return None
    columns = {name: events.column(name).to_numpy() for name in events.column_names}
    case_start = _offsets(columns["case"], cases.num_rows)
    sources = meta["sources"]
    return EventTable(
        case=columns["case"],
        activity=columns["activity"],
        resource=columns["resource"],
        lifecycle=columns["lifecycle"],
        time_us=columns["time_us"],
        position=columns["position"],
        case_ids=np.array(cases.column("case_id").to_pylist(), dtype=object),
        case_sources=cases.column("source_id").to_numpy(),
        activities=np.array(meta["activities"], dtype=object),
        resources=np.array(meta["resources"], dtype=object),
        lifecycles=np.array(meta["lifecycles"], dtype=object),
        case_start=case_start,
        high=int(meta["high"]),
        sources=None if sources is None else tuple(sources),
        purges=int(meta["purges"]),
    )
