"""check_log: the recording's own verdict, before anything is recorded."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import knelpunt as kp
from knelpunt.errors import MappingError
from tests.conftest import shared_log

DUTCH = (
    "Zaaknummer;Activiteit;Datum;Medewerker\r\n"
    "Z1;Melding;31-12-2024 14:05;Anouk\r\n"
    "Z1;Besluit;32-12-2024 10:00;Bram\r\n"
    "Z2;Melding;02-01-2025 09:00;Anouk\r\n"
    ";Besluit;03-01-2025 09:00;Bram\r\n"
).encode("cp1252")


def test_every_refused_row_with_line_column_value_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(DUTCH)
    found = kp.check_log(path)
    assert (found.file, found.format) == ("export.csv", "csv")
    assert (found.rows, found.valid, found.rejected) == (4, 2, 2)
    assert not found.clean
    assert found.mapping["case_id"] == "Zaaknummer"
    assert found.mapping["timestamp_format"] == "%d-%m-%Y %H:%M"
    rows = found.rejects.set_index("line")
    assert rows.loc[3, "column"] == "Datum"
    assert rows.loc[3, "value"] == "32-12-2024 10:00"
    assert "format" in rows.loc[3, "reason"]
    assert rows.loc[5, "column"] == "Zaaknummer"
    assert list(found.preview.columns) == ["Zaaknummer", "Activiteit", "Datum", "Medewerker"]
    assert len(found.preview) == 4
    # The same bytes from an upload (an open file) give the same verdict.
    again = kp.check_log(io.BytesIO(DUTCH), name="export.csv")
    assert again.rejects.equals(found.rejects)


def test_a_clean_check_records_clean_in_strict_mode(tmp_path: Path) -> None:
    path = tmp_path / "clean.csv"
    path.write_bytes(DUTCH.replace(b"32-12", b"30-12").replace(b";Besluit;03", b"Z2;Besluit;03"))
    found = kp.check_log(path)
    assert found.clean
    with kp.open_store(":memory:") as store:
        recorded = kp.ingest_log(store, path, mode="strict")
        assert recorded.added == found.events == 4


def test_a_mapping_that_cannot_be_completed_raises_what_recording_raises(
    tmp_path: Path,
) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("a;b\n1;2\n", encoding="utf-8")
    with pytest.raises(MappingError, match="cannot tell which column"):
        kp.check_log(path)


@pytest.mark.real_logs
def test_a_real_log_checks_clean_and_agrees_with_the_recording() -> None:
    path = shared_log("receipt.csv")
    found = kp.check_log(path)
    with kp.open_store(":memory:") as store:
        recorded = kp.ingest_log(store, path)
    assert found.clean
    assert found.events == recorded.added == 8577
    assert found.cases == recorded.source.report["cases"]
    assert found.mapping["resource"] == "org:resource"
