"""The notebook façade: small ``verb_noun`` functions over the store and ingestion."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
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
    "append_events",
    "find_cases",
    "list_sources",
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
    pairs = events[["org:resource", attribute]].dropna()
    if pairs.empty:
        return {}
    counts = pairs.astype(str).value_counts(sort=False).reset_index(name="n")
    counts = counts.sort_values(["org:resource", "n", attribute], ascending=[True, False, True])
    first = counts.drop_duplicates("org:resource")
    return dict(zip(first["org:resource"], first[attribute], strict=True))


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
