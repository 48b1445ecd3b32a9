"""Users, roles, log-ins and their limits, and the audit trail they leave."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

import knelpunt as kp
from knelpunt import access
from knelpunt.access import LoginLimits
from knelpunt.errors import (
    AccessError,
    LoginError,
    LoginThrottledError,
    RoleError,
    UserError,
)
from knelpunt.events import EventStore

PASSWORD = "correct horse battery"


@pytest.fixture
def store() -> Iterator[EventStore]:
    with kp.open_store(":memory:") as opened:
        yield opened


def actions(store: EventStore) -> list[str]:
    return [e.action for e in store.audit_log()]


class TestRoles:
    """Each role allows what the one below it does, and more."""

    @pytest.mark.parametrize(
        ("role", "allowed"),
        [
            ("viewer", {"view", "export"}),
            ("analyst", {"view", "export", "upload", "simulate", "capture"}),
            (
                "admin",
                {"view", "export", "upload", "simulate", "capture", "purge", "manage_users"},
            ),
            ("nobody", set()),
        ],
    )
    def test_permissions(self, role: str, allowed: set[str]) -> None:
        everything = ("view", "export", "upload", "simulate", "capture", "purge", "manage_users")
        assert {p for p in everything if access.may(role, p)} == allowed  # type: ignore[arg-type]

    def test_a_refusal_says_which_role_would_do(self, store: EventStore) -> None:
        viewer = access.add_user(store, "bob", PASSWORD, role="viewer")
        with pytest.raises(RoleError, match=r"may not run simulations.*analyst role") as info:
            access.require(viewer, "simulate")
        assert isinstance(info.value, PermissionError)
        analyst = access.add_user(store, "anna", PASSWORD, role="analyst")
        access.require(analyst, "simulate")
        with pytest.raises(RoleError, match="admin role"):
            access.require(analyst, "purge")


class TestUsers:
    """Users are added, changed and removed through the store, and each change is audited."""

    def test_the_store_keeps_an_argon2id_hash_never_the_password(self, store: EventStore) -> None:
        access.add_user(store, "Anna", PASSWORD, role="analyst", by="admin", address="10.0.0.1")
        (user,) = store.users()
        assert user.name == "anna"  # names are case-insensitive
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert PASSWORD not in repr(user)
        (entry,) = store.audit_log()
        assert (entry.action, entry.actor, entry.target, entry.address) == (
            "user_add",
            "admin",
            "anna",
            "10.0.0.1",
        )
        assert entry.details == {"role": "analyst"}

    @pytest.mark.parametrize(
        ("name", "password", "role", "message"),
        [
            ("anna", "short", "viewer", "at least 12"),
            ("anna", PASSWORD, "boss", "Unknown role 'boss'"),
            ("an na", PASSWORD, "viewer", "cannot be used"),
            ("", PASSWORD, "viewer", "cannot be used"),
            ("x" * 65, PASSWORD, "viewer", "cannot be used"),
        ],
    )
    def test_unusable_input_is_refused(
        self, store: EventStore, name: str, password: str, role: str, message: str
    ) -> None:
        with pytest.raises(UserError, match=message):
            access.add_user(store, name, password, role=role)
        assert store.users() == []
        assert actions(store) == []

    def test_a_name_is_taken_once(self, store: EventStore) -> None:
        access.add_user(store, "anna", PASSWORD, role="viewer")
        with pytest.raises(UserError, match="exists already"):
            access.add_user(store, "ANNA", PASSWORD, role="admin")
        assert [u.role for u in store.users()] == ["viewer"]

    def test_role_password_and_removal(self, store: EventStore) -> None:
        first = access.add_user(store, "anna", PASSWORD, role="viewer")
        promoted = access.set_role(store, "anna", "admin", by="root")
        assert promoted.role == "admin"
        assert access.session_key(promoted) == access.session_key(first)
        renewed = access.set_password(store, "anna", "another long phrase", by="root")
        # A new password ends the sessions of the old one.
        assert access.session_key(renewed) != access.session_key(promoted)
        assert renewed.sessions_after > first.sessions_after
        with pytest.raises(LoginError):
            access.authenticate(store, "anna", PASSWORD)
        assert access.authenticate(store, "anna", "another long phrase").role == "admin"
        access.remove_user(store, "anna", by="root")
        assert store.users() == []
        with pytest.raises(UserError, match="No user 'anna'"):
            access.set_role(store, "anna", "viewer")
        assert actions(store) == [
            "user_add",
            "user_role",
            "user_password",
            "login_failed",
            "login",
            "user_remove",
        ]
        role_change = store.audit_log(actions=["user_role"])[0]
        assert role_change.details == {"from": "viewer", "to": "admin"}

    def test_ending_sessions_moves_their_start(self, store: EventStore) -> None:
        user = access.add_user(store, "anna", PASSWORD, role="viewer")
        access.end_sessions(store, "anna", address="10.0.0.2")
        after = store.user("anna")
        assert after is not None
        assert after.sessions_after > user.sessions_after
        assert actions(store) == ["user_add", "logout"]


class TestLogin:
    """A log-in checks the password, is audited, and is refused after too many failures."""

    def test_right_and_wrong_passwords(self, store: EventStore) -> None:
        access.add_user(store, "anna", PASSWORD, role="analyst")
        assert access.authenticate(store, "Anna ", PASSWORD, address="10.0.0.7").name == "anna"
        for name, password in (("anna", "wrong password!"), ("nobody", PASSWORD)):
            with pytest.raises(LoginError, match="Wrong user name or password") as info:
                access.authenticate(store, name, password, address="10.0.0.7")
            assert isinstance(info.value, AccessError)
        entries = store.audit_log()
        assert [(e.action, e.actor, e.address) for e in entries[1:]] == [
            ("login", "anna", "10.0.0.7"),
            ("login_failed", "anna", "10.0.0.7"),
            ("login_failed", "nobody", "10.0.0.7"),
        ]

    def test_the_attempt_after_the_limit_is_refused_even_with_the_right_password(
        self, store: EventStore
    ) -> None:
        access.add_user(store, "anna", PASSWORD, role="analyst")
        limits = LoginLimits(per_account=3, per_address=100)
        for attempt in range(3):
            with pytest.raises(LoginError):
                access.authenticate(
                    store, "anna", f"guess {attempt}", address=f"10.0.0.{attempt}", limits=limits
                )
        with pytest.raises(LoginThrottledError, match="for this account") as info:
            access.authenticate(store, "anna", PASSWORD, address="10.0.0.9", limits=limits)
        assert 0 < info.value.retry_after <= 15 * 60 + 1
        assert actions(store)[-1] == "login_refused"
        # Another account is not held up by anna's failures.
        access.add_user(store, "bob", PASSWORD, role="viewer")
        assert access.authenticate(store, "bob", PASSWORD, limits=limits).name == "bob"

    def test_one_address_trying_many_accounts_is_refused(self, store: EventStore) -> None:
        limits = LoginLimits(per_account=100, per_address=4)
        for name in ("a1", "a2", "a3", "a4"):
            with pytest.raises(LoginError):
                access.authenticate(store, name, PASSWORD, address="203.0.113.5", limits=limits)
        with pytest.raises(LoginThrottledError, match="from this address"):
            access.authenticate(store, "a5", PASSWORD, address="203.0.113.5", limits=limits)
        with pytest.raises(LoginError):  # another address is still heard
            access.authenticate(store, "a5", PASSWORD, address="203.0.113.6", limits=limits)

    def test_failures_stop_counting_after_the_window(self, store: EventStore) -> None:
        access.add_user(store, "anna", PASSWORD, role="analyst")
        limits = LoginLimits(per_account=1, window=timedelta(seconds=0.5))
        with pytest.raises(LoginError):
            access.authenticate(store, "anna", "wrong password!", limits=limits)
        with pytest.raises(LoginThrottledError):
            access.authenticate(store, "anna", PASSWORD, limits=limits)
        time.sleep(0.6)
        assert access.authenticate(store, "anna", PASSWORD, limits=limits).name == "anna"

    def test_a_weaker_hash_is_renewed_at_log_in(self, store: EventStore) -> None:
        from argon2 import PasswordHasher

        user = access.add_user(store, "anna", PASSWORD, role="viewer")
        weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
        store.put_user(
            kp.events.UserRecord(
                "anna", "viewer", weak, user.created_at, user.changed_at, user.sessions_after
            )
        )
        renewed = access.authenticate(store, "anna", PASSWORD)
        assert renewed.password_hash != weak
        assert "m=65536" in renewed.password_hash
        assert access.authenticate(store, "anna", PASSWORD).name == "anna"

    def test_basic_credentials(self, store: EventStore) -> None:
        access.add_user(store, "anna", PASSWORD, role="analyst")
        header = "Basic " + base64.b64encode(f"anna:{PASSWORD}".encode()).decode()
        assert access.authenticate_basic(store, header, address="10.0.0.3").name == "anna"
        for bad in ("", "Bearer abc", "Basic !!!", "Basic " + base64.b64encode(b"anna").decode()):
            with pytest.raises(LoginError):
                access.authenticate_basic(store, bad)


def test_read_audit_gives_a_table(store: EventStore) -> None:
    """The façade reads the audit log as a DataFrame, filtered like the store's log."""
    access.add_user(store, "anna", PASSWORD, role="analyst", by="root")
    with pytest.raises(LoginError):
        access.authenticate(store, "anna", "wrong password!", address="10.0.0.7")
    frame = kp.read_audit(store)
    assert frame["action"].tolist() == ["user_add", "login_failed"]
    assert str(frame["at"].dt.tz) == "UTC"
    failed = kp.read_audit(store, actions=["login_failed"])
    assert failed[["actor", "address"]].to_dict("records") == [
        {"actor": "anna", "address": "10.0.0.7"}
    ]
    assert kp.read_audit(store, actor="root")["target"].tolist() == ["anna"]
    assert kp.read_audit(store, limit=1)["action"].tolist() == ["login_failed"]
