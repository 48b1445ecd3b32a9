"""The pseudonym key and the pseudonyms: kept outside the store, stable per key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knelpunt.errors import PrivacyError
from knelpunt.privacy import (
    DIGEST_HEX,
    KEY_FILE_ENV,
    PrivacyChoices,
    default_key_file,
    key_fingerprint,
    load_key,
    parse_choices,
    pseudonym,
)

keys = st.binary(min_size=16, max_size=64)
values = st.text(min_size=1, max_size=40)


class TestPseudonyms:
    """A pseudonym is a keyed hash: the same for the same value and key, else not."""

    @given(key=keys, value=values)
    def test_same_key_and_value_give_the_same_pseudonym(self, key: bytes, value: str) -> None:
        assert pseudonym(value, key=key) == pseudonym(value, key=bytes(key))

    @given(first=keys, second=keys, value=values)
    def test_different_keys_give_different_pseudonyms(
        self, first: bytes, second: bytes, value: str
    ) -> None:
        if first != second:
            assert pseudonym(value, key=first) != pseudonym(value, key=second)

    @given(key=keys, one=values, other=values)
    def test_different_values_give_different_pseudonyms(
        self, key: bytes, one: str, other: str
    ) -> None:
        if one != other:
            assert pseudonym(one, key=key) != pseudonym(other, key=key)

    @given(key=keys, value=values)
    def test_the_pseudonym_shows_nothing_of_the_value(self, key: bytes, value: str) -> None:
        shown = pseudonym(value, key=key, prefix="c-")
        assert shown.startswith("c-")
        assert len(shown) == 2 + DIGEST_HEX
        assert all(c in "0123456789abcdef" for c in shown[2:])

    def test_the_digits_are_the_same_whatever_the_role(self) -> None:
        """Strip the prefix to join a case id of one source to a BSN column of another."""
        key = b"k" * 32
        assert (
            pseudonym("123456782", key=key, prefix="c-")[2:]
            == pseudonym("123456782", key=key, prefix="p-")[2:]
        )


class TestKeyFile:
    """The key file: made once with 0600, read back the same, refused when open to others."""

    def test_created_on_first_use_with_owner_only_permissions(self, tmp_path: Path) -> None:
        path = tmp_path / "deeper" / "pseudonym.key"
        key = load_key(path)
        assert len(key) == 32
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert load_key(path) == key
        assert list(path.parent.iterdir()) == [path]  # no temporary file left behind

    def test_the_key_is_hex_text_that_can_be_backed_up(self, tmp_path: Path) -> None:
        path = tmp_path / "pseudonym.key"
        key = load_key(path)
        assert path.read_text().strip() == key.hex()

    def test_a_file_others_can_read_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "pseudonym.key"
        load_key(path)
        os.chmod(path, 0o644)
        with pytest.raises(PrivacyError, match="chmod 600"):
            load_key(path)

    def test_a_file_without_a_key_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "pseudonym.key"
        path.write_text("not a key\n")
        os.chmod(path, 0o600)
        with pytest.raises(PrivacyError, match="64 hex digits"):
            load_key(path)

    def test_absent_and_not_to_be_made(self, tmp_path: Path) -> None:
        with pytest.raises(PrivacyError, match="no pseudonym key there"):
            load_key(tmp_path / "absent.key", create=False)

    def test_the_default_place(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """The environment variable first, then XDG's config folder, then ~/.config."""
        assert default_key_file({KEY_FILE_ENV: str(tmp_path / "a.key")}) == tmp_path / "a.key"
        assert default_key_file({"XDG_CONFIG_HOME": str(tmp_path)}) == (
            tmp_path / "knelpunt" / "pseudonym.key"
        )
        monkeypatch.setenv("HOME", str(tmp_path))
        assert default_key_file({}) == tmp_path / ".config" / "knelpunt" / "pseudonym.key"

    def test_the_fingerprint_tells_keys_apart_and_hides_them(self) -> None:
        one, other = b"a" * 32, b"b" * 32
        assert key_fingerprint(one) != key_fingerprint(other)
        assert one.hex() not in key_fingerprint(one)
        assert key_fingerprint(one)[len("sha256:") :] not in one.hex()


class TestChoices:
    """The choices: one of three per column, checked when made."""

    @settings(max_examples=50)
    @given(action=st.text(max_size=15))
    def test_only_the_three_actions_are_accepted(self, action: str) -> None:
        if action in ("drop", "pseudonymise", "keep"):
            assert PrivacyChoices(columns={"c": action}).action("c") == action  # type: ignore[dict-item]
        else:
            with pytest.raises(PrivacyError, match="choose drop, pseudonymise or keep"):
                PrivacyChoices(columns={"c": action})  # type: ignore[dict-item]

    def test_a_column_given_two_choices_is_refused(self) -> None:
        with pytest.raises(PrivacyError, match="both as drop and as keep"):
            parse_choices(drop=["BSN"], keep=["BSN"])

    def test_later_choices_win(self) -> None:
        base = PrivacyChoices(columns={"BSN": "drop", "Naam": "drop"})
        assert dict(base.choose({"BSN": "keep"}).columns) == {"BSN": "keep", "Naam": "drop"}

    def test_a_short_key_is_refused(self) -> None:
        with pytest.raises(PrivacyError, match="has 3 bytes; give at least 16"):
            PrivacyChoices(key=b"abc").resolve_key()

    def test_off_keeps_everything_and_the_key_never_shows(self) -> None:
        assert not PrivacyChoices.off().pseudonymise
        assert "secret" not in repr(PrivacyChoices(key=b"secret key of the client"))
