"""An upload's name names the source; it never becomes a path, on either store."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest

import knelpunt as kp

CSV = b"case;activity;timestamp\n1;A;2024-01-01 10:00\n1;B;2024-01-02 10:00\n"

NAMES = [
    ("../../etc/passwd.csv", "../../etc/passwd.csv"),
    ("/etc/passwd.csv", "/etc/passwd.csv"),
    ("..", ".."),
    (".", "."),
    ("", "upload"),
    ("log\x00.csv", "log.csv"),
    ("x" * 5000 + ".csv", "x" * 196 + ".csv"),
    ("C:\\Windows\\win.ini.csv", "C:\\Windows\\win.ini.csv"),
    ("regel\neen.csv", "regeleen.csv"),
]


@pytest.mark.parametrize(("given", "kept"), NAMES, ids=[repr(n[:20]) for n, _ in NAMES])
def test_names_only_name(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: str, kept: str
) -> None:
    """The upload is written under a fixed name in a fresh folder, whatever its name
    says; the source keeps the name, cleaned of control characters and cut to 200."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    with kp.open_store(store_url) as store:
        result = kp.ingest_log(store, io.BytesIO(CSV), name=given, format="csv")
        assert result.added == 2
        assert result.source.name == kept
        assert kp.check_log(io.BytesIO(CSV), name=given, format="csv").rows == 2
    assert list(folder.iterdir()) == []  # the upload's copy is gone, nothing else was made
    assert not (tmp_path / "passwd.csv").exists()


def test_nul_in_values_is_a_refused_row(store_url: str) -> None:
    """A NUL inside a value (a broken export) refuses that row with its line and column,
    on SQLite as on PostgreSQL (which cannot store one); the other rows are recorded."""
    # Past the first 8 KiB, where a NUL means a binary file and the whole is refused.
    rows = b"".join(b"%d;A;2024-01-01 10:00\n" % case for case in range(1000))
    data = b"case;activity;timestamp\n" + rows + b"x;C\x00x;2024-01-03 10:00\n"
    with kp.open_store(store_url) as store:
        with pytest.raises(kp.KnelpuntError, match=r"line 1002, column 'activity'.*NUL"):
            kp.ingest_log(store, io.BytesIO(data), name="nul.csv")
        result = kp.ingest_log(store, io.BytesIO(data), name="nul.csv", mode="lenient")
        assert (result.added, result.rejected) == (1000, 1)
        rejects = store.rejects(result.source.source_id)
        assert rejects["value"].tolist() == ["C\\x00x"]
