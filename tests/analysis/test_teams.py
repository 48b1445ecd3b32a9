"""The team and individual levels: by hand on a tiny log, and as sums that must agree
on a simulated team."""

from __future__ import annotations

import pytest

import knelpunt as kp
from knelpunt.analysis.criteria import pseudonym
from knelpunt.mining.organisation import OTHER
from knelpunt.profile import Group
from knelpunt.testing import make_log
from tests.helpers import team_log

# Case 1 passes Wmo → Wmo → Jeugd; case 2 stays in Wmo and has a step by a provider.
ROWS = [
    ("1", "Melding", "2025-03-03 09:00", "Anouk", "Wmo"),
    ("1", "Gesprek", "2025-03-03 11:00", "Bram", "Wmo"),
    ("1", "Verslag", "2025-03-04 09:30", "Bram", "Wmo"),
    ("1", "Besluit", "2025-03-10 10:00", "Chantal", "Jeugd"),
    ("2", "Melding", "2025-03-04 10:00", "Bram", "Wmo"),
    ("2", "Gesprek", "2025-03-04 13:00", "Anouk", "Wmo"),
    ("2", "Levering", "2025-03-05 09:00", "Zorgaanbieder", None),
    ("2", "Besluit", "2025-04-02 15:00", "Anouk", "Wmo"),
]


@pytest.fixture(scope="module", name="tiny")
def _tiny() -> tuple[kp.EventTable, dict[str, str]]:
    return team_log(ROWS)


class TestByHand:
    """Every figure of a two-case log, counted by hand."""

    def test_cases(self, tiny: tuple[kp.EventTable, dict[str, str]]) -> None:
        table, groups = tiny
        work = kp.summarise_teamwork(table, groups=groups, pseudonymise=False)
        cases = work.cases.set_index("case_id")
        # Case 1: Anouk → Bram (a handover), Bram → Bram, Bram → Chantal (across teams).
        # Case 2: Bram → Anouk, Anouk → the provider, the provider → Anouk; the
        # provider has no team, so nothing of case 2 crosses teams.
        assert cases.loc["1", ["teams", "professionals", "handovers", "across"]].tolist() == [
            2,
            3,
            2,
            1,
        ]
        assert cases.loc["2", ["teams", "professionals", "handovers", "across"]].tolist() == [
            1,
            3,
            3,
            0,
        ]
        assert work.multidisciplinary_share == 0.5
        assert work.across_share == pytest.approx(1 / 5)

    def test_people(self, tiny: tuple[kp.EventTable, dict[str, str]]) -> None:
        table, groups = tiny
        people = (
            kp.summarise_teamwork(table, groups=groups, pseudonymise=False)
            .people.set_index("professional")
            .loc[:, ["team", "events", "cases", "handovers_out", "across_out", "handovers_in"]]
        )
        assert people.to_dict("index") == {
            "Anouk": {
                "team": "Wmo",
                "events": 3,
                "cases": 2,
                "handovers_out": 2,
                "across_out": 0,
                "handovers_in": 2,
            },
            "Bram": {
                "team": "Wmo",
                "events": 3,
                "cases": 2,
                "handovers_out": 2,
                "across_out": 1,
                "handovers_in": 1,
            },
            "Chantal": {
                "team": "Jeugd",
                "events": 1,
                "cases": 1,
                "handovers_out": 0,
                "across_out": 0,
                "handovers_in": 1,
            },
            "Zorgaanbieder": {
                "team": OTHER,
                "events": 1,
                "cases": 1,
                "handovers_out": 1,
                "across_out": 0,
                "handovers_in": 1,
            },
        }

    def test_teams(self, tiny: tuple[kp.EventTable, dict[str, str]]) -> None:
        table, groups = tiny
        teams = kp.summarise_teamwork(table, groups=groups).teams.set_index("team")
        assert teams.loc["Wmo", ["professionals", "events", "cases"]].tolist() == [2, 6, 2]
        assert teams.loc["Wmo", ["handovers_out", "across_out", "across_in"]].tolist() == [4, 1, 0]
        assert teams.loc["Jeugd", ["professionals", "handovers_in", "across_in"]].tolist() == [
            1,
            1,
            1,
        ]
        assert teams.loc[OTHER, "professionals"] == 1

    def test_the_networks_are_between_teams(
        self, tiny: tuple[kp.EventTable, dict[str, str]]
    ) -> None:
        table, groups = tiny
        work = kp.summarise_teamwork(table, groups=groups)
        assert work.handovers.edges["Wmo", "Jeugd"]["count"] == 1
        assert work.collaboration.edges["Wmo", "Jeugd"]["cases"] == 1
        assert set(work.workload["team"]) == {"Wmo", "Jeugd", OTHER}
        # Case 2 ends in April: two months of work for Anouk.
        assert work.people.set_index("professional")["months"].max() == 2


def test_professionals_are_the_people_in_teams(
    tiny: tuple[kp.EventTable, dict[str, str]],
) -> None:
    table, groups = tiny
    named = kp.summarise_teamwork(table, groups=groups, pseudonymise=False)
    assert named.professionals()["professional"].tolist() == ["Chantal", "Anouk", "Bram"]
    # Without teams, everyone who worked is shown.
    assert len(kp.summarise_teamwork(table).professionals()) == 4


class TestPseudonyms:
    """Professionals are shown under the same pseudonyms as in the criteria."""

    def test_pseudonymised_by_default(self, tiny: tuple[kp.EventTable, dict[str, str]]) -> None:
        table, groups = tiny
        work = kp.summarise_teamwork(table, groups=groups, key="k")
        assert work.pseudonymised
        assert set(work.people["professional"]) == {
            pseudonym(n, key="k") for n in ("Anouk", "Bram", "Chantal", "Zorgaanbieder")
        }
        assert set(work.people_workload["professional"]) <= set(work.people["professional"])
        assert "Anouk" not in work.people.to_csv()

    def test_names_only_when_asked(self, tiny: tuple[kp.EventTable, dict[str, str]]) -> None:
        table, groups = tiny
        work = kp.summarise_teamwork(table, groups=groups, pseudonymise=False)
        assert "Anouk" in set(work.people["professional"])


def test_the_profile_teams_come_before_the_logs(
    tiny: tuple[kp.EventTable, dict[str, str]],
) -> None:
    table, groups = tiny
    profile = kp.read_profile("generiek")
    moved = type(profile)(
        name=profile.name,
        calendar=profile.calendar,
        teams=(Group("Jeugd", frozenset({"Bram", "Chantal"})),),
    )
    work = kp.summarise_teamwork(table, profile=moved, groups=groups, pseudonymise=False)
    assert work.people.set_index("professional").loc["Bram", "team"] == "Jeugd"
    # Case 2 now crosses: Bram (Jeugd) → Anouk (Wmo).
    assert work.cases.set_index("case_id").loc["2", "across"] == 1
    assert work.calendar == profile.calendar


def test_a_log_without_teams_says_so(tiny: tuple[kp.EventTable, dict[str, str]]) -> None:
    table, _ = tiny
    work = kp.summarise_teamwork(table)
    assert work.teams["team"].tolist() == [OTHER]
    assert work.notes
    assert "No resource has a known team" in work.notes[0]
    assert work.multidisciplinary_share != work.multidisciplinary_share  # NaN: nothing known


def test_a_log_without_resources_has_no_people_and_no_handovers() -> None:
    log = make_log(cases=5, seed=1).drop(columns=["org:resource"])
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, log, name="anonymous", privacy="off")
        work = kp.summarise_teamwork(kp.load_events(store))
    assert work.people.empty
    assert work.cases["handovers"].sum() == 0
    assert len(work.cases) == 5


def test_the_sums_agree_on_a_simulated_team() -> None:
    with kp.open_store(":memory:") as store:
        kp.simulate_scenario(store, "specialist-handover", overrides=["days=60"])
        table = kp.load_events(store)
        groups = kp.read_resource_groups(store)
    work = kp.summarise_teamwork(table, profile="sociaal-domein", groups=groups)
    people, teams, cases = work.people, work.teams, work.cases
    with_resource = int((table.resource >= 0).sum())
    assert people["events"].sum() == teams["events"].sum() == with_resource
    handovers = cases["handovers"].sum()
    assert people["handovers_out"].sum() == people["handovers_in"].sum() == handovers
    assert teams["across_out"].sum() == teams["across_in"].sum() == cases["across"].sum()
    assert 0 < cases["across"].sum() < handovers
    assert (cases["teams"] <= cases["professionals"]).all()
    assert work.workload["instances"].sum() == people["instances"].sum()
    assert work.workload["processing_s"].sum() / 3600 == pytest.approx(people["processing_h"].sum())
    # The specialist handover is the one that crosses teams most.
    assert work.handovers.in_degree("specialist", weight="count") > 0
