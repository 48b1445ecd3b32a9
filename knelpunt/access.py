"""Who may use a store and what they did: users, roles, log-ins and the audit log.

Three roles, each allowed what the one before it is, and more:

=========  =============================================================
viewer     look at every page, download tables, figures and the report
analyst    also record uploads, run simulations, open capture sessions
admin      also purge sources and manage users
=========  =============================================================

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's
low-memory profile); the store keeps the hash, never the password. A log-in
(:func:`authenticate`) is refused without looking at the password once an
account or an address has failed too often lately (:class:`LoginLimits`);
the failures are counted in the store's audit log, so every worker process
of a server counts the same ones. Every log-in, failed log-in and change of
a user is written in the audit log, which :func:`read_audit` reads.

Example:
    >>> from knelpunt.events.store import open_store
    >>> with open_store(":memory:") as store:
    ...     _ = add_user(store, "anna", "a long pass phrase", role="analyst", by="setup")
    ...     user = authenticate(store, "anna", "a long pass phrase", address="10.0.0.7")
    ...     actions = [e.action for e in store.audit_log()]
    >>> user.name, user.role, may(user.role, "upload"), may(user.role, "purge")
    ('anna', 'analyst', True, False)
    >>> actions
    ['user_add', 'login']
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

import pandas as pd

from knelpunt.errors import LoginError, LoginThrottledError, RoleError, UserError
from knelpunt.events.model import AuditEntry, NewAuditEntry, UserRecord
from knelpunt.events.store import EventStore

if TYPE_CHECKING:
    from argon2 import PasswordHasher

__all__ = [
    "ROLES",
    "LoginLimits",
    "Permission",
    "Role",
    "add_user",
    "authenticate",
    "authenticate_basic",
    "end_sessions",
    "is_loopback",
    "list_users",
    "may",
    "read_audit",
    "record_audit",
    "remove_user",
    "require",
    "session_key",
    "set_password",
    "set_role",
]

Role = Literal["viewer", "analyst", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
Permission = Literal["view", "export", "upload", "simulate", "capture", "purge", "manage_users"]

_GRANTS: Final[Mapping[str, frozenset[str]]] = {
    "viewer": frozenset({"view", "export"}),
    "analyst": frozenset({"view", "export", "upload", "simulate", "capture"}),
    "admin": frozenset(get_args(Permission)),
}
# What a refusal says the permission is for (English; the dashboard has its own words).
_DOING: Final[Mapping[str, str]] = {
    "view": "look at the pages",
    "export": "download tables and reports",
    "upload": "record uploads",
    "simulate": "run simulations",
    "capture": "open capture sessions",
    "purge": "purge sources",
    "manage_users": "manage users",
}

MIN_PASSWORD: Final = 12
MAX_PASSWORD: Final = 1024
_NAME: Final = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """How many failed log-ins are allowed before further attempts are refused.

    Attributes:
        per_account: failures of one account within ``window``; the next attempt is
            refused (also with the right password) until the oldest of them is
            ``window`` old.
        per_address: failures from one network address within ``window``, whatever
            the accounts tried.
        window: how far back failures count.
    """

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


def is_loopback(host: str) -> bool:
    """Whether a server bound to ``host`` is reachable from this machine only.

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
        (True, True, False)
    """
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def may(role: str, permission: Permission) -> bool:
    """Whether a role allows something.

    Example:
        >>> may("viewer", "export"), may("viewer", "upload"), may("admin", "manage_users")
        (True, False, True)
    """
    return permission in _GRANTS.get(role, frozenset())


def require(user: UserRecord, permission: Permission) -> None:
    """Raise :class:`~knelpunt.errors.RoleError` unless the user's role allows it.

    Example:
        >>> now = datetime.now(UTC)
        >>> require(UserRecord("bob", "viewer", "-", now, now, now), "upload")
        Traceback (most recent call last):
        ...
        knelpunt.errors.RoleError: User 'bob' is a viewer; a viewer may not record uploads. \
Ask an admin for the analyst role ('knelpunt users set-role bob analyst').
    """
    if may(user.role, permission):
        return
    needed = next(r for r in ROLES if may(r, permission))
    raise RoleError(
        f"User '{user.name}' is a{'n' if user.role[0] in 'aeiou' else ''} {user.role}; a "
        f"{user.role} may not {_DOING[permission]}. Ask an admin for the {needed} role "
        f"('knelpunt users set-role {user.name} {needed}')."
    )


@functools.cache
def _hasher() -> PasswordHasher:
    # Imported here: 'import knelpunt' stays light.
    from argon2 import PasswordHasher

    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    # Checked against when the name is unknown, so that the answer takes as long as
    # for a known name and does not tell which names exist.
    return _hasher().hash("knelpunt: no such user")


def _name(name: str) -> str:
    cleaned = name.strip().lower()
    if not _NAME.fullmatch(cleaned):
        raise UserError(
            f"User name {name!r} cannot be used: give 1 to 64 letters, digits, '.', '_', "
            "'-' or '@', starting with a letter or digit (e.g. 'anna.devries')."
        )
    return cleaned


def _role(role: str) -> Role:
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    return role


def _password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(
            f"The password has {len(password)} characters; give at least {MIN_PASSWORD} "
            "(a few words make a password that is long and easy to remember)."
        )
    if len(password) > MAX_PASSWORD:
        raise UserError(f"The password is longer than {MAX_PASSWORD} characters.")
    return _hasher().hash(password)


def _existing(store: EventStore, name: str) -> UserRecord:
    found = store.user(_name(name))
    if found is None:
        known = ", ".join(u.name for u in store.users()) or "none yet"
        raise UserError(
            f"No user {name!r} in {store.url}. Users: {known}. Add one with "
            "'knelpunt users add NAME --role analyst'."
        )
    return found


def record_audit(
    store: EventStore,
    action: str,
    *,
    actor: str | None = None,
    target: str | None = None,
    address: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Write one entry in the store's audit log.

    Example:
        >>> from knelpunt.events.store import open_store
        >>> with open_store(":memory:") as store:
        ...     entry = record_audit(store, "export", actor="anna", target="cases.csv")
        >>> entry.action, entry.actor, entry.target
        ('export', 'anna', 'cases.csv')
    """
    return store.append_audit(
        NewAuditEntry(action, actor=actor, target=target, address=address, details=details or {})
    )


def add_user(
    store: EventStore,
    name: str,
    password: str,
    *,
    role: str,
    by: str | None = None,
    address: str | None = None,
) -> UserRecord:
    """Add a user with a role and a password (kept as its argon2id hash).

    Raises:
        UserError: the name is taken or unusable, the role unknown, or the password
            shorter than 12 characters.

    Example:
        >>> from knelpunt.events.store import open_store
        >>> with open_store(":memory:") as store:
        ...     user = add_user(store, "Anna.deVries", "a long pass phrase", role="viewer")
        >>> user.name, user.role, user.password_hash.startswith("$argon2id$")
        ('anna.devries', 'viewer', True)
    """
    cleaned, chosen = _name(name), _role(role)
    if store.user(cleaned) is not None:
        raise UserError(
            f"User {cleaned!r} exists already; change the role with 'knelpunt users set-role' "
            "or the password with 'knelpunt users passwd'."
        )
    now = datetime.now(UTC)
    user = UserRecord(cleaned, chosen, _password(password), now, now, now)
    store.put_user(user)
    record_audit(store, "user_add", actor=by, target=cleaned, address=address,
                 details={"role": chosen})  # fmt: skip
    return user


def list_users(store: EventStore) -> list[UserRecord]:
    """Every user of the store, by name."""
    return store.users()


def set_role(
    store: EventStore, name: str, role: str, *, by: str | None = None, address: str | None = None
) -> UserRecord:
    """Give a user another role; it applies to their next request.

    Raises:
        UserError: no such user, or an unknown role.
    """
    user, chosen = _existing(store, name), _role(role)
    changed = UserRecord(
        user.name, chosen, user.password_hash, user.created_at, datetime.now(UTC),
        user.sessions_after,
    )  # fmt: skip
    store.put_user(changed)
    record_audit(store, "user_role", actor=by, target=user.name, address=address,
                 details={"from": user.role, "to": chosen})  # fmt: skip
    return changed


def set_password(
    store: EventStore,
    name: str,
    password: str,
    *,
    by: str | None = None,
    address: str | None = None,
) -> UserRecord:
    """Give a user a new password; their open sessions end.

    Raises:
        UserError: no such user, or a password shorter than 12 characters.

    Example:
        >>> from knelpunt.events.store import open_store
        >>> with open_store(":memory:") as store:
        ...     old = add_user(store, "anna", "a long pass phrase", role="viewer")
        ...     new = set_password(store, "anna", "another pass phrase", by="admin")
        >>> session_key(old) == session_key(new)  # sessions of the old password end
        False
    """
    user = _existing(store, name)
    now = datetime.now(UTC)
    changed = UserRecord(user.name, user.role, _password(password), user.created_at, now, now)
    store.put_user(changed)
    record_audit(store, "user_password", actor=by, target=user.name, address=address)
    return changed


def remove_user(
    store: EventStore, name: str, *, by: str | None = None, address: str | None = None
) -> None:
    """Remove a user; their open sessions end with it.

    Raises:
        UserError: no such user.
    """
    user = _existing(store, name)
    store.remove_user(user.name)
    record_audit(store, "user_remove", actor=by, target=user.name, address=address,
                 details={"role": user.role})  # fmt: skip


def end_sessions(store: EventStore, name: str, *, address: str | None = None) -> None:
    """Log a user out everywhere: sessions begun before now are no longer accepted."""
    user = store.user(name)
    if user is None:
        return
    now = datetime.now(UTC)
    store.put_user(
        UserRecord(user.name, user.role, user.password_hash, user.created_at, user.changed_at, now)
    )
    record_audit(store, "logout", actor=user.name, address=address)


def session_key(user: UserRecord) -> str:
    """What a session remembers of its user: the name and a fingerprint of the password
    hash, so that a new password ends the sessions opened with the old one."""
    digest = hashlib.sha256(user.password_hash.encode("utf-8")).hexdigest()[:16]
    return f"{user.name}:{digest}"


def _throttled(store: EventStore, name: str, address: str | None, limits: LoginLimits) -> None:
    since = datetime.now(UTC) - limits.window
    for who, limit, kind in (
        ({"actor": name}, limits.per_account, "for this account"),
        ({"address": address}, limits.per_address, "from this address"),
    ):
        if next(iter(who.values())) is None:
            continue
        failed = store.audit_log(since=since, actions=["login_failed"], limit=limit, **who)
        if len(failed) >= limit:
            wait = failed[0].at + limits.window - datetime.now(UTC)
            minutes = max(1, -(-int(wait.total_seconds()) // 60))
            raise LoginThrottledError(
                f"Too many failed log-ins {kind} in the last "
                f"{int(limits.window.total_seconds() // 60)} minutes; try again in {minutes} "
                "minute(s). An admin can set a new password with 'knelpunt users passwd'.",
                retry_after=max(1, int(wait.total_seconds()) + 1),
            )


def authenticate(
    store: EventStore,
    name: str,
    password: str,
    *,
    address: str | None = None,
    limits: LoginLimits | None = None,
) -> UserRecord:
    """Check a name and password and write the outcome in the audit log.

    Returns:
        The user.

    Raises:
        LoginThrottledError: too many failed log-ins for this account or from this
            address lately (the password is not looked at).
        LoginError: the name or password is wrong (the message does not say which).

    Example:
        >>> from knelpunt.errors import KnelpuntError
        >>> from knelpunt.events.store import open_store
        >>> with open_store(":memory:") as store:
        ...     _ = add_user(store, "anna", "a long pass phrase", role="analyst")
        ...     answers = []
        ...     for attempt in ["a guess", "another guess", "a long pass phrase"]:
        ...         try:
        ...             answers.append(authenticate(store, "anna", attempt,
        ...                                         limits=LoginLimits(per_account=2)).name)
        ...         except KnelpuntError as refused:
        ...             answers.append(type(refused).__name__)
        >>> answers  # the third attempt is refused, though its password is right
        ['LoginError', 'LoginError', 'LoginThrottledError']
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    limits = limits or LoginLimits()
    try:
        cleaned = _name(name)
    except UserError:
        cleaned = name.strip().lower()[:64] or "?"
    try:
        _throttled(store, cleaned, address, limits)
    except LoginThrottledError as refused:
        record_audit(store, "login_refused", actor=cleaned, address=address,
                     details={"retry_after": refused.retry_after})  # fmt: skip
        raise
    user = store.user(cleaned)
    try:
        _hasher().verify(user.password_hash if user else _dummy_hash(), password)
        ok = user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        record_audit(store, "login_failed", actor=cleaned, address=address)
        raise LoginError("Wrong user name or password.")
    if _hasher().check_needs_rehash(user.password_hash):
        # Stronger parameters than when it was set: keep the password, hash it anew.
        # The fingerprint of the hash changes, so the sessions of the old hash end.
        user = UserRecord(user.name, user.role, _hasher().hash(password), user.created_at,
                          user.changed_at, user.sessions_after)  # fmt: skip
        store.put_user(user)
    record_audit(store, "login", actor=user.name, address=address)
    return user


def authenticate_basic(
    store: EventStore,
    header: str,
    *,
    address: str | None = None,
    limits: LoginLimits | None = None,
) -> UserRecord:
    """A user from an HTTP ``Authorization: Basic ...`` header (scripts using the API).

    Raises:
        LoginError: no Basic credentials in the header, or wrong ones.
        LoginThrottledError: see :func:`authenticate`.
    """
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise LoginError(
            "Log in first: send 'Authorization: Basic <base64 of name:password>' of an "
            "analyst (curl -u NAME)."
        )
    try:
        name, sep, password = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        raise LoginError("The Basic credentials are not base64 of 'name:password'.") from None
    if not sep:
        raise LoginError("The Basic credentials are not base64 of 'name:password'.")
    return authenticate(store, name, password, address=address, limits=limits)


def read_audit(
    store: EventStore,
    *,
    since: datetime | None = None,
    actions: list[str] | None = None,
    actor: str | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """The store's audit log as a table, oldest first: who did what, when, from where.

    Args:
        since: only entries from this moment on (aware datetime).
        actions: only these actions (``login``, ``login_failed``, ``login_refused``,
            ``logout``, ``record``, ``simulate``, ``capture_open``, ``export``,
            ``purge``, ``user_add``, ``user_role``, ``user_password``, ``user_remove``).
        actor: only this user's entries.
        limit: only the newest ``limit`` entries.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=2, seed=1), name="demo")
        ...     _ = kp.purge_source(store, 1, reason="erasure request", purged_by="dpo")
        ...     log = kp.read_audit(store)
        >>> log[["action", "actor", "target"]].to_dict("records")
        [{'action': 'purge', 'actor': 'dpo', 'target': 'source 1 (demo)'}]
    """
    entries = store.audit_log(since=since, actions=actions, actor=actor, limit=limit)
    columns = ["entry_id", "at", "action", "actor", "target", "address", "details"]
    frame = pd.DataFrame(
        [[e.entry_id, e.at, e.action, e.actor, e.target, e.address, dict(e.details)]
         for e in entries],
        columns=columns,
    )  # fmt: skip
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame
