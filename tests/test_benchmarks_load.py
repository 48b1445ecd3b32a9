"""The load benchmark's client runner, which the capture and the dashboard parts share."""

from __future__ import annotations

import threading
import time

from benchmarks.load import _run_clients


def test_clients_run_at_once_and_are_timed_together() -> None:
    """Each client number runs once, all in threads at the same time (a barrier only
    they can pass together), and the run's wall-clock seconds, CPU seconds and the
    machine's load while it ran come back."""
    clients = 5
    together = threading.Barrier(clients, timeout=30)
    ran: list[int] = []

    def client(number: int) -> None:
        together.wait()  # raises BrokenBarrierError unless all five run at once
        time.sleep(0.2)
        ran.append(number)

    seconds, cpu, load = _run_clients(client, clients)
    assert sorted(ran) == list(range(clients))
    assert 0.2 <= seconds < 30  # from the first start to the last join
    assert 0 <= cpu < seconds
    assert set(load) == {"start", "end", "max_1min"}
