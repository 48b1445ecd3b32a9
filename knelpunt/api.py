"""The notebook façade: small ``verb_noun`` functions over the store and ingestion."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pandas as pd

from knelpunt.errors import FilterError, MappingError
from knelpunt.events.model import AppendResult, Event, PurgeRecord, Source
from knelpunt.events.store import EventStore
from knelpunt.frames import to_pm4py_frame
from knelpunt.ingest import mapping as _mapping
from knelpunt.ingest.pipeline import open_raw

__all__ = [
    "StoreFacts",
    "append_events",
    "find_cases",
    "list_sources",
    "load_store_facts",
    "purge_source",
    "read_case_attributes",
    "read_events",
    "read_rejects",
    "read_resource_groups",
    "suggest_mapping",
]


def read_events(
    store: EventStore,
    *,
    sources: Sequence[int] | None = None,
    after: int = 0,
    positions: bool = True,
) -> pd.DataFrame:
    """Events of the store as a pm4py-compatible DataFrame.

    Columns ``case:concept:name``, ``concept:name``, ``time:timestamp`` (UTC),
    ``lifecycle:transition`` and ``org:resource`` when present, every
    attribute as a column, and (with ``positions``) ``knelpunt:position`` and
    ``knelpunt:source``. Hand it to pm4py as it is.

    Args:
        store: the store to read.
        sources: only these source ids (default: all).
        after: only events after this store position (for catching up).
        positions: keep the position and source columns.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=2, seed=3))
        ...     kp.read_events(store)["concept:name"].iloc[0]
        'Melding ontvangen'
    """
    return to_pm4py_frame(store.iter_events(sources=sources, after=after), positions=positions)


def read_case_attributes(
    store: EventStore,
    *,
    sources: Sequence[int] | None = None,
    events: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per case: ``source_id``, ``case_id`` and every attribute, its first value.

    ``events`` (what :func:`read_events` gave for the same sources) saves reading the
    store again when several of these summaries are made at once.

    Use it to choose cases for :func:`knelpunt.filter_events`::

        attrs = kp.read_case_attributes(store)
        wmo = attrs[attrs["case:scheme"] == "Wmo"]
        kp.filter_events(table, cases=zip(wmo["source_id"], wmo["case_id"]))

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=2, seed=3))
        ...     sorted(kp.read_case_attributes(store).columns)
        ['case:scheme', 'case_id', 'cost', 'source_id']
    """
    events = read_events(store, sources=sources) if events is None else events
    return case_attributes_of(events)


def case_attributes_of(events: pd.DataFrame) -> pd.DataFrame:
    """One row per case of events in pm4py's columns (as :func:`read_events` gives
    them, in the order recorded): ``source_id``, ``case_id`` and every other column,
    its first value in the case."""
    standard = {
        "case:concept:name",
        "concept:name",
        "time:timestamp",
        "lifecycle:transition",
        "org:resource",
        "knelpunt:position",
        "knelpunt:source",
    }
    extra = [c for c in events.columns if c not in standard]
    keys = {"knelpunt:source": "source_id", "case:concept:name": "case_id"}
    if events.empty:
        return pd.DataFrame(columns=["source_id", "case_id", *extra])
    grouped = events.groupby(list(keys), sort=False)[extra].first() if extra else None
    if grouped is None:
        return events[list(keys)].drop_duplicates().rename(columns=keys).reset_index(drop=True)
    return grouped.reset_index().rename(columns=keys)


def find_cases(
    store: EventStore,
    where: Mapping[str, object],
    *,
    sources: Sequence[int] | None = None,
) -> list[tuple[int, str]]:
    """The cases whose attributes have the values given, as (source_id, case_id) pairs
    for ``cases=`` of :func:`knelpunt.filter_events`.

    Args:
        store: the store.
        where: attribute → a value, or a collection of values (any of them). Several
            attributes must all match. For a numeric attribute values compare as
            numbers (``"20"`` or ``20`` finds a cost of 20.0), otherwise as text.
        sources: only cases of these sources.

    Returns:
        The matching cases, in the order of :func:`read_case_attributes`.

    Raises:
        FilterError: an attribute no case carries (the message lists those that do).

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=6, seed=3), name="demo")
        ...     wmo = kp.find_cases(store, {"case:scheme": "Wmo"})
        ...     table = kp.filter_events(kp.load_events(store), cases=wmo)
        >>> len(wmo) == table.n_cases
        True
    """
    attributes = read_case_attributes(store, sources=sources)
    missing = [key for key in where if key not in attributes.columns]
    if missing:
        present = [c for c in attributes.columns if c not in ("source_id", "case_id")]
        raise FilterError(
            f"No case carries the attribute {missing[0]!r}. Case attributes in the store: "
            f"{', '.join(present) or 'none'}."
        )
    chosen = pd.Series(True, index=attributes.index)
    for key, wanted in where.items():
        if isinstance(wanted, Collection) and not isinstance(wanted, str):
            values = [str(v) for v in wanted]
        else:
            values = [str(wanted)]
        column = attributes[key]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            match = column.isin(pd.to_numeric(pd.Series(values), errors="coerce").dropna())
        else:
            match = column.astype(str).isin(values)
        chosen &= column.notna() & match
    hits = attributes[chosen]
    return list(zip(hits["source_id"].astype(int), hits["case_id"].astype(str), strict=True))


def read_resource_groups(
    store: EventStore,
    *,
    attribute: str = "org:group",
    sources: Sequence[int] | None = None,
    events: pd.DataFrame | None = None,
) -> dict[str, str]:
    """Per resource, its team or role: the value of an event attribute it carries most often.

    ``events``: as for :func:`read_case_attributes`.

    Hand the result to :func:`knelpunt.discover_handovers`,
    :func:`knelpunt.discover_collaboration` or :func:`knelpunt.resource_workload`
    as ``groups=`` to see teams or roles instead of people.

    Raises:
        MappingError: no event carries the attribute (the message lists those that do).

    Example:
        >>> import knelpunt as kp, pandas as pd
        >>> log = pd.DataFrame({
        ...     "case:concept:name": ["1", "1", "2"],
        ...     "concept:name": ["Melding", "Gesprek", "Melding"],
        ...     "time:timestamp": pd.to_datetime(["2025-01-06 09:00", "2025-01-07 10:00",
        ...                                       "2025-01-08 11:00"]).tz_localize("UTC"),
        ...     "org:resource": ["Anouk", "Bram", "Anouk"],
        ...     "org:group": ["Wmo-loket", "Sociaal team", "Wmo-loket"]})
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, log, name="demo", privacy="off")  # made-up people
        ...     kp.read_resource_groups(store)
        {'Anouk': 'Wmo-loket', 'Bram': 'Sociaal team'}
    """
    events = read_events(store, sources=sources) if events is None else events
    if attribute not in events.columns:
        present = sorted(
            c
            for c in events.columns
            if not c.startswith("knelpunt:")
            and c not in ("case:concept:name", "concept:name", "time:timestamp")
        )
        raise MappingError(
            f"No event carries the attribute {attribute!r}, so resources cannot be grouped by "
            f"it. Attributes in the store: {', '.join(present) or 'none'}. Pass one of them, "
            "or give groups as a mapping of resource to team."
        )
    return _most_frequent(_group_counts(events, attribute))


def _group_counts(events: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """Per resource and value of ``attribute``: how many events carry both
    (columns ``org:resource``, ``group``, ``n``)."""
    if attribute not in events.columns or "org:resource" not in events.columns:
        return pd.DataFrame({"org:resource": [], "group": [], "n": []})
    pairs = events[["org:resource", attribute]].dropna().astype(str)
    counts = pairs.value_counts(sort=False).reset_index(name="n")
    return counts.rename(columns={attribute: "group"})


def _most_frequent(counts: pd.DataFrame) -> dict[str, str]:
    """Per resource its most frequent group; a tie goes to the first name."""
    if counts.empty:
        return {}
    ordered = counts.sort_values(["org:resource", "n", "group"], ascending=[True, False, True])
    first = ordered.drop_duplicates("org:resource")
    return dict(zip(first["org:resource"], first["group"], strict=True))


@dataclass(frozen=True)
class StoreFacts:
    """The store-wide facts about cases and people that analyses join to the events:
    each case's attributes and each resource's team, as of store position ``high``.

    Made by :func:`load_store_facts`, which catches an earlier one up with the store
    (reading only the newer events), as :func:`knelpunt.load_events` does a table.

    Attributes:
        attributes: one row per case, as :func:`read_case_attributes` gives.
        groups: per resource its team, as :func:`read_resource_groups` gives (empty
            when no event carries the attribute).
        counts: per resource and team, the events that carry both (what ``groups`` is
            made from, kept for catching up).
        attribute: the event attribute that names the team.
        high: the store position these facts reflect.
        purges: the purges the store had logged when they were read.
    """

    attributes: pd.DataFrame = field(repr=False)
    groups: dict[str, str] = field(repr=False)
    counts: pd.DataFrame = field(repr=False)
    attribute: str = "org:group"
    high: int = 0
    purges: int = 0

    def to_frame(self) -> pd.DataFrame:
        """The cases with their attributes (see :attr:`attributes`)."""
        return self.attributes

    def _repr_html_(self) -> str:
        teams = len(set(self.groups.values()))
        head = (
            f"<p>{len(self.attributes):,} cases with their attributes; {len(self.groups):,} "
            f"resources in {teams:,} teams ({self.attribute}); up to store position "
            f"{self.high:,}</p>"
        )
        return head + self.attributes.head(10).to_html(index=False)


def load_store_facts(
    store: EventStore, *, attribute: str = "org:group", since: StoreFacts | None = None
) -> StoreFacts:
    """Every case's attributes and every resource's team in the store, caught up.

    Args:
        store: the event store.
        attribute: the event attribute that names a resource's team.
        since: earlier facts of the same store: only newer events are read and
            merged in (read anew when a source was purged meanwhile, or the
            attribute differs).

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=2, seed=3), privacy="off")
        ...     facts = kp.load_store_facts(store)
        ...     _ = kp.ingest_log(store, make_log(cases=3, seed=4), privacy="off")
        ...     later = kp.load_store_facts(store, since=facts)
        >>> len(facts.attributes), len(later.attributes), later.high > facts.high
        (2, 5, True)
    """
    purges = len(store.purges())
    base = since
    if base is None or base.purges != purges or base.attribute != attribute:
        base = None
    high = store.last_position()
    if base is not None and high <= base.high:
        return base
    events = read_events(store, after=0 if base is None else base.high)
    attributes = read_case_attributes(store, events=events)
    counts = _group_counts(events, attribute)
    if base is not None:
        attributes = _merge_attributes(base.attributes, attributes)
        if len(base.counts) and len(counts):
            keys = ["org:resource", "group"]
            summed = pd.concat([base.counts, counts]).groupby(keys, sort=False)["n"].sum()
            counts = summed.reset_index()
        elif len(base.counts):
            counts = base.counts
    return StoreFacts(
        attributes=attributes,
        groups=_most_frequent(counts),
        counts=counts,
        attribute=attribute,
        high=high,
        purges=purges,
    )


def _merge_attributes(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Case attributes read before and after a store position, as one read of both
    would give them: a case's first value of each attribute, the cases in order of
    their first event. The earlier events come first, so their values stand and the
    newer ones only fill gaps."""
    if new.empty:
        return old
    if old.empty:
        return new
    keys = ["source_id", "case_id"]
    before = old.set_index(keys)
    after = new.set_index(keys)
    merged = before.combine_first(after)
    order = before.index.append(after.index[~after.index.isin(before.index)])
    columns = [*before.columns, *(c for c in after.columns if c not in before.columns)]
    return merged.reindex(index=order, columns=columns).reset_index()


def list_sources(store: EventStore) -> list[Source]:
    """Every source in the store, oldest first, with live event and reject counts.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=2, seed=1), name="demo")
        ...     [(s.source_id, s.name, s.kind, s.event_count) for s in kp.list_sources(store)]
        [(1, 'demo', 'dataframe', 10)]
    """
    return store.sources()


def read_rejects(store: EventStore, source_id: int) -> pd.DataFrame:
    """The rows refused when a source was recorded leniently: line, column, value, reason, raw.

    Example:
        >>> import io, knelpunt as kp
        >>> export = b"Zaak,Stap,Datum\\nZ1,Melding,2025-01-06 09:00\\nZ1,Gesprek,gisteren\\n"
        >>> with kp.open_store(":memory:") as store:
        ...     result = kp.ingest_log(store, io.BytesIO(export), name="export.csv",
        ...                            mode="lenient")
        ...     refused = kp.read_rejects(store, result.source.source_id)
        >>> result.added, refused[["line", "column", "value"]].to_dict("records")
        (1, [{'line': 3, 'column': 'Datum', 'value': 'gisteren'}])
        >>> refused.loc[0, "reason"]
        "not a date and time in the column's format (ISO 8601)"
    """
    return store.rejects(source_id)


def purge_source(
    store: EventStore, source_id: int, *, reason: str, purged_by: str | None = None
) -> PurgeRecord:
    """Remove a whole source (e.g. on an erasure request); the purge itself stays logged.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     result = kp.ingest_log(store, make_log(cases=2, seed=1), name="demo")
        ...     purged = kp.purge_source(store, result.source.source_id,
        ...                              reason="erasure request", purged_by="dpo")
        ...     left = kp.list_sources(store)
        >>> purged.events_removed, purged.reason, left
        (10, 'erasure request', [])
    """
    return store.purge(source_id, reason=reason, purged_by=purged_by)


def append_events(store: EventStore, source_id: int, events: Sequence[Event]) -> AppendResult:
    """Append events to a simulation or capture source; resent idempotency keys are skipped.

    Example:
        >>> import knelpunt as kp
        >>> from datetime import datetime
        >>> from zoneinfo import ZoneInfo
        >>> at = datetime(2025, 3, 4, 9, 15, tzinfo=ZoneInfo("Europe/Amsterdam"))
        >>> intake = kp.Event("C-1042", "Intake", at, resource="Anna",
        ...                   idempotency_key="c1042-intake")
        >>> with kp.open_store(":memory:") as store:
        ...     session = store.create_source(kp.NewSource("Oefening 3 maart", "capture"))
        ...     first = kp.append_events(store, session.source_id, [intake])
        ...     again = kp.append_events(store, session.source_id, [intake])  # resent
        >>> (first.added, first.duplicates), (again.added, again.duplicates)
        ((1, 0), (0, 1))
    """
    return store.append(source_id, events)


def suggest_mapping(
    data: str | Path | IO[bytes] | pd.DataFrame,
    *,
    name: str | None = None,
    format: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
) -> _mapping.MappingSuggestion:
    """Suggest which columns of a file hold the case, activity, timestamp, ...

    Example:
        >>> from knelpunt.testing import make_log
        >>> suggest_mapping(make_log(cases=5)).mapping.case_id
        'case:concept:name'
    """
    with open_raw(
        data, name=name, format=format, encoding=encoding, delimiter=delimiter, sheet=sheet
    ) as (raw, _facts, _hash):
        if raw.fixed_mapping is not None:
            return _mapping.MappingSuggestion(raw.fixed_mapping)
        return _mapping.suggest_mapping(raw.sample)
