"""Every kind of bad input gets a message naming the place and the fix; the store is unchanged."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

import knelpunt as kp
from knelpunt.errors import (
    EmptyLogError,
    LogValidationError,
    MalformedFileError,
    MappingError,
    UnsafeInputError,
    UnsupportedFormatError,
)
from knelpunt.events import EventStore
from knelpunt.testing import make_log
from tests.helpers import store_state, write_csv

GOOD_XES = """<?xml version="1.0" encoding="UTF-8"?>
<log>
  <trace><string key="concept:name" value="c1"/>
    <event><string key="concept:name" value="A"/>
      <date key="time:timestamp" value="2024-01-01T10:00:00+01:00"/></event>
    <event><string key="concept:name" value="B"/>
      <date key="time:timestamp" value="2024-01-02T10:00:00+01:00"/></event>
  </trace>
</log>
"""


@pytest.fixture(name="store")
def _store(store_url: str) -> Iterator[EventStore]:
    with kp.open_store(store_url) as store:
        kp.ingest_log(store, make_log(cases=3), name="already there")
        yield store


def _refused(
    store: EventStore, path: Path, error: type[Exception], *patterns: str, **options: object
) -> str:
    before = store_state(store)
    with pytest.raises(error) as info:
        kp.ingest_log(store, path, **options)  # type: ignore[arg-type]
    message = str(info.value)
    for pattern in patterns:
        assert pattern in message, message
    assert store_state(store) == before
    return message


class TestCsvProblems:
    """CSV mistakes that real exports make."""

    def test_missing_column(self, store: EventStore, tmp_path: Path) -> None:
        """A mapped column that is not there lists the columns and the fix."""
        path = write_csv(tmp_path / "e.csv", "Zaak;Stap;Datum\n1;A;01-02-2024 10:00\n")
        _refused(
            store,
            path,
            MappingError,
            "e.csv",
            "'Dossier'",
            "Available columns",
            "--mapping case_id=",
            mapping="case_id=Dossier",
        )

    def test_unrecognisable_columns(self, store: EventStore, tmp_path: Path) -> None:
        """Columns nobody can recognise ask for a mapping."""
        path = write_csv(tmp_path / "e.csv", "x;y;z\n1;2;3\n1;3;4\n")
        _refused(store, path, MappingError, "e.csv", "cannot tell which column", "--mapping")

    def test_unparseable_timestamp(self, store: EventStore, tmp_path: Path) -> None:
        """A bad date names the line, the column, the value and how to write it."""
        text = "Zaak;Stap;Datum\n1;A;01-02-2024 10:00\n1;B;31-02-2024 10:00\n2;A;02-02-2024 09:00\n"
        message = _refused(
            store,
            write_csv(tmp_path / "e.csv", text),
            LogValidationError,
            "e.csv, line 3, column 'Datum'",
            "'31-02-2024 10:00'",
            "31-12-2024 14:05",
            "--lenient",
        )
        assert "1 row(s)" in message

    def test_timestamp_column_without_dates(self, store: EventStore, tmp_path: Path) -> None:
        """A timestamp column with no dates at all says so before reading rows."""
        path = write_csv(tmp_path / "e.csv", "case;activity;timestamp\n1;A;soon\n2;B;later\n")
        _refused(store, path, MappingError, "'timestamp'", "not dates", "--timestamp-format")

    def test_empty_case_id(self, store: EventStore, tmp_path: Path) -> None:
        """An empty case id is refused with its line."""
        text = "case;activity;timestamp\n1;A;2024-01-01 10:00\n;B;2024-01-01 11:00\n"
        _refused(
            store,
            write_csv(tmp_path / "e.csv", text),
            LogValidationError,
            "line 3, column 'case'",
            "the case id is empty",
        )

    def test_duplicate_rows(self, store: EventStore, tmp_path: Path) -> None:
        """An exact copy of a row names both lines and the way to keep it."""
        text = (
            "case;activity;timestamp\n1;A;2024-01-01 10:00\n1;B;2024-01-01 11:00\n"
            "1;B;2024-01-01 11:00\n"
        )
        path = write_csv(tmp_path / "e.csv", text)
        _refused(
            store, path, LogValidationError, "line 4", "exact copy of line 3", "--keep-duplicates"
        )
        kept = kp.ingest_log(store, path, duplicates="keep")
        assert kept.added == 3

    def test_duplicate_interval_rows(self, store: EventStore, tmp_path: Path) -> None:
        """A row with a start and an end is one copy, reported once; a row that shares
        only its start with another is no copy, and none of its events is lost."""
        text = (
            "case;activity;start;end\n"
            "1;A;2024-01-01 10:00;2024-01-01 10:30\n"
            "1;A;2024-01-01 10:00;2024-01-01 10:30\n"
            "1;A;2024-01-01 10:00;2024-01-01 11:00\n"
        )
        path = write_csv(tmp_path / "e.csv", text)
        mapping = {
            "case_id": "case",
            "activity": "activity",
            "timestamp": "end",
            "start_timestamp": "start",
        }
        message = _refused(store, path, LogValidationError, "line 3", mapping=mapping)
        assert message.count("exact copy of line 2") == 1, message
        assert "line 4" not in message
        lenient = kp.ingest_log(store, path, mapping=mapping, mode="lenient")
        assert (lenient.added, lenient.rejected) == (4, 1)

    def test_wrong_encoding_given(self, store: EventStore, tmp_path: Path) -> None:
        """A cp1252 file read as UTF-8 names the line and the byte."""
        path = write_csv(
            tmp_path / "e.csv",
            "case;activity;timestamp\n1;Cliënt gebeld;2024-01-01 10:00\n",
            encoding="cp1252",
        )
        _refused(
            store, path, MalformedFileError, "not valid utf-8", "line 2", "0xeb", encoding="utf-8"
        )

    def test_binary_file_as_csv(self, store: EventStore, tmp_path: Path) -> None:
        """A binary file under a .csv name is refused as not text."""
        path = tmp_path / "e.csv"
        path.write_bytes(b"case,activity\x00\x00\x01\x02")
        _refused(store, path, MalformedFileError, "NUL bytes", ".xlsx")

    def test_ragged_row(self, store: EventStore, tmp_path: Path) -> None:
        """A row with an unquoted delimiter names its line and the fix."""
        text = "case;activity;timestamp\n1;A;2024-01-01 10:00\n1;B; extra;2024-01-01 11:00\n"
        _refused(
            store,
            write_csv(tmp_path / "e.csv", text),
            MalformedFileError,
            "line 3",
            "4 fields where the header has 3",
            "double quotes",
        )

    def test_empty_file(self, store: EventStore, tmp_path: Path) -> None:
        """Zero bytes is refused as empty."""
        path = tmp_path / "e.csv"
        path.write_bytes(b"")
        _refused(store, path, EmptyLogError, "e.csv is empty (0 bytes)")

    def test_header_only(self, store: EventStore, tmp_path: Path) -> None:
        """A header without rows is refused as empty."""
        path = write_csv(tmp_path / "e.csv", "case;activity;timestamp\n")
        _refused(store, path, EmptyLogError, "header line", "no rows")

    def test_unknown_format(self, store: EventStore, tmp_path: Path) -> None:
        """An old .xls workbook is refused with the way out."""
        path = tmp_path / "e.xls"
        path.write_bytes(b"\xd0\xcf\x11\xe0 old excel")
        _refused(store, path, UnsupportedFormatError, ".xlsx")

    def test_lenient_records_the_rest(self, store: EventStore, tmp_path: Path) -> None:
        """Lenient mode records valid rows and keeps each bad one with its reason."""
        text = (
            "case;activity;timestamp\n1;A;2024-01-01 10:00\n1;B;nonsense\n;C;2024-01-01 12:00\n"
            "2;A;2024-01-02 10:00\n"
        )
        result = kp.ingest_log(store, write_csv(tmp_path / "e.csv", text), mode="lenient")
        assert (result.added, result.rejected) == (2, 2)
        rejects = kp.read_rejects(store, result.source.source_id)
        assert rejects["line"].tolist() == [3, 4]
        assert rejects["value"].tolist() == ["nonsense", None]
        assert rejects["reason"].str.contains("not a date").tolist() == [True, False]
        assert '"activity":"B"' in rejects["raw"].iloc[0]


class TestXesProblems:
    """Broken, hostile and empty XML."""

    def test_truncated_gzip(self, store: EventStore, tmp_path: Path) -> None:
        """A cut-off download is named as such."""
        data = gzip.compress((GOOD_XES * 1).encode() + b"<!--" + b"x" * 200_000 + b"-->")
        path = tmp_path / "e.xes.gz"
        path.write_bytes(data[: len(data) // 2])
        _refused(store, path, MalformedFileError, "e.xes.gz", "truncated", "again")

    def test_malformed_xml(self, store: EventStore, tmp_path: Path) -> None:
        """Mismatched tags name the line and column."""
        path = tmp_path / "e.xes"
        path.write_text(GOOD_XES.replace("</event>", "</evnt>", 1))
        _refused(store, path, MalformedFileError, "e.xes, line 5", "malformed XML", "mismatched")

    def test_entity_bomb_is_refused(self, store: EventStore, tmp_path: Path) -> None:
        """An entity-expansion bomb never reaches a parser."""
        bomb = (
            '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(
                f'<!ENTITY lol{i} "{"&lol" + str(i - 1) + ";" if i > 1 else "&lol;"}'
                f'{("&lol" + str(i - 1) + ";") * 9 if i > 1 else "&lol;" * 9}">'
                for i in range(1, 10)
            )
            + "]>\n"
            + GOOD_XES.split("\n", 1)[1].replace('value="c1"', 'value="&lol9;"')
        )
        path = tmp_path / "bomb.xes"
        path.write_text(bomb)
        _refused(store, path, UnsafeInputError, "DTD", "<!DOCTYPE")

    def test_external_entity_is_refused(self, store: EventStore, tmp_path: Path) -> None:
        """A reference to another file on the machine is refused."""
        evil = GOOD_XES.replace(
            "<log>", '<!DOCTYPE log [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<log>', 1
        ).replace('value="c1"', 'value="&x;"')
        path = tmp_path / "evil.xes"
        path.write_text(evil)
        _refused(store, path, UnsafeInputError, "entities")

    def test_not_a_log(self, store: EventStore, tmp_path: Path) -> None:
        """Well-formed XML without <log> is not taken for XES."""
        path = tmp_path / "e.xes"
        path.write_text('<?xml version="1.0"?><html><body/></html>')
        _refused(store, path, MalformedFileError, "not an XES log")

    def test_empty_log(self, store: EventStore, tmp_path: Path) -> None:
        """An XES log without events is refused as empty."""
        path = tmp_path / "e.xes"
        path.write_text('<?xml version="1.0"?><log></log>')
        _refused(store, path, (EmptyLogError, MalformedFileError))  # type: ignore[arg-type]
