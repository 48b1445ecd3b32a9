"""Background work (recording an upload, simulation runs) in threads of the server,
with Dash's disk cache for progress and results.

Dash's ``DiskcacheManager`` forks a process per job. A fork of a server that has
used Polars (whose worker threads do not survive a fork) or holds database
connections can hang, so this manager runs the job in a thread instead and keeps
everything a request needs to know in the shared disk cache: whether the job
still runs, whether it was asked to stop, its progress and its result. Any worker
process of the same server (they share the cache folder) can answer for a job
that another one runs.

A job stops when asked at its next call of :func:`stop_if_asked` (the pages call
it where they report progress); a recording then rolls back as a whole.
"""

from __future__ import annotations

import contextvars
import secrets
import threading
from typing import Any, Final

from dash import DiskcacheManager

from knelpunt.errors import KnelpuntError

__all__ = ["JobStoppedError", "ThreadJobManager", "stop_if_asked"]

# A job whose worker died is given up after this many seconds.
_LONGEST: Final = 6 * 3600
_JOB: contextvars.ContextVar[tuple[Any, int] | None] = contextvars.ContextVar(
    "knelpunt_job", default=None
)


class JobStoppedError(KnelpuntError):
    """The job was stopped from the page; what it had not finished is not kept."""


def stop_if_asked() -> None:
    """Raise :class:`JobStoppedError` when the running job was asked to stop."""
    current = _JOB.get()
    if current is not None:
        cache, job = current
        if cache.get(f"knelpunt-job-{job}-stop") is not None:
            raise JobStoppedError("Stopped on request; work that had not finished is not kept.")


class ThreadJobManager(DiskcacheManager):
    """Dash's disk-cache manager with jobs in threads (see the module notes)."""

    def call_job_fn(self, key: Any, job_fn: Any, args: Any, context: Any) -> int:
        job = secrets.randbelow(2**31 - 1) + 1
        running = f"knelpunt-job-{job}"
        self.handle.set(running, True, expire=_LONGEST)

        def run() -> None:
            _JOB.set((self.handle, job))
            try:
                job_fn(key, self._make_progress_key(key), args, context)
            finally:
                self.handle.delete(running)

        threading.Thread(target=run, name=f"knelpunt-job-{job}", daemon=True).start()
        return job

    def job_running(self, job: Any) -> bool:
        return job is not None and self.handle.get(f"knelpunt-job-{job}") is not None

    def terminate_job(self, job: Any) -> None:
        if job is None:
            return
        self.handle.set(f"knelpunt-job-{job}-stop", True, expire=_LONGEST)
        self.handle.delete(f"knelpunt-job-{job}")

    def terminate_unhealthy_job(self, job: Any) -> bool:
        return False  # a thread cannot be half dead; a dead worker's job expires
