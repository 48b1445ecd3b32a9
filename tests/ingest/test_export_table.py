"""Tables exported from the dashboard: CSV and Excel, formulas kept as text."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from knelpunt.errors import UnsupportedFormatError
from knelpunt.ingest.export import export_table

TABLE = pd.DataFrame(
    {
        "zaak": ["Z1", '=HYPERLINK("http://x")', "@SUM(A1)", "+31 6", "-1"],
        "dagen": [3.5, -2.0, 0.0, 1.0, float("nan")],
        "medewerker": ["Anouk", None, "Bram", "\tTab", "Chantal"],
    }
)


def test_excel_keeps_every_value_and_quotes_formulas() -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(export_table(TABLE, format="xlsx"))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("zaak", "dagen", "medewerker")
    assert [r[0] for r in rows[1:]] == [
        "Z1",
        '\'=HYPERLINK("http://x")',
        "'@SUM(A1)",
        "'+31 6",
        "'-1",
    ]
    assert [r[1] for r in rows[1:4]] == [3.5, -2, 0]  # numbers stay numbers, negatives too
    assert rows[4][2] == "'\tTab"
    assert rows[2][2] is None


def test_csv_has_a_bom_and_quotes_formulas() -> None:
    data = export_table(TABLE, format="csv")
    assert data.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back["zaak"].tolist()[1:3] == ['\'=HYPERLINK("http://x")', "'@SUM(A1)"]
    assert back["dagen"].tolist()[:2] == [3.5, -2.0]


def test_the_input_is_left_alone() -> None:
    before = TABLE.copy()
    export_table(TABLE, format="xlsx")
    pd.testing.assert_frame_equal(TABLE, before)


def test_other_formats_are_refused() -> None:
    with pytest.raises(UnsupportedFormatError, match="csv or xlsx"):
        export_table(TABLE, format="pdf")
