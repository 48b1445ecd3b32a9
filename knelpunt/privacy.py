"""Pseudonymisation at ingest: the key, the pseudonyms, and the choice per column.

Case ids, resources and the columns a user (or the detection in
:mod:`knelpunt.ingest.personal`) chooses are replaced, before anything
reaches the store, by a keyed hash: HMAC-SHA256 of the value under a secret
key, shown as a readable prefix and the first 20 hex digits of the digest::

    c-3f9a2c1e0b7d4a5e6f10     a case id
    r-8d01f2aa93c4b5e67d21     a resource (a professional)
    p-51c0e9d3a2b8f7461e0c     a value of another pseudonymised column (a BSN, a name)

20 hex digits are 80 bits. Among n distinct values the chance that any two
share a pseudonym is about n² / 2⁸¹: for 100 million values (every Dutch
resident five times over) that is 4 in a billion, so collisions are
negligible at national scale. The digits are the same for the same value in
every role (strip the prefix to join a case id to a BSN column of another
source).

The key is kept **outside the store**, in a key file: 32 random bytes written
as 64 hex digits, created with permissions 0600 the first time it is needed.
Its place, first found wins: the ``key_file`` given (CLI ``--key-file``), the
environment variable ``KNELPUNT_PSEUDONYM_KEY_FILE``, else
``$XDG_CONFIG_HOME/knelpunt/pseudonym.key`` (``~/.config/knelpunt/pseudonym.key``).
The same key gives the same pseudonyms across uploads, so sources recorded
with it can be joined; a source's details keep only the key's fingerprint
(:func:`key_fingerprint`), never the key. Keep a copy of the key file where
the client's data is allowed to live: without it new uploads get other
pseudonyms, and with it anyone holding the original data can recompute them.

.. versionadded:: 0.1
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal, cast

from knelpunt.errors import PrivacyError

__all__ = [
    "ACTIONS",
    "DIGEST_HEX",
    "KEY_FILE_ENV",
    "Action",
    "PrivacyChoices",
    "default_key_file",
    "key_fingerprint",
    "load_key",
    "parse_choices",
    "pseudonym",
]

Action = Literal["drop", "pseudonymise", "keep"]
ACTIONS: Final = ("drop", "pseudonymise", "keep")
KEY_FILE_ENV: Final = "KNELPUNT_PSEUDONYM_KEY_FILE"
DIGEST_HEX: Final = 20
"""Hex digits of the HMAC kept in a pseudonym (80 bits; see the module documentation)."""
_KEY_BYTES: Final = 32
_NO_COLUMNS: Mapping[str, Action] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PrivacyChoices:
    """What recording does with personal data (see :mod:`knelpunt.privacy`).

    Attributes:
        pseudonymise: replace case ids and resources by pseudonyms, and treat
            every column the detection flags by its default (drop or
            pseudonymise). False keeps them as they are: only for data with
            no real people in it (a simulation, a test); recording says so in
            a warning and in the source's details.
        columns: a choice per column, by the file's column name: ``drop``,
            ``pseudonymise`` or ``keep``. A choice overrides the default; an
            explicit ``keep`` of a column with personal data is recorded in
            the source's details.
        key_file: where the key is (default: :func:`default_key_file`).
        key: the key itself, instead of a file (tests, notebooks); never stored.

    Example:
        >>> choices = PrivacyChoices(columns={"Telefoon": "drop", "BSN": "pseudonymise"})
        >>> choices.action("Telefoon"), choices.action("Stap")
        ('drop', None)
        >>> PrivacyChoices(columns={"BSN": "hash"})
        Traceback (most recent call last):
        ...
        knelpunt.errors.PrivacyError: The choice for column 'BSN' is 'hash'; choose drop, pseudonymise or keep.
    """  # noqa: E501

    pseudonymise: bool = True
    columns: Mapping[str, Action] = field(default_factory=lambda: _NO_COLUMNS)
    key_file: Path | None = None
    key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for column, action in self.columns.items():
            if action not in ACTIONS:
                raise PrivacyError(
                    f"The choice for column {column!r} is {action!r}; choose drop, "
                    "pseudonymise or keep."
                )
        object.__setattr__(self, "columns", MappingProxyType(dict(self.columns)))

    @classmethod
    def off(cls) -> PrivacyChoices:
        """No pseudonyms and every column kept: for synthetic data only."""
        return cls(pseudonymise=False)

    def action(self, column: str) -> Action | None:
        """The choice made for ``column``, or None when none was made."""
        return self.columns.get(column)

    def choose(self, columns: Mapping[str, Action]) -> PrivacyChoices:
        """These choices with ``columns`` added (a later choice for a column wins)."""
        return replace(self, columns={**self.columns, **columns})

    def resolve_key(self) -> bytes:
        """The key: the one given, else the key file's (created on first use)."""
        if self.key is not None:
            if len(self.key) < 16:
                raise PrivacyError(
                    f"The pseudonym key has {len(self.key)} bytes; give at least 16 (a key "
                    "file made by knelpunt holds 32 random bytes)."
                )
            return self.key
        return load_key(self.key_file)


def parse_choices(
    *,
    drop: Iterable[str] = (),
    pseudonymise: Iterable[str] = (),
    keep: Iterable[str] = (),
) -> dict[str, Action]:
    """Columns from the command line's ``--drop``/``--pseudonymise``/``--keep`` as one
    choice per column; a column named in two of them is refused.

    Example:
        >>> parse_choices(drop=["Telefoon"], keep=["Postcode"])
        {'Telefoon': 'drop', 'Postcode': 'keep'}
    """
    chosen: dict[str, Action] = {}
    for action, names in (("drop", drop), ("pseudonymise", pseudonymise), ("keep", keep)):
        for name in names:
            if name in chosen and chosen[name] != action:
                raise PrivacyError(
                    f"Column {name!r} is given both as {chosen[name]} and as {action}; choose one."
                )
            chosen[name] = cast(Action, action)
    return chosen


def default_key_file(environ: Mapping[str, str] | None = None) -> Path:
    """Where the key file is when none is given (see the module documentation).

    Example:
        >>> default_key_file({"KNELPUNT_PSEUDONYM_KEY_FILE": "/secure/klant.key"})
        PosixPath('/secure/klant.key')
        >>> default_key_file({"XDG_CONFIG_HOME": "/home/an/.config"})
        PosixPath('/home/an/.config/knelpunt/pseudonym.key')
    """
    env = os.environ if environ is None else environ
    if env.get(KEY_FILE_ENV):
        return Path(env[KEY_FILE_ENV]).expanduser()
    config = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else None
    return (config or Path.home() / ".config") / "knelpunt" / "pseudonym.key"


def load_key(path: Path | str | None = None, *, create: bool = True) -> bytes:
    """The key in ``path`` (default: :func:`default_key_file`); created when absent.

    A new key file holds 32 random bytes as 64 hex digits and is readable and
    writable by its owner only (0600). An existing file that others may read
    or write is refused, as ssh refuses such a private key.

    Raises:
        PrivacyError: the file cannot be read or created, is open to others,
            or does not hold a key.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> key = load_key(folder / "pseudonym.key")
        >>> len(key), oct((folder / "pseudonym.key").stat().st_mode & 0o777)
        (32, '0o600')
        >>> load_key(folder / "pseudonym.key") == key
        True
    """
    target = Path(path).expanduser() if path is not None else default_key_file()
    if not target.exists():
        if not create:
            raise PrivacyError(
                f"{target}: no pseudonym key there. Give the key file the earlier uploads "
                "used (--key-file or KNELPUNT_PSEUDONYM_KEY_FILE)."
            )
        _create_key(target)
    try:
        info = target.stat()
        text = target.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise PrivacyError(
            f"{target}: the pseudonym key cannot be read ({error}). Check the file's owner "
            "and permissions (it should be yours, mode 600)."
        ) from error
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise PrivacyError(
            f"{target}: the pseudonym key can be read or changed by other users (mode "
            f"{stat.S_IMODE(info.st_mode):o}). Run 'chmod 600 {target}' and try again."
        )
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise PrivacyError(
            f"{target}: does not hold a pseudonym key (expected 64 hex digits). Restore the "
            "key file from its backup; a new key would give every case other pseudonyms."
        )
    return key


def _create_key(target: Path) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Written beside it and linked into place: two processes starting at once
        # end up with one key, and no one reads a half-written file.
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".pseudonym-")
        try:
            os.write(handle, (secrets.token_bytes(_KEY_BYTES).hex() + "\n").encode("ascii"))
            os.fsync(handle)
            os.close(handle)
            os.chmod(temporary, 0o600)
            with contextlib.suppress(FileExistsError):  # another process was first: use theirs
                os.link(temporary, target)
        finally:
            os.unlink(temporary)
    except OSError as error:
        raise PrivacyError(
            f"{target}: cannot create the pseudonym key file ({error}). Choose a writable "
            "place with --key-file or KNELPUNT_PSEUDONYM_KEY_FILE."
        ) from error


def key_fingerprint(key: bytes) -> str:
    """A short, one-way name of the key, kept in the store to tell keys apart.

    Two sources with the same fingerprint were pseudonymised with the same key
    and can be joined. The fingerprint is a hash of the key (with a fixed
    label), so the key cannot be recovered from it.

    Example:
        >>> key_fingerprint(b"k" * 32) == key_fingerprint(b"k" * 32)
        True
        >>> key_fingerprint(b"k" * 32).startswith("sha256:"), len(key_fingerprint(b"k" * 32))
        (True, 23)
    """
    digest = hashlib.sha256(b"knelpunt pseudonym key fingerprint\x00" + key).hexdigest()
    return f"sha256:{digest[:16]}"


def pseudonym(value: str, *, key: bytes, prefix: str = "p-") -> str:
    """The pseudonym of ``value``: ``prefix`` and 20 hex digits of HMAC-SHA256.

    Example:
        >>> pseudonym("Z-1042", key=b"k" * 32, prefix="c-")
        'c-833c09a29056691246eb'
        >>> pseudonym("Z-1042", key=b"other key", prefix="c-") != pseudonym(
        ...     "Z-1042", key=b"k" * 32, prefix="c-")
        True
    """
    return prefix + hmac.digest(key, value.encode("utf-8"), "sha256").hex()[:DIGEST_HEX]
