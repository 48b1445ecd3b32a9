"""Set-up for every test, doctests in knelpunt/ included."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _pseudonym_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Recording pseudonymises with the key in a key file (knelpunt.privacy); tests use
    one of their own, never the user's ~/.config/knelpunt/pseudonym.key."""
    folder = tmp_path_factory.mktemp("key")
    saved = os.environ.get("KNELPUNT_PSEUDONYM_KEY_FILE")
    os.environ["KNELPUNT_PSEUDONYM_KEY_FILE"] = str(folder / "pseudonym.key")
    yield
    if saved is None:
        os.environ.pop("KNELPUNT_PSEUDONYM_KEY_FILE", None)
    else:
        os.environ["KNELPUNT_PSEUDONYM_KEY_FILE"] = saved
