"""Who works with whom, and how much: handover and working-together networks, workload.

Each is a pass over the :class:`~knelpunt.mining.projection.EventTable`, at
the level of resources or, with ``groups`` (resource → team or role, e.g.
from :func:`knelpunt.read_resource_groups` or a profile), of teams or roles.
Events without a resource are left out; a resource missing from ``groups``
falls in :data:`OTHER`.

* :func:`discover_handovers`: a directed :class:`networkx.DiGraph`. An edge
  a → b counts the times an event performed by a is directly followed, in
  the same case, by one performed by b (a ≠ b); ``share`` divides that by
  all such successions including a → a, which is pm4py's handover-of-work
  metric (beta 0). A node's ``kept`` counts successions that stayed with it.
  Edge durations (mean, median) are the time between the two events, in
  working time with a calendar.
* :func:`discover_collaboration`: an undirected :class:`networkx.Graph`; an
  edge's ``cases`` counts the cases both performers worked on (pm4py's
  working-together metric, as a count).
* :func:`resource_workload`: per period (week by default) and performer:
  events, cases touched, activity instances completed and their processing
  time (see :func:`~knelpunt.mining.instances.pair_instances`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import networkx as nx
import numpy as np
import pandas as pd
import polars as pl

from knelpunt.mining.instances import ActivityInstances, pair_instances
from knelpunt.mining.maps import working_clock
from knelpunt.mining.projection import EventTable
from knelpunt.worktime import WorkCalendar

__all__ = [
    "OTHER",
    "WORKLOAD_COLUMNS",
    "discover_collaboration",
    "discover_handovers",
    "resource_workload",
    "successions",
]

OTHER: Final = "(other)"
WORKLOAD_COLUMNS: Final = (
    "period",
    "performer",
    "events",
    "cases",
    "instances",
    "processing_s",
)
_US: Final = 1_000_000


def _performers(
    table: EventTable, groups: Mapping[str, str] | None
) -> tuple[np.ndarray, list[str]]:
    """Per event, a performer code (-1 for none), and the performers' names."""
    if groups is None:
        return table.resource, [str(r) for r in table.resources]
    names = sorted({str(g) for g in groups.values()} | {OTHER})
    index = {name: i for i, name in enumerate(names)}
    recode = np.array(
        [index[str(groups.get(str(r), OTHER))] for r in table.resources] + [-1], dtype=np.int32
    )
    return recode[table.resource], names  # code -1 picks the trailing -1


def successions(
    table: EventTable, performer: np.ndarray, calendar: WorkCalendar | None = None
) -> pl.DataFrame:
    """Consecutive events with a performer (code ``>= 0``), within a case: ``src``,
    ``dst`` (the two performers' codes), ``case`` and ``duration_us`` (in working time
    with a calendar). Events without a performer are skipped, so work passes across
    them; ``src != dst`` is a handover."""
    known = performer >= 0
    case = table.case[known]
    who = performer[known]
    clock = working_clock(table, calendar)[known]
    same = case[1:] == case[:-1]
    return pl.DataFrame(
        {
            "src": who[:-1][same],
            "dst": who[1:][same],
            "case": case[1:][same],
            "duration_us": (clock[1:] - clock[:-1])[same],
        }
    )


def _node_counts(table: EventTable, performer: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per performer: events, and cases with at least one of its events."""
    known = performer >= 0
    events = np.bincount(performer[known], minlength=n)
    pairs = np.unique(
        table.case[known].astype(np.int64) * max(n, 1) + performer[known].astype(np.int64)
    )
    cases = np.bincount((pairs % max(n, 1)).astype(np.int64), minlength=n)
    return events, cases


def discover_handovers(
    table: EventTable,
    *,
    groups: Mapping[str, str] | None = None,
    calendar: WorkCalendar | None = None,
) -> nx.DiGraph[str]:
    """The handover-of-work network (see the module notes).

    Nodes carry ``events``, ``cases`` and ``kept``; edges carry ``count``,
    ``cases``, ``share``, ``mean_s`` and ``median_s``. The graph's ``graph``
    dict holds ``successions`` (all, including kept) and ``calendar``.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     # make_log's people are made up: recorded by name, not pseudonymised
        ...     _ = kp.ingest_log(store, make_log(cases=20, seed=1), name="demo", privacy="off")
        ...     network = kp.discover_handovers(kp.load_events(store))
        >>> sorted(network.nodes)[:3], network.graph["successions"]
        (['Anouk', 'Bram', 'Chantal'], 80)
    """
    performer, names = _performers(table, groups)
    pairs = successions(table, performer, calendar)
    events, cases = _node_counts(table, performer, len(names))
    grouped = (
        pairs.group_by(["src", "dst"])
        .agg(
            pl.len().alias("count"),
            pl.col("case").n_unique().alias("cases"),
            (pl.col("duration_us").mean() / _US).alias("mean_s"),
            (pl.col("duration_us").median() / _US).alias("median_s"),
        )
        .sort(["src", "dst"])
    )
    total = pairs.height
    graph: nx.DiGraph[str] = nx.DiGraph(successions=total, calendar=calendar)
    for k, name in enumerate(names):
        if events[k]:
            graph.add_node(name, events=int(events[k]), cases=int(cases[k]), kept=0)
    for row in grouped.iter_rows(named=True):
        src, dst = names[row["src"]], names[row["dst"]]
        if src == dst:
            graph.nodes[src]["kept"] = int(row["count"])
            continue
        graph.add_edge(
            src,
            dst,
            count=int(row["count"]),
            cases=int(row["cases"]),
            share=row["count"] / total,
            mean_s=float(row["mean_s"]),
            median_s=float(row["median_s"]),
        )
    return graph


def discover_collaboration(
    table: EventTable, *, groups: Mapping[str, str] | None = None
) -> nx.Graph[str]:
    """The working-together network: who worked on the same cases (see the module notes).

    Nodes carry ``events`` and ``cases``; an edge's ``cases`` counts the cases
    both worked on, ``share`` divides it by all cases.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=20, seed=1), name="demo")
        ...     network = kp.discover_collaboration(kp.load_events(store))
        >>> network.number_of_nodes(), nx.is_connected(network)
        (6, True)
    """
    performer, names = _performers(table, groups)
    events, cases = _node_counts(table, performer, len(names))
    known = performer >= 0
    who = (
        pl.DataFrame({"case": table.case[known], "who": performer[known]})
        .unique()
        .sort(["case", "who"])
    )
    together = (
        who.join(who, on="case", suffix="_2")
        .filter(pl.col("who") < pl.col("who_2"))
        .group_by(["who", "who_2"])
        .agg(pl.len().alias("cases"))
        .sort(["who", "who_2"])
    )
    graph: nx.Graph[str] = nx.Graph(cases=table.n_cases)
    for k, name in enumerate(names):
        if events[k]:
            graph.add_node(name, events=int(events[k]), cases=int(cases[k]))
    for row in together.iter_rows(named=True):
        graph.add_edge(
            names[row["who"]],
            names[row["who_2"]],
            cases=int(row["cases"]),
            share=row["cases"] / max(table.n_cases, 1),
        )
    return graph


def resource_workload(
    table: EventTable,
    *,
    groups: Mapping[str, str] | None = None,
    freq: str = "W",
    calendar: WorkCalendar | None = None,
    instances: ActivityInstances | None = None,
) -> pd.DataFrame:
    """Per period and performer: events, cases touched, instances completed, processing time.

    Args:
        table: the events.
        groups: resource → team or role; None for resources themselves.
        freq: the period, as pandas names it: ``D`` day, ``W`` week (Monday to
            Sunday), ``M`` month, ``Q`` quarter.
        calendar: counts processing in working time, and sets the time zone of
            the periods (Europe/Amsterdam without one).
        instances: ``pair_instances(table, calendar=calendar)`` when the caller has
            it already (it is the costly part).

    Returns:
        One row per period and performer with work in it (see
        :data:`WORKLOAD_COLUMNS`); ``period`` is the period's first day. Where
        a log records completions only, processing times are estimated (see
        :func:`~knelpunt.mining.instances.pair_instances`).

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=20, seed=1), name="demo")
        ...     load = kp.resource_workload(kp.load_events(store), freq="M")
        >>> int(load["events"].sum())
        100
    """
    zone = calendar.timezone if calendar is not None else "Europe/Amsterdam"
    performer, names = _performers(table, groups)
    known = performer >= 0

    def periods(moments: pd.DatetimeIndex) -> np.ndarray:
        local = moments.tz_convert(zone).tz_localize(None)
        return np.asarray(local.to_period(freq).start_time.date)

    events = pd.DataFrame(
        {
            "period": periods(pd.to_datetime(table.time_us[known], unit="us", utc=True)),
            "performer": np.array(names, dtype=object)[performer[known]],
            "case": table.case[known],
        }
    )
    per = events.groupby(["period", "performer"], sort=True).agg(
        events=("case", "size"), cases=("case", "nunique")
    )
    found = instances if instances is not None else pair_instances(table, calendar=calendar)
    done = found.instances[found.instances["status"] == "completed"]
    done = done[done["resource"].notna()]
    processing = "processing_work_s" if calendar is not None else "processing_s"
    who = done["resource"].astype(str)
    if groups is not None:
        who = who.map(lambda r: str(groups.get(r, OTHER)))
    work = pd.DataFrame(
        {
            "period": periods(pd.DatetimeIndex(done["complete"])),
            "performer": who.to_numpy(),
            "processing_s": done[processing].to_numpy(),
        }
    )
    busy = work.groupby(["period", "performer"], sort=True).agg(
        instances=("processing_s", "size"), processing_s=("processing_s", "sum")
    )
    out = per.join(busy, how="outer").fillna({"events": 0, "cases": 0, "instances": 0})
    out = out.fillna({"processing_s": 0.0}).reset_index()
    for column in ("events", "cases", "instances"):
        out[column] = out[column].astype(np.int64)
    return out[list(WORKLOAD_COLUMNS)]
