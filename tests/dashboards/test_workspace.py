"""The dashboard's workspace on stores the pages must cope with (no browser)."""

from __future__ import annotations

from pathlib import Path

import knelpunt as kp
from dashboards.workspace import Workspace
from knelpunt.mining.organisation import OTHER
from knelpunt.testing import make_log


def test_a_log_without_teams_still_draws_the_team_level(tmp_path: Path) -> None:
    path = str(tmp_path / "k.db")
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=30, seed=2), name="export")
    ws = Workspace(path)
    assert ws.groups() == {}  # no org:group anywhere: no teams, not a failure
    assert ws.attributes()["case:scheme"].notna().all()
    work = ws.result("teamwork", None, "generiek")
    assert work.teams["team"].tolist() == [OTHER]
    assert work.notes


def test_teams_and_attributes_follow_the_store(tmp_path: Path) -> None:
    path = str(tmp_path / "k.db")
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=10, seed=2), name="export")
    ws = Workspace(path)
    assert len(ws.attributes()) == 10
    with kp.open_store(path) as store:
        kp.simulate_scenario(store, "baseline", overrides=["days=14"])
    assert len(ws.attributes()) > 10  # read again once the store moved on
    assert set(ws.groups().values()) >= {"generalist"}


def test_warming_computes_what_the_pages_show(tmp_path: Path) -> None:
    path = str(tmp_path / "k.db")
    with kp.open_store(path) as store:
        kp.simulate_scenario(store, "baseline", overrides=["days=14"])
    ws = Workspace(path)
    ws.warm(profile="sociaal-domein").join(timeout=120)
    computed = {key[0] for key in ws._results}
    assert {"summary", "scorecard", "map", "blockers", "criteria", "teamwork"} <= computed
