"""What one pass over the bytes finds: format, hash, line count, encoding."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from knelpunt.ingest.files import scan_file


@pytest.mark.parametrize(
    ("rows", "trailing_newline"), [(3, True), (3, False), (5000, True), (5000, False)]
)
def test_line_count_and_hash(tmp_path: Path, rows: int, trailing_newline: bool) -> None:
    """Lines are counted exactly, small or large file, with or without a final newline."""
    text = "\n".join(["case;activity;timestamp"] + [f"{i};A;01-01-2024 10:00" for i in range(rows)])
    data = (text + ("\n" if trailing_newline else "")).encode()
    path = tmp_path / "log.csv"
    path.write_bytes(data)
    facts = scan_file(path)
    assert facts.lines == rows + 1
    assert facts.sha256 == hashlib.sha256(data).hexdigest()
    assert (facts.format, facts.encoding) == ("csv", "utf-8")
