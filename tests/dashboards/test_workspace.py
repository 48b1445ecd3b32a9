"""The dashboard's workspace on stores the pages must cope with (no browser)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import knelpunt as kp
from dashboards.workspace import ACTIVITY_STEPS, Workspace
from knelpunt.errors import KnelpuntError
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
        kp.simulate_scenario(store, "waiting-list", overrides=["days=14"])
    ws = Workspace(path)
    ws.warm(profile="sociaal-domein").join(timeout=300)
    computed = {key[0] for key in ws._results}
    assert {"summary", "scorecard", "map", "blockers", "criteria", "teamwork"} <= computed
    # What the pages then ask for is found, not computed again: all sources, each
    # source alone, and the map at every step of its activities slider.
    kept = list(ws._results.values())

    def found(name: str, sources: list[int] | None, **options: object) -> bool:
        return any(ws.result(name, sources, "sociaal-domein", **options) is k for k in kept)

    for sources in (None, [1], [2]):
        assert all(found(name, sources) for name in ("summary", "blockers", "teamwork"))
        # As the map page asks for it: with its options spelled out.
        assert found("map", sources, activities=1.0, working=False)
    assert all(found("map", None, activities=s / 100, working=False) for s in ACTIVITY_STEPS)
    assert len(ws._results) == len(kept)


def test_an_upload_is_found_by_every_worker_of_the_store(tmp_path: Path) -> None:
    """Two workspaces on one store stand for two worker processes: the check may run
    on one and the recording on the other."""
    path = str(tmp_path / "k.db")
    first, second = Workspace(path), Workspace(path)
    upload = first.save_upload("export.csv", b"zaak;stap;tijd\\n")
    assert second.upload_path(upload).read_bytes() == b"zaak;stap;tijd\\n"
    other = Workspace(str(tmp_path / "other.db"))
    with pytest.raises(KnelpuntError, match="upload it again"):
        other.upload_path(upload)  # another store's uploads are not shared


def test_uploads_older_than_a_day_are_removed(tmp_path: Path) -> None:
    path = str(tmp_path / "k.db")
    ws = Workspace(path)
    old = ws.upload_path(ws.save_upload("old.csv", b"a"))
    os.utime(old, (time.time() - 2 * 86_400,) * 2)
    fresh = ws.upload_path(ws.save_upload("new.csv", b"b"))
    Workspace(path)  # a worker starting up tidies the folder
    assert not old.exists()
    assert fresh.exists()


def test_a_purge_is_seen_although_the_last_position_stays(tmp_path: Path) -> None:
    """A purge leaves the store's last position as it was; the workspace must not keep
    showing the purged events (nor pages drawn from them)."""
    path = str(tmp_path / "k.db")
    with kp.open_store(path) as store:
        kp.simulate_scenario(store, "baseline", overrides=["days=14"])
        kp.simulate_scenario(store, "baseline", seed=5, overrides=["days=14"])
    ws = Workspace(path)
    both = ws.result("summary", None, "sociaal-domein").cases
    token, drawn = ws.drawn("page", "nl", None, "sociaal-domein", lambda: "before")
    assert ws.shown(token) == "before"
    with kp.open_store(path) as store:
        kp.purge_source(store, 2, reason="test", purged_by="test")
        one = kp.load_events(store, sources=[1]).n_cases
    assert ws.result("summary", None, "sociaal-domein").cases == one < both
    new_token, redrawn = ws.drawn("page", "nl", None, "sociaal-domein", lambda: "after")
    assert redrawn == "after" != drawn
    assert new_token != token


def test_a_result_being_computed_is_waited_for_not_computed_twice(tmp_path: Path) -> None:
    import threading
    import time

    ws = Workspace(str(tmp_path / "k.db"))
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        time.sleep(0.3)
        return len(calls)

    found: list[int] = []
    threads = [
        threading.Thread(target=lambda: found.append(ws._cached(("x",), slow))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert calls == [1]
    assert found == [1, 1, 1, 1]

    # A failed attempt leaves the next caller to try again.
    def broken() -> int:
        raise KnelpuntError("no")

    with pytest.raises(KnelpuntError):
        ws._cached(("y",), broken)
    assert ws._cached(("y",), lambda: 7) == 7


def test_results_are_kept_on_disk_for_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restarted server (or another worker process) serves what was computed before
    instead of computing it again; a store made anew at the same place is not served
    the old store's results."""
    path = str(tmp_path / "k.db")
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=12, seed=2), name="export")
    first = Workspace(path)
    summary = first.result("summary", None, "generiek")
    teamwork = first.result("teamwork", None, "generiek")
    first.close()
    assert Path(path + ".knelpunt-cache").is_dir()

    calls: list[str] = []
    real = kp.summarise_log
    monkeypatch.setattr(kp, "summarise_log", lambda *a, **k: calls.append("x") or real(*a, **k))
    again = Workspace(path)
    assert again.result("summary", None, "generiek").cases == summary.cases == 12
    assert again.result("teamwork", None, "generiek").teams.equals(teamwork.teams)
    assert calls == []  # read back, not computed
    again.close()

    # The store made anew, with other events, at the same path.
    for leftover in tmp_path.glob("k.db*"):
        if leftover.is_file():
            leftover.unlink()
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=5, seed=9), name="another export")
    fresh = Workspace(path)
    assert fresh.result("summary", None, "generiek").cases == 5
    assert calls == ["x"]
    # And memory only, when asked.
    assert Workspace(path, cache=False).folder is None


def test_a_result_follows_teams_named_by_another_source(tmp_path: Path) -> None:
    """The teams are the store's: a source that names the team of a resource of
    another source changes that source's team level, though its events stay the same."""
    path = str(tmp_path / "k.db")
    log = make_log(cases=10, seed=2)
    with kp.open_store(path) as store:
        kp.ingest_log(store, log, name="without teams")
    ws = Workspace(path)
    before = ws.result("teamwork", [1], "generiek")
    summary = ws.result("summary", [1], "generiek")
    assert before.teams["team"].tolist() == [OTHER]
    named = log.assign(**{"org:group": "Wijkteam Noord"}).head(5)
    named["case:concept:name"] = "other-" + named["case:concept:name"].astype(str)
    with kp.open_store(path) as store:
        kp.ingest_log(store, named, name="with teams")
    after = ws.result("teamwork", [1], "generiek")
    assert "Wijkteam Noord" in after.teams["team"].tolist()
    # A result that does not use the teams is still served as it was.
    assert ws.result("summary", [1], "generiek") is summary


def test_warming_asked_again_while_it_runs_runs_once_more(tmp_path: Path) -> None:
    """An upload recorded during the warm-up is warmed too: the running warm-up goes
    round once more, rather than a second one beside it."""
    path = str(tmp_path / "k.db")
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=10, seed=2), name="first")
    ws = Workspace(path, cache=False)
    first = ws.warm(profile="generiek")
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=6, seed=4), name="second")
    again = ws.warm(profile="generiek")
    assert again is first or not first.is_alive()
    again.join(timeout=300)
    first.join(timeout=300)
    assert ws._warming is None
    # The second source alone was warmed, before any page asked for it.
    assert any(key[0] == "summary" and (2,) in key for key in ws._results)
    assert ws.result("summary", [2], "generiek").cases == 6


def test_kept_results_follow_the_profile_s_words_and_a_purge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edited profile is not answered with what the old one gave, and a purge
    leaves none of the purged events' results on disk."""
    import shutil

    path = str(tmp_path / "k.db")
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=8, seed=2), name="one")
        kp.ingest_log(store, make_log(cases=4, seed=5), name="two")
    profile = tmp_path / "mine.yaml"
    shutil.copy(Path(kp.__file__).parent / "profiles" / "generiek.yaml", profile)
    first = Workspace(path)
    first.result("summary", None, str(profile))
    first.close()
    calls: list[str] = []
    real = kp.summarise_log
    monkeypatch.setattr(kp, "summarise_log", lambda *a, **k: calls.append("x") or real(*a, **k))
    profile.write_text(profile.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    os.utime(profile, (time.time() + 5, time.time() + 5))
    again = Workspace(path)
    again.result("summary", None, str(profile))
    assert calls == ["x"]  # computed again for the edited profile

    kept = again._disk
    assert kept is not None
    assert len(kept) > 0
    with kp.open_store(path) as store:
        kp.purge_source(store, 2, reason="test", purged_by="test")
    assert again.result("summary", None, str(profile)).cases == 8
    # Only what was computed or read after the purge is kept: the summary, and the
    # projection it was computed on.
    assert sorted(key[1] for key in kept.iterkeys()) == ["latest", "summary"]


def test_a_cache_folder_others_may_write_to_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    ws = Workspace(str(tmp_path / "k.db"), cache=shared)
    assert ws.folder is None  # memory only: its files would be read back as objects


def test_a_failed_warm_up_does_not_stop_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "k.db")
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=5, seed=2), name="one")
    ws = Workspace(path, cache=False)
    real = ws.sources

    def unreachable() -> list[kp.Source]:
        raise KnelpuntError("the store cannot be reached")

    monkeypatch.setattr(ws, "sources", unreachable)
    ws.warm(profile="generiek").join(timeout=60)
    assert ws._warming is None
    monkeypatch.setattr(ws, "sources", real)
    ws.warm(profile="generiek").join(timeout=300)
    assert any(key[0] == "summary" for key in ws._results)


def test_a_restart_reads_the_projection_and_facts_back_and_catches_them_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restarted server does not read every event again: it takes the projection
    and the store-wide facts it kept, and reads only the events recorded since. A
    store made anew at the same place is read whole."""
    path = str(tmp_path / "k.db")
    log = make_log(cases=12, seed=2).assign(**{"org:group": "Wijkteam Noord"})
    with kp.open_store(path) as store:
        kp.ingest_log(store, log, name="export", privacy="off")
    first = Workspace(path)
    first.events(None)
    first.events([1])
    assert first.groups()
    first.close()

    # Recorded while the server was down: a second source, with a team of its own.
    later = make_log(cases=3, seed=5).assign(**{"org:group": "Wijkteam Zuid"})
    later["case:concept:name"] = "later-" + later["case:concept:name"].astype(str)
    later["org:resource"] = "Nieuwe collega"
    with kp.open_store(path) as store:
        kp.ingest_log(store, later, name="later", privacy="off")

    read_from: list[int] = []
    real_events, real_facts = kp.load_events, kp.load_store_facts

    def load_events(store: kp.EventStore, **options: object) -> kp.EventTable:
        since = options.get("since")
        read_from.append(-1 if since is None else since.high)  # type: ignore[attr-defined]
        return real_events(store, **options)  # type: ignore[arg-type]

    def load_facts(store: kp.EventStore, **options: object) -> kp.StoreFacts:
        since = options.get("since")
        read_from.append(-1 if since is None else since.high)  # type: ignore[attr-defined]
        return real_facts(store, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(kp, "load_events", load_events)
    monkeypatch.setattr(kp, "load_store_facts", load_facts)
    again = Workspace(path)
    with kp.open_store(path) as store:
        whole = real_events(store)
        facts = real_facts(store)
        assert again.events(None).case_ids.tolist() == whole.case_ids.tolist()
        assert (again.events(None).time_us == whole.time_us).all()
        alone = real_events(store, sources=[1])
        assert again.events([1]).time_us.tolist() == alone.time_us.tolist()
    assert again.groups() == facts.groups
    assert again.groups()["Nieuwe collega"] == "Wijkteam Zuid"
    assert len(again.attributes()) == 15
    kept_high = len(log)
    assert read_from == [kept_high, kept_high, kept_high]  # all, source 1, the facts
    again.close()

    # The store made anew at the same place, with as many events: read whole.
    for leftover in tmp_path.glob("k.db"):
        leftover.unlink()
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=15, seed=9), name="another", privacy="off")
    read_from.clear()
    fresh = Workspace(path)
    assert fresh.events(None).n_cases == 15
    assert fresh.groups() == {}
    assert read_from == [-1, -1]
    fresh.close()


def test_the_pages_are_prepared_when_someone_else_records(tmp_path: Path) -> None:
    """A recording made outside the dashboard (``knelpunt ingest``, another worker) is
    warmed up once the store is still, before any page asks for it."""
    path = str(tmp_path / "k.db")
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=6, seed=2), name="one")
    ws = Workspace(path)
    ws.watch(profile="generiek", every=0.05, gap=0)
    try:
        with kp.open_store(path) as store:
            kp.ingest_log(store, make_log(cases=9, seed=3), name="two")
            high = store.last_position()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done = [
                k for k in list(ws._results) if k[0] == "summary" and k[3] is None and k[4] == high
            ]
            if done and ws._warming is None:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the recording was not warmed up")
        assert ws.result("summary", None, "generiek").cases == 15
    finally:
        ws.close()


def test_one_worker_warms_at_a_time(tmp_path: Path) -> None:
    """Workers on one store share the disk: while one warms up, another does not run
    the same work beside it (it reads the results from the disk)."""
    path = str(tmp_path / "k.db")
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=6, seed=2), name="one")
    busy = Workspace(path)
    other = Workspace(path)
    assert busy._disk is not None
    busy._disk.add(("warming",), "another process", expire=60)
    other.warm(profile="generiek").join(timeout=60)
    assert not other._results  # left to the one that warms
    busy._disk.delete(("warming",))
    other.warm(profile="generiek").join(timeout=60)
    assert any(k[0] == "summary" for k in other._results)
    assert ("warming",) not in busy._disk  # the mark is taken away when done
    busy.close()
    other.close()


def test_priming_reads_what_every_page_needs_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At start (also with --no-warm) the events and the store-wide facts are read in
    the background, so the first visitor does not wait for them; no result is computed."""
    from dashboards import workspace as module

    monkeypatch.setattr(module, "DRAWINGS", {})
    path = str(tmp_path / "k.db")
    log = make_log(cases=7, seed=2).assign(**{"org:group": "Wijkteam Noord"})
    with kp.open_store(path) as store:
        kp.ingest_log(store, log, name="export", privacy="off")
    ws = Workspace(path)
    ws.prime().join(timeout=60)
    assert ws._tables[None].n_cases == 7
    assert ws._latest_facts is not None
    assert set(ws._latest_facts.groups.values()) == {"Wijkteam Noord"}
    assert not [k for k in ws._results if k[0] != "facts"]
    ws.close()


def test_priming_draws_the_pages_from_results_kept_and_computes_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a restart the pages are drawn again from the results kept on disk; a page
    whose results are not kept is left for its visit, and nothing is computed."""
    from dashboards import workspace as module

    path = str(tmp_path / "k.db")
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=7, seed=2), name="export")

    def overview(lang: str, sources: object, profile: str, ws: Workspace) -> object:
        return ("overview", ws.result("summary", None, profile).cases)

    def variants(lang: str, sources: object, profile: str, ws: Workspace) -> object:
        return ("variants", len(ws.result("variants", None, profile)))

    monkeypatch.setattr(module, "DRAWINGS", {"cases-body": variants, "overview-body": overview})
    first = Workspace(path, profile="generiek")
    first.result("summary", None, "generiek")  # kept on disk; the variants are not
    first.close()

    calls: list[str] = []
    real = kp.list_variants
    monkeypatch.setattr(kp, "list_variants", lambda *a, **k: calls.append("x") or real(*a, **k))
    again = Workspace(path, profile="generiek")
    again.prime().join(timeout=60)
    token = again.page_token("overview-body", "nl", None, "generiek")
    assert again.shown(token) == ("overview", 7)  # drawn before any visit
    assert again.shown(again.page_token("cases-body", "nl", None, "generiek")) is None
    assert calls == []  # the variants were not computed
    again.close()


def test_the_warm_up_draws_the_landing_page_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A visitor arriving during the warm-up finds the overview drawn first (for all
    sources, then for the newest source alone), whatever order the pages registered in."""
    from dashboards import workspace as module

    path = str(tmp_path / "k.db")
    with kp.open_store(path) as store:
        kp.ingest_log(store, make_log(cases=5, seed=2), name="one")
        kp.ingest_log(store, make_log(cases=4, seed=3), name="two")
    order: list[tuple[str, object]] = []

    def drawing(name: str) -> object:
        return lambda lang, sources, profile, ws: order.append((name, sources))

    pages = {n: drawing(n) for n in ("cases-body", "team-body", "overview-body", "blockers-body")}
    monkeypatch.setattr(module, "DRAWINGS", pages)
    ws = Workspace(path)
    ws.warm(profile="generiek").join(timeout=120)
    assert order[:4] == [
        ("overview-body", None),
        ("blockers-body", None),
        ("cases-body", None),
        ("team-body", None),
    ]
    assert order[4] == ("overview-body", [2])
    ws.close()
