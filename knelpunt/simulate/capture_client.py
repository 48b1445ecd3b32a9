"""A client of the live-capture API that resends until it is answered.

The capture API (:mod:`knelpunt.simulate.capture`) answers only after the store
committed, and keeps one event per idempotency key, so resending is always safe.
:class:`CaptureClient` gives every event a key before the first attempt and resends
the same request while the server cannot answer: it is down or restarting
(connection refused or dropped), or its store is (503, e.g. while PostgreSQL
restarts). The retry policy is urllib3's :class:`~urllib3.util.Retry`: exponential
backoff with a ceiling, the server's ``Retry-After`` respected, bounded in count.
Any other refusal (400, 401, 403, 404, 409, 413, 422) is not resent: it raises
:class:`~knelpunt.errors.CaptureError` with the server's explanation.

Example (against a server started with ``knelpunt capture serve``)::

    from knelpunt.simulate.capture_client import CaptureClient

    client = CaptureClient.open_session("http://127.0.0.1:8765", "Oefening 3 maart")
    receipt = client.send([{"case_id": "C-1042", "activity": "Intake",
                            "timestamp": "2025-03-04T09:15:00+01:00"}])
    receipt.added, receipt.keys   # (1, ('5f0c...',))
    client.close_session()        # the closing report

.. versionadded:: 0.1
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import urllib3
from urllib3.exceptions import HTTPError as TransportError
from urllib3.util import Retry

from knelpunt.errors import CaptureError

__all__ = ["DEFAULT_RETRY", "CaptureClient", "CaptureReceipt"]

DEFAULT_RETRY: Final = Retry(
    total=20,
    backoff_factor=0.2,  # 0.2 s, 0.4 s, 0.8 s, ... (with jitter) up to backoff_max
    backoff_max=5.0,
    backoff_jitter=0.1,
    status_forcelist=(502, 503, 504),
    allowed_methods=None,  # POST too: the idempotency keys make a resend harmless
    respect_retry_after_header=True,
    raise_on_status=False,  # the last answer is read and explained, not a bare error
    redirect=0,
)
"""Resend for about a minute (20 tries, waits growing from 0.2 s to 5 s)."""


@dataclass(frozen=True, slots=True)
class CaptureReceipt:
    """The server's answer to one batch of events.

    Attributes:
        added: events stored now.
        duplicates: events whose key the session held already (a resend).
        last_position: the store's last position after the commit.
        keys: the idempotency keys of the events sent, in order.
        attempts: requests it took (1 when the first one was answered).
    """

    added: int
    duplicates: int
    last_position: int
    keys: tuple[str, ...]
    attempts: int


def _json_ready(event: Mapping[str, Any], key: str) -> dict[str, Any]:
    ready = {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in event.items()
    }
    ready["idempotency_key"] = key
    return ready


class CaptureClient:
    """Posts events to one capture session; thread-safe (one urllib3 pool).

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8765`` (the routes are under
            ``/api/capture``; a URL that already ends so is taken as it is).
        session_id: the capture session (its source id).
        token: the session's bearer token.
        retry: the retry policy (:data:`DEFAULT_RETRY` when None).
        timeout: seconds to connect and to wait for each answer.
        headers: extra headers on every request (a login's cookie, a CSRF token).
        connections: connections kept open to the server (threads that share it).
    """

    def __init__(
        self,
        base_url: str,
        session_id: int,
        token: str,
        *,
        retry: Retry | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        connections: int = 1,
    ) -> None:
        self.base_url = _api(base_url)
        self.session_id = session_id
        self._token = token
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._pool = urllib3.PoolManager(
            num_pools=1,
            maxsize=connections,
            retries=retry or DEFAULT_RETRY,
        )

    @property
    def token(self) -> str:
        """The session's bearer token (e.g. to give another device the same session)."""
        return self._token

    def __repr__(self) -> str:  # the token stays out of logs and tracebacks
        return f"CaptureClient({self.base_url!r}, session_id={self.session_id})"

    @classmethod
    def open_session(
        cls,
        base_url: str,
        name: str,
        *,
        created_by: str | None = None,
        retry: Retry | None = None,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        connections: int = 1,
    ) -> CaptureClient:
        """Open a new capture session and return a client for it.

        Opening is not idempotent (a resent request could open a second session), so
        it is resent only when the server was not reached or answered 503, never
        after a request that may have arrived.

        Raises:
            CaptureError: the server refused, or did not answer in the retries.
        """
        body: dict[str, Any] = {"name": name}
        if created_by is not None:
            body["created_by"] = created_by
        policy = (retry or DEFAULT_RETRY).new(read=0)
        with urllib3.PoolManager(retries=policy) as pool:
            answer, _ = _request(
                pool,
                "POST",
                f"{_api(base_url)}/sessions",
                body,
                dict(headers or {}),
                timeout,
            )
        return cls(
            base_url,
            int(answer["source_id"]),
            str(answer["token"]),
            retry=retry,
            timeout=timeout,
            headers=dict(headers or {}),
            connections=connections,
        )

    def send(self, events: Sequence[Mapping[str, Any]]) -> CaptureReceipt:
        """Post a batch of events (all or nothing) and wait for the committed answer.

        Each event is a mapping as the API takes it (``case_id``, ``activity``,
        ``timestamp``, optionally ``lifecycle``, ``resource``, ``attributes``); a
        ``datetime`` is sent in ISO 8601. An event without ``idempotency_key`` gets
        a random one, fixed before the first attempt.

        Raises:
            CaptureError: the server refused the batch (the message lists the
                problems), or did not answer in the retries.
        """
        keys = tuple(str(e.get("idempotency_key") or uuid.uuid4().hex) for e in events)
        body = {"events": [_json_ready(e, k) for e, k in zip(events, keys, strict=True)]}
        answer, attempts = _request(
            self._pool,
            "POST",
            f"{self.base_url}/sessions/{self.session_id}/events",
            body,
            self._headers(),
            self.timeout,
        )
        return CaptureReceipt(
            added=int(answer["added"]),
            duplicates=int(answer["duplicates"]),
            last_position=int(answer["last_position"]),
            keys=keys,
            attempts=attempts,
        )

    def close_session(self) -> dict[str, Any]:
        """Close the session; returns its closing report.

        Raises:
            CaptureError: already closed (409), or no answer in the retries.
        """
        answer, _ = _request(
            self._pool,
            "POST",
            f"{self.base_url}/sessions/{self.session_id}/close",
            {},
            self._headers(),
            self.timeout,
        )
        return dict(answer["report"])

    def close(self) -> None:
        """Close the connections."""
        self._pool.clear()

    def _headers(self) -> dict[str, str]:
        return {**self.headers, "Authorization": f"Bearer {self._token}"}

    def __enter__(self) -> CaptureClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _api(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if base.endswith("/api/capture") else f"{base}/api/capture"


def _request(
    pool: urllib3.PoolManager,
    method: str,
    url: str,
    body: Any,
    headers: dict[str, str],
    timeout: float,
) -> tuple[dict[str, Any], int]:
    """One request with the pool's retries; the JSON answer and the attempts taken."""
    try:
        response = pool.request(
            method,
            url,
            body=json.dumps(body).encode("utf-8"),
            headers={**headers, "Content-Type": "application/json"},
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
    except TransportError as error:
        reason = getattr(error, "reason", None) or error
        raise CaptureError(
            f"The capture server at {url} did not answer after all retries ({reason}). "
            "Nothing was acknowledged: check that it runs, then send the same events again "
            "(their idempotency keys keep them from being stored twice).",
            status=None,
        ) from error
    attempts = 1 + len(response.retries.history) if response.retries is not None else 1
    try:
        answer = json.loads(response.data.decode("utf-8"))
    except ValueError:
        answer = {"error": response.data.decode("utf-8", "replace")[:200]}
    if response.status in (200, 201):
        return answer, attempts
    problems = answer.get("errors", []) if isinstance(answer, dict) else []
    message = answer.get("error", "") if isinstance(answer, dict) else str(answer)
    if response.status in (502, 503, 504):
        message += (
            f" The server still could not store after {attempts} attempts; nothing was "
            "acknowledged, so send the same events again later."
        )
    raise CaptureError(
        f"{method} {url} was refused ({response.status}): {message}",
        status=response.status,
        errors=problems,
    )
