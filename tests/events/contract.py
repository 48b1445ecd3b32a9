"""The event store contract, written once and run against every backend."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

import knelpunt as kp
from knelpunt.errors import SourceExistsError, SourceFinishedError, UnknownSourceError
from knelpunt.events import Event, EventStore, NewAuditEntry, NewSource, UserRecord
from knelpunt.testing import make_log
from tests.helpers import make_csv_frame, store_state

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def _events(n: int, *, case: str = "c1", key_prefix: str | None = None) -> list[Event]:
    return [
        Event(
            case,
            f"A{i}",
            T0 + timedelta(minutes=i),
            "complete",
            "r1",
            {"i": i},
            None if key_prefix is None else f"{key_prefix}{i}",
        )
        for i in range(n)
    ]


class EventStoreContract(ABC):
    """Behaviour every EventStore backend must show."""

    @abstractmethod
    def raw_sql(self, url: str, statement: str) -> None:
        """Run one statement with the backend's own driver, outside knelpunt."""

    @pytest.fixture
    @abstractmethod
    def url(self) -> str:
        """A URL of a new, empty store (each backend overrides this fixture)."""

    @pytest.fixture
    def store(self, url: str) -> Iterator[EventStore]:
        with kp.open_store(url) as opened:
            yield opened

    def test_new_store_is_empty(self, store: EventStore) -> None:
        """A new store has no sources and position 0."""
        assert store.sources() == []
        assert store.last_position() == 0
        assert store.read_events().empty

    def test_append_and_read_back(self, store: EventStore) -> None:
        """Appended events come back with all their fields, in order."""
        source = store.create_source(NewSource("capture 1", "capture"))
        result = store.append(source.source_id, _events(3))
        assert (result.added, result.duplicates) == (3, 0)
        rows = store.read_events()
        assert rows["activity"].tolist() == ["A0", "A1", "A2"]
        assert rows["time_us"].iloc[1] == _events(3)[1].time_us
        assert rows["attributes"].iloc[2] == '{"i": 2}'
        assert store.source(source.source_id).event_count == 3

    def test_positions_are_global_and_increasing(self, store: EventStore) -> None:
        """Positions are unique across sources and grow in commit order."""
        a = store.create_source(NewSource("a", "capture"))
        b = store.create_source(NewSource("b", "capture"))
        store.append(a.source_id, _events(2))
        store.append(b.source_id, _events(2, case="c2"))
        store.append(a.source_id, _events(1, case="c3"))
        positions = store.read_events()["position"].tolist()
        assert positions == sorted(positions)
        assert len(set(positions)) == 5
        assert store.last_position() == positions[-1]
        after = store.read_events(after=positions[1])
        assert after["position"].tolist() == positions[2:]

    def test_per_source_order_is_kept(self, store: EventStore) -> None:
        """Events of one source read back in the order given, interleaved or not."""
        a = store.create_source(NewSource("a", "simulation"))
        b = store.create_source(NewSource("b", "simulation"))
        store.append(a.source_id, _events(2))
        store.append(b.source_id, _events(3, case="x"))
        store.append(a.source_id, _events(2, case="y"))
        only_a = store.read_events(sources=[a.source_id])
        assert only_a["case_id"].tolist() == ["c1", "c1", "y", "y"]
        assert only_a["activity"].tolist() == ["A0", "A1", "A0", "A1"]

    def test_reading_without_attributes(self, store: EventStore) -> None:
        """attributes=False reads the same events, in batches, with the attributes left out."""
        source = store.create_source(NewSource("capture", "capture"))
        store.append(source.source_id, _events(5))
        full = pd.concat(list(store.iter_events(batch_size=2)), ignore_index=True)
        lean = pd.concat(list(store.iter_events(batch_size=2, attributes=False)), ignore_index=True)
        assert lean["attributes"].isna().all()
        pd.testing.assert_frame_equal(
            lean.drop(columns="attributes"), full.drop(columns="attributes")
        )

    def test_projection_follows_the_store(self, store: EventStore) -> None:
        """The projection catches up on either backend and matches a fresh build."""
        source = store.create_source(NewSource("capture", "capture"))
        store.append(source.source_id, _events(3))
        table = kp.load_events(store)
        store.append(source.source_id, _events(2, case="c0"))
        caught_up = kp.load_events(store, since=table)
        assert caught_up.high == store.last_position()
        assert caught_up.to_frame().equals(kp.load_events(store).to_frame())
        assert kp.discover_map(caught_up).cases == 2

    def test_idempotency_key_stores_once(self, store: EventStore) -> None:
        """The same event sent twice with one idempotency key is stored once."""
        source = store.create_source(NewSource("capture", "capture"))
        first = store.append(source.source_id, _events(3, key_prefix="k"))
        again = store.append(source.source_id, _events(3, key_prefix="k"))
        doubled = store.append(source.source_id, _events(1, key_prefix="new") * 2)
        assert (first.added, again.added, again.duplicates) == (3, 0, 3)
        assert (doubled.added, doubled.duplicates) == (1, 1)
        assert store.source(source.source_id).event_count == 4

    def test_finish_source_writes_the_report_once(self, store: EventStore) -> None:
        """A run or session gets one closing report; a second one is refused, not rewritten."""
        source = store.create_source(NewSource("run", "simulation"))
        store.append(source.source_id, _events(2))
        finished = store.finish_source(source.source_id, {"cases": 1, "complete": True})
        assert dict(finished.report) == {"cases": 1, "complete": True}
        with pytest.raises(SourceFinishedError, match="already finished"):
            store.finish_source(source.source_id, {"cases": 2})
        with pytest.raises(UnknownSourceError):
            store.finish_source(source.source_id + 99, {})
        assert dict(store.source(source.source_id).report) == {"cases": 1, "complete": True}

    def test_same_file_twice_adds_nothing(self, store: EventStore, tmp_path: Path) -> None:
        """Re-recording the same bytes adds 0 events and says so."""
        path = tmp_path / "log.csv"
        make_log(cases=5).to_csv(path, index=False)
        first = kp.ingest_log(store, path)
        second = kp.ingest_log(store, path, name="another name")
        assert first.added == 25
        assert not first.already_recorded
        assert second.added == 0
        assert second.already_recorded
        assert "Already recorded as source" in second.message
        assert second.source.source_id == first.source.source_id
        assert len(store.sources()) == 1

    def test_content_hash_is_unique(self, store: EventStore) -> None:
        """A second source with the same content hash is refused."""
        store.create_source(NewSource("a", "upload", content_hash="abc"))
        with pytest.raises(SourceExistsError):
            store.create_source(NewSource("b", "upload", content_hash="abc"))

    def test_append_to_unknown_source(self, store: EventStore) -> None:
        """Appending to a source that does not exist is refused clearly."""
        with pytest.raises(UnknownSourceError, match="knelpunt sources"):
            store.append(42, _events(1))

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE events SET activity = 'changed'",
            "DELETE FROM events",
            "UPDATE sources SET name = 'changed'",
            "DELETE FROM sources",
            "DELETE FROM purges",
            "UPDATE audit SET actor = 'someone else'",
            "DELETE FROM audit",
        ],
    )
    def test_raw_sql_cannot_change_events(
        self, url: str, store: EventStore, statement: str
    ) -> None:
        """The database itself refuses UPDATE and DELETE, whatever client sends them."""
        source = store.create_source(NewSource("a", "capture"))
        store.append(source.source_id, _events(2))
        store.purge(store.create_source(NewSource("gone", "capture")).source_id, reason="test")
        store.append_audit(NewAuditEntry("login", actor="anna", address="10.0.0.7"))
        before = store_state(store), store.audit_log()
        with pytest.raises(Exception, match="append-only"):
            self.raw_sql(url, statement)
        assert (store_state(store), store.audit_log()) == before

    def test_purge_removes_a_source_and_logs_it(self, store: EventStore) -> None:
        """Purging removes every event of one source and leaves a log entry."""
        keep = store.create_source(NewSource("keep", "capture"))
        drop = store.create_source(NewSource("drop", "capture"))
        store.append(keep.source_id, _events(2))
        store.append(drop.source_id, _events(3, case="x"))
        last = store.last_position()
        record = store.purge(drop.source_id, reason="erasure request", purged_by="dpo")
        assert (record.events_removed, record.source_name, record.reason) == (
            3,
            "drop",
            "erasure request",
        )
        assert [s.name for s in store.sources()] == ["keep"]
        assert set(store.read_events()["case_id"]) == {"c1"}
        assert [p.source_id for p in store.purges()] == [drop.source_id]
        assert store.last_position() == last  # positions are never reused
        store.append(keep.source_id, _events(1, case="z"))
        assert store.last_position() == last + 1
        with pytest.raises(UnknownSourceError):
            store.purge(drop.source_id, reason="again")

    def test_purge_writes_an_audit_entry(self, store: EventStore) -> None:
        """A purge leaves its entry in the audit log, written in the purge's transaction."""
        drop = store.create_source(NewSource("drop", "capture"))
        store.append(drop.source_id, _events(3))
        store.purge(drop.source_id, reason="erasure request", purged_by="dpo")
        (entry,) = store.audit_log(actions=["purge"])
        assert (entry.actor, entry.target) == ("dpo", f"source {drop.source_id} (drop)")
        assert entry.details == {
            "reason": "erasure request",
            "events_removed": 3,
            "rejects_removed": 0,
        }

    def test_users_are_added_replaced_and_removed(self, store: EventStore) -> None:
        """A user record reads back as written; writing one of the same name replaces it."""
        assert store.users() == []
        anna = UserRecord("anna", "analyst", "$argon2id$x", T0, T0, T0)
        store.put_user(anna)
        store.put_user(UserRecord("bob", "viewer", "$argon2id$y", T0, T0, T0))
        assert store.users() == [anna, UserRecord("bob", "viewer", "$argon2id$y", T0, T0, T0)]
        later = T0 + timedelta(hours=1)
        store.put_user(UserRecord("anna", "admin", "$argon2id$z", T0, later, later))
        assert store.user("anna") == UserRecord("anna", "admin", "$argon2id$z", T0, later, later)
        assert store.user("nobody") is None
        assert store.remove_user("bob") is True
        assert store.remove_user("bob") is False
        assert [u.name for u in store.users()] == ["anna"]

    def test_user_moments_keep_their_instant_in_utc(self, store: EventStore) -> None:
        """Moments given in another zone come back as the same instant, in UTC."""
        amsterdam = datetime(2025, 3, 3, 10, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
        store.put_user(UserRecord("anna", "viewer", "h", amsterdam, amsterdam, amsterdam))
        found = store.user("anna")
        assert found is not None
        assert found.created_at == amsterdam
        assert found.created_at.utcoffset() == timedelta(0)

    def test_audit_log_is_appended_and_filtered(self, store: EventStore) -> None:
        """Audit entries read back in order, by action, actor, address, moment and count."""
        start = datetime.now(UTC) - timedelta(seconds=1)
        first = store.append_audit(
            NewAuditEntry("login_failed", actor="anna", address="10.0.0.7", details={"n": 1})
        )
        store.append_audit(NewAuditEntry("login_failed", actor="bob", address="10.0.0.7"))
        store.append_audit(NewAuditEntry("login", actor="anna", address="10.0.0.8"))
        store.append_audit(NewAuditEntry("export", actor="anna", target="cases-grid.csv"))
        assert first.action == "login_failed"
        assert first.details == {"n": 1}
        assert start <= first.at <= datetime.now(UTC)
        everything = store.audit_log()
        assert [e.action for e in everything] == ["login_failed", "login_failed", "login", "export"]
        assert [e.entry_id for e in everything] == sorted(e.entry_id for e in everything)
        assert len(store.audit_log(actions=["login_failed"], address="10.0.0.7")) == 2
        assert len(store.audit_log(actions=["login_failed"], actor="anna")) == 1
        assert [e.action for e in store.audit_log(actor="anna", limit=2)] == ["login", "export"]
        assert store.audit_log(since=datetime.now(UTC) + timedelta(seconds=5)) == []
        assert len(store.audit_log(since=start)) == 4
        assert store.audit_log(actions=[]) == []

    def test_audit_log_refuses_an_entry_without_action(self, store: EventStore) -> None:
        """Every entry names what happened."""
        with pytest.raises(ValueError, match="Name the action"):
            store.append_audit(NewAuditEntry(" "))
        assert store.audit_log() == []

    def test_purge_allows_the_same_file_again(self, store: EventStore) -> None:
        """After a purge, the same content can be recorded anew."""
        frame = make_log(cases=3)
        first = kp.ingest_log(store, frame)
        store.purge(first.source.source_id, reason="wrong mapping")
        again = kp.ingest_log(store, frame)
        assert again.added == 15
        assert not again.already_recorded

    def test_failure_midway_leaves_store_unchanged(
        self, store: EventStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An error after some batches were written rolls the whole upload back."""
        kp.ingest_log(store, make_log(cases=4), name="earlier")
        before = store_state(store)
        path = tmp_path / "big.csv"
        make_csv_frame(250_000).to_csv(path, index=False)
        from knelpunt.ingest import pipeline

        calls = {"n": 0}
        original = pipeline.convert_chunk

        def failing(*args: object, **kwargs: object) -> object:
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError("disk unplugged")
            return original(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(pipeline, "convert_chunk", failing)
        with pytest.raises(OSError, match="disk unplugged"):
            kp.ingest_log(store, path)
        assert calls["n"] == 3  # two batches had been written before the failure
        assert store_state(store) == before

    def test_failed_simulation_run_leaves_nothing(
        self, store: EventStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A simulation run whose write fails half-way leaves no source and no event
        behind; run again, it is recorded whole, and once."""
        from knelpunt.simulate import runs

        kp.ingest_log(store, make_log(cases=4), name="earlier")
        before = store_state(store)
        monkeypatch.setattr(runs, "_RECORD_BATCH", 500)  # several batches in the run
        batches = {"n": 0}
        original = type(store)._load_events  # type: ignore[attr-defined]

        def failing(self: object, *args: object) -> None:
            batches["n"] += 1
            if batches["n"] == 3:
                raise OSError("power cut")
            original(self, *args)

        monkeypatch.setattr(type(store), "_load_events", failing)
        short = ["days=20"]
        with pytest.raises(OSError, match="power cut"):
            kp.simulate_scenario(store, "baseline", seed=5, overrides=short)
        assert store_state(store) == before
        monkeypatch.setattr(type(store), "_load_events", original)
        run = kp.simulate_scenario(store, "baseline", seed=5, overrides=short)
        assert run.source is not None
        assert run.added == len(run.events) == run.source.event_count > 1_000
        assert run.source.report["events"] == run.added
        assert kp.simulate_scenario(store, "baseline", seed=5, overrides=short).added == 0
        assert len(store.sources()) == 2

    def test_simulation_run_recorded_meanwhile_is_not_doubled(
        self, store: EventStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Two processes running the same simulation at once: the one that commits
        second adds nothing and returns the first one's source."""
        first = kp.simulate_scenario(store, "baseline", seed=6, overrides=["days=10"])
        # The second process looked before the first committed: it found nothing.
        monkeypatch.setattr(store, "find_source", lambda **_: None)
        second = kp.simulate_scenario(store, "baseline", seed=6, overrides=["days=10"])
        assert second.added == 0
        assert second.source == first.source
        assert len(store.sources()) == 1

    def test_sigkill_midway_leaves_store_unchanged(self, url: str, tmp_path: Path) -> None:
        """Killing the ingesting process leaves the store as it was, and usable."""
        with kp.open_store(url) as store:
            kp.ingest_log(store, make_log(cases=4), name="earlier")
            before = store_state(store)
        path = tmp_path / "big.csv"
        make_csv_frame(600_000).to_csv(path, index=False)
        script = textwrap.dedent(
            f"""
            import sys, knelpunt as kp
            def progress(done, total):
                print("wrote", done, flush=True)
            store = kp.open_store({url!r})
            kp.ingest_log(store, {str(path)!r}, progress=progress)
            print("finished", flush=True)
            """
        )
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first.startswith("wrote"), first  # batches are being written now
        child.kill()
        child.wait(timeout=30)
        child.stdout.close()
        with kp.open_store(url) as store:
            assert store_state(store) == before
            result = kp.ingest_log(store, make_log(cases=2, seed=9), name="after the crash")
            assert result.added == 10

    def test_concurrent_writers_lose_nothing(self, url: str, tmp_path: Path) -> None:
        """Two processes ingesting at once: all events kept, no position shared."""
        kp.open_store(url).close()  # create the schema first
        paths = []
        for seed in (1, 2):
            path = tmp_path / f"log{seed}.csv"
            make_csv_frame(120_000, seed=seed).to_csv(path, index=False)
            paths.append(path)
        script = (
            "import sys, knelpunt as kp; kp.ingest_log(kp.open_store(sys.argv[1]), sys.argv[2])"
        )
        children = [subprocess.Popen([sys.executable, "-c", script, url, str(p)]) for p in paths]
        assert [c.wait(timeout=300) for c in children] == [0, 0]
        with kp.open_store(url) as store:
            rows = store.read_events()
            assert len(rows) == 240_000
            assert rows["position"].is_unique
            for source in store.sources():
                mine = rows[rows["source_id"] == source.source_id]
                assert mine["line"].is_monotonic_increasing  # file order kept
                assert len(mine) == 120_000

    def test_rejects_are_kept_with_the_source(self, store: EventStore, tmp_path: Path) -> None:
        """Lenient mode stores refused rows with their reasons, and purge removes them."""
        path = tmp_path / "log.csv"
        path.write_text("case,activity,timestamp\nc1,A,2024-01-01 10:00\n,B,2024-01-01 11:00\n")
        result = kp.ingest_log(store, path, mode="lenient")
        assert (result.added, result.rejected) == (1, 1)
        rejects = store.rejects(result.source.source_id)
        assert rejects["reason"].tolist() == ["the case id is empty"]
        assert rejects["line"].tolist() == [3]
        assert store.purge(result.source.source_id, reason="t").rejects_removed == 1

    def test_read_events_as_pm4py_frame(self, store: EventStore) -> None:
        """A source reads back as a pm4py-style DataFrame with UTC timestamps."""
        kp.ingest_log(store, make_log(cases=3, seed=4))
        frame = kp.read_events(store)
        assert {
            "case:concept:name",
            "concept:name",
            "time:timestamp",
            "org:resource",
            "case:scheme",
            "cost",
        } <= set(frame.columns)
        assert str(frame["time:timestamp"].dt.tz) == "UTC"
        original = make_log(cases=3, seed=4)
        assert frame["time:timestamp"].tolist() == [
            t.tz_convert("UTC") for t in pd.to_datetime(original["time:timestamp"])
        ]
