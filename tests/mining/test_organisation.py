"""Handover and working-together networks and workload: by hand, and against pm4py."""

from __future__ import annotations

import warnings

import networkx as nx
import pandas as pd
import pytest

import knelpunt as kp
from knelpunt.errors import MappingError
from knelpunt.mining.organisation import OTHER
from tests.conftest import shared_log
from tests.helpers import team_log

# Two cases; the third step of case 2 has no resource and is left out.
ROWS = [
    ("1", "Melding", "2025-03-03 09:00", "Anouk", "Wmo"),
    ("1", "Gesprek", "2025-03-03 11:00", "Bram", "Wmo"),
    ("1", "Verslag", "2025-03-04 09:30", "Bram", "Wmo"),
    ("1", "Besluit", "2025-03-10 10:00", "Chantal", "Jeugd"),
    ("2", "Melding", "2025-03-04 10:00", "Bram", "Wmo"),
    ("2", "Gesprek", "2025-03-04 13:00", "Anouk", "Wmo"),
    ("2", "Verslag", "2025-03-05 09:00", None, None),
    ("2", "Besluit", "2025-03-05 15:00", "Anouk", "Wmo"),
]


@pytest.fixture(scope="module")
def table_and_groups() -> tuple[kp.EventTable, dict[str, str]]:
    return team_log(ROWS)


def test_handovers_by_hand(table_and_groups: tuple[kp.EventTable, dict[str, str]]) -> None:
    table, _ = table_and_groups
    network = kp.discover_handovers(table)
    edges = {(a, b): d["count"] for a, b, d in network.edges(data=True)}
    assert edges == {("Anouk", "Bram"): 1, ("Bram", "Chantal"): 1, ("Bram", "Anouk"): 1}
    # Bram kept case 1 from Gesprek to Verslag; Anouk kept case 2 across the
    # step without a resource.
    assert {n: d["kept"] for n, d in network.nodes(data=True)} == {
        "Anouk": 1,
        "Bram": 1,
        "Chantal": 0,
    }
    assert network.graph["successions"] == 5
    assert network.edges["Anouk", "Bram"]["share"] == pytest.approx(1 / 5)
    assert network.edges["Bram", "Chantal"]["mean_s"] == 6 * 86400 + 30 * 60  # Tue 09:30 → Mon
    assert network.nodes["Anouk"]["events"] == 3
    assert network.nodes["Anouk"]["cases"] == 2


def test_handovers_in_working_time(
    table_and_groups: tuple[kp.EventTable, dict[str, str]],
) -> None:
    table, _ = table_and_groups
    office = kp.WorkCalendar.office_hours()
    network = kp.discover_handovers(table, calendar=office)
    # Tue 09:30 → Mon 10:00 in office hours: Tue 7.5 h, Wed-Fri 3 x 8 h, Mon 1 h.
    assert network.edges["Bram", "Chantal"]["mean_s"] == (7.5 + 24 + 1) * 3600
    assert network.graph["calendar"] is office


def test_teams_instead_of_people(table_and_groups: tuple[kp.EventTable, dict[str, str]]) -> None:
    table, groups = table_and_groups
    assert groups == {"Anouk": "Wmo", "Bram": "Wmo", "Chantal": "Jeugd"}
    network = kp.discover_handovers(table, groups=groups)
    assert {(a, b): d["count"] for a, b, d in network.edges(data=True)} == {("Wmo", "Jeugd"): 1}
    assert network.nodes["Wmo"]["kept"] == 4
    partial = kp.discover_handovers(table, groups={"Anouk": "Wmo"})
    assert set(partial.nodes) == {"Wmo", OTHER}


def test_working_together_by_hand(
    table_and_groups: tuple[kp.EventTable, dict[str, str]],
) -> None:
    table, groups = table_and_groups
    network = kp.discover_collaboration(table)
    assert {frozenset((a, b)): d["cases"] for a, b, d in network.edges(data=True)} == {
        frozenset(("Anouk", "Bram")): 2,
        frozenset(("Anouk", "Chantal")): 1,
        frozenset(("Bram", "Chantal")): 1,
    }
    assert network.edges["Anouk", "Bram"]["share"] == 1.0
    teams = kp.discover_collaboration(table, groups=groups)
    assert teams.edges["Jeugd", "Wmo"]["cases"] == 1
    assert nx.is_connected(teams)


def test_workload_per_week(table_and_groups: tuple[kp.EventTable, dict[str, str]]) -> None:
    table, groups = table_and_groups
    load = kp.resource_workload(table)
    weeks = {(str(r.period), r.performer): (r.events, r.cases) for r in load.itertuples()}
    assert weeks == {
        ("2025-03-03", "Anouk"): (3, 2),
        ("2025-03-03", "Bram"): (3, 2),
        ("2025-03-10", "Chantal"): (1, 1),
    }
    # Completions only, so each event is an instance with an estimated start.
    assert load["instances"].sum() == 7
    assert (load["processing_s"] >= 0).all()
    by_team = kp.resource_workload(table, groups=groups, freq="D")
    assert by_team.groupby("performer")["events"].sum().to_dict() == {"Jeugd": 1, "Wmo": 6}


def test_unknown_group_attribute_names_the_ones_there() -> None:
    with kp.open_store(":memory:") as store:
        kp.ingest_log(
            store,
            pd.DataFrame(
                {
                    "case:concept:name": ["1"],
                    "concept:name": ["Melding"],
                    "time:timestamp": [pd.Timestamp("2025-03-03 09:00", tz="UTC")],
                    "org:resource": ["Anouk"],
                    "kleur": ["blauw"],
                }
            ),
            name="x",
            privacy="off",
        )
        with pytest.raises(MappingError, match=r"'org:group'.*kleur"):
            kp.read_resource_groups(store)


@pytest.mark.real_logs
@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["running-example.xes", "CCC19.xes.gz", "receipt.xes.gz", "helpdesk.xes.gz"]
)
def test_networks_agree_with_pm4py(name: str) -> None:
    import pm4py

    path = shared_log(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = pm4py.read_xes(str(path), variant="iterparse", return_legacy_log_object=False)
    frame = frame.sort_values(["case:concept:name", "time:timestamp"], kind="stable")
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, path, duplicates="keep", privacy="off")
        table = kp.load_events(store)
    handovers = kp.discover_handovers(table)
    ours = {(a, b): d["share"] for a, b, d in handovers.edges(data=True)}
    total = handovers.graph["successions"]
    ours |= {(n, n): d["kept"] / total for n, d in handovers.nodes(data=True) if d["kept"]}
    theirs = pm4py.discover_handover_of_work_network(frame, beta=0).connections
    assert ours == pytest.approx({k: v for k, v in theirs.items() if v}, rel=1e-12)
    together = kp.discover_collaboration(table)
    if together.number_of_edges() == 0:
        return  # pm4py fails on a log with one resource per case (CCC19)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        their_together = pm4py.discover_working_together_network(frame).connections
    # pm4py divides the shared cases by the number of events of the DataFrame.
    shared = {frozenset(pair): round(value * len(frame)) for pair, value in their_together.items()}
    assert {frozenset((a, b)): d["cases"] for a, b, d in together.edges(data=True)} == shared
