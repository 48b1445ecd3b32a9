"""``knelpunt criteria`` and ``knelpunt compare``, as a policy advisor's analyst types them:
on simulated runs of the social team and on a real municipal log (BPIC 2015)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt.cli import app
from tests.conftest import shared_log

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Half a year of the baseline (source 1) and of a waiting list (source 2)."""
    path = str(tmp_path_factory.mktemp("criteria") / "k.db")
    with kp.open_store(path) as opened:
        for scenario in ("baseline", "waiting-list"):
            kp.simulate_scenario(opened, scenario, seed=1, overrides=["days=180"])
    return path


def test_criteria_scorecard_and_blockers(store: str) -> None:
    result = runner.invoke(
        app, ["criteria", "--store", store, "--source", "2", "--profile", "sociaal-domein"]
    )
    assert result.exit_code == 0, result.output
    assert "Beleidsdoelen" in result.stdout
    assert "eerste-contact" in result.stdout
    assert "zonder dit wachten stijgt de naleving" in result.stdout


def test_criteria_json_per_professional_is_pseudonymised(store: str) -> None:
    result = runner.invoke(
        app,
        ["criteria", "--store", store, "--profile", "sociaal-domein", "--level", "individual",
         "--criterion", "eerste-contact", "--no-blockers", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    (card,) = found["scorecard"]
    assert card["criterion"] == "eerste-contact"
    assert card["measured"] == card["passed"] + card["breached"] > 1000
    assert found["links"] == []
    people = {row["professional"] for row in found["groups"]}
    assert len(people) > 3
    assert not any(str(p).startswith(("Generalist", "Jeugdconsulent")) for p in people)
    named = runner.invoke(
        app,
        ["criteria", "--store", store, "--profile", "sociaal-domein", "--level", "individual",
         "--criterion", "eerste-contact", "--no-blockers", "--json", "--real-names"],
    )  # fmt: skip
    names = {row["professional"] for row in json.loads(named.stdout)["groups"]}
    assert "Generalist 01" in names


def test_compare_two_runs_calls_the_waiting_list_significant(store: str) -> None:
    result = runner.invoke(
        app,
        ["compare", "1", "source=2", "--store", store, "--profile", "sociaal-domein",
         "--criterion", "eerste-contact", "--no-blockers", "--resamples", "300", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["labels"] == ["1", "source=2"]
    (row,) = found["criteria"]
    assert row["compliance_b"] < row["compliance_a"] - 0.2
    assert row["significant"] is True
    assert {k["kpi"] for k in found["kpis"]} >= {"cases", "throughput_median_d"}
    assert any(edge["status"] == "appeared" for edge in found["edges"])  # the Wachtlijst step


def test_compare_periods_in_words(store: str) -> None:
    result = runner.invoke(
        app,
        ["compare", "source=1,until=2025-04-01", "source=1,from=2025-04-01", "--store", store,
         "--lang", "en", "--resamples", "200"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "throughput time, median (days)" in result.stdout
    assert "Blockers: differences" in result.stdout


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("source=nergens", "No source 'nergens' in the store"),
        ("kleur=rood", "Cannot read 'kleur=rood'"),
        ("team=Noord", "No case is held by a team 'Noord'"),
        ("from=gisteren", "Cannot read the time 'gisteren'"),
    ],
)
def test_compare_bad_sets_say_how_to_fix(store: str, argument: str, message: str) -> None:
    result = runner.invoke(app, ["compare", "1", argument, "--store", store])
    assert result.exit_code != 0
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_criteria_on_a_real_municipal_log(tmp_path: Path) -> None:
    """BPIC 2015 (municipality 1) with the generic profile: one call answers how many
    cases finish within eight weeks and what holds the rest up."""
    path = str(tmp_path / "k.db")
    recorded = runner.invoke(app, ["ingest", str(shared_log("BPIC15_1.xes.gz")), "--store", path])
    assert recorded.exit_code == 0, recorded.output
    result = runner.invoke(app, ["criteria", "--store", path, "--lang", "en", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    card = {row["criterion"]: row for row in found["scorecard"]}
    assert set(card) == {"doorlooptijd", "behandelaars", "overdrachten"}
    throughput = card["doorlooptijd"]
    assert throughput["measured"] + throughput["not_measurable"] == 1199
    assert 0.2 < throughput["compliance"] < 0.8
    assert any(link["criterion"] == "doorlooptijd" for link in found["links"])
    assert found["summary"][0].startswith("Zaak afgerond binnen acht weken:")
