"""The retrying capture client against a real server (werkzeug's, in a thread)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from urllib3.util import Retry
from werkzeug.serving import make_server

from knelpunt.errors import CaptureError, ConcurrencyError
from knelpunt.events import AppendResult, Event
from knelpunt.events.sqlite import SQLiteEventStore
from knelpunt.simulate.capture import create_capture_app
from knelpunt.simulate.capture_client import CaptureClient

WHEN = "2025-03-04T09:15:00+01:00"
QUICK = Retry(
    total=5,
    backoff_factor=0.01,
    status_forcelist=(503,),
    allowed_methods=None,
    respect_retry_after_header=False,
    raise_on_status=False,
)


class _BusyStore(SQLiteEventStore):
    """A store whose first ``busy`` appends fail as a busy store does (503, resend)."""

    busy = 0

    def append(self, source_id: int, events: Sequence[Event]) -> AppendResult:
        if self.busy:
            self.busy -= 1
            raise ConcurrencyError("another writer holds the store")
        return super().append(source_id, events)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, _BusyStore]]:
    store = _BusyStore(tmp_path / "capture.db")
    server = make_server("127.0.0.1", 0, create_capture_app(store), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", store
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        store.close()


def _event(**fields: Any) -> dict[str, Any]:
    return {"case_id": "C1", "activity": "Intake", "timestamp": WHEN, **fields}


class TestCaptureClient:
    """Sends, resends and explains refusals."""

    def test_keys_given_once_and_resends_count_as_duplicates(
        self, served: tuple[str, _BusyStore]
    ) -> None:
        """Events without a key get one; the same events sent again add nothing."""
        base, store = served
        with CaptureClient.open_session(base, "Oefening", retry=QUICK) as client:
            first = client.send([_event(), _event(activity="Besluit")])
            assert (first.added, first.duplicates, first.attempts) == (2, 0, 1)
            assert len(set(first.keys)) == 2
            again = [_event(idempotency_key=first.keys[0])]
            assert client.send(again).duplicates == 1
            report = client.close_session()
        assert report["events"] == 2
        assert store.source(client.session_id).event_count == 2

    def test_a_busy_store_is_waited_for(self, served: tuple[str, _BusyStore]) -> None:
        """503 answers are resent with the same keys until the store takes them."""
        base, store = served
        with CaptureClient.open_session(base, "busy", retry=QUICK) as client:
            store.busy = 2
            receipt = client.send([_event(idempotency_key="k1")])
            assert (receipt.added, receipt.attempts) == (1, 3)
            store.busy = 10  # more than the policy's five retries
            with pytest.raises(CaptureError, match="503") as info:
                client.send([_event(idempotency_key="k2")])
        assert info.value.status == 503
        assert "send the same events again" in str(info.value)

    def test_refusals_are_not_resent(self, served: tuple[str, _BusyStore]) -> None:
        """422 lists the problems; a wrong token is 403; neither is resent."""
        base, _ = served
        with CaptureClient.open_session(base, "refusals", retry=QUICK) as client:
            with pytest.raises(CaptureError) as info:
                client.send([_event(timestamp="gisteren")])
            assert info.value.status == 422
            assert [e["field"] for e in info.value.errors] == ["timestamp"]
        with (
            CaptureClient(base, client.session_id, "not-the-token", retry=QUICK) as stranger,
            pytest.raises(CaptureError, match="not the token") as info,
        ):
            stranger.send([_event()])
        assert info.value.status == 403
        assert "not-the-token" not in repr(stranger)

    def test_no_server(self, tmp_path: Path) -> None:
        """A server that is not there: a clear error once the retries are spent."""
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]  # free, and nobody listens
        client = CaptureClient(f"http://127.0.0.1:{port}", 1, "t", retry=QUICK.new(total=2))
        with pytest.raises(CaptureError, match="did not answer after all retries") as info:
            client.send([_event()])
        assert info.value.status is None
