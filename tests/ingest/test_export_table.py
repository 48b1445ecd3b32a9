"""Tables exported from the dashboard: CSV and Excel, formulas kept as text."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import knelpunt as kp
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


# Every character OWASP names, and near misses that must stay as they are.
HOSTILE = ["=1+1", "+31 6 1234", "-2+3", "@SUM(A1)", "\tTab", "\rCR", '=HYPERLINK("http://x")']
HARMLESS = ["Intake", "a=b", " =x", "'=already", "3-2"]


class TestEveryExport:
    """Formulas are neutralised in every CSV and Excel file knelpunt writes, read back
    with pandas and openpyxl; numbers stay numbers."""

    FRAME = pd.DataFrame(
        {
            "tekst": HOSTILE + HARMLESS,
            "getal": [-1.5, -2, 0, 3, -4, 5, 6, 7, 8, 9, -10, 11],
            "soort": pd.Categorical(["=cat", "ok"] * 6),
            "=kop": ["x"] * 12,
        }
    )

    def _check_text(self, values: list[object]) -> None:
        assert values[: len(HOSTILE)] == ["'" + v for v in HOSTILE]
        assert values[len(HOSTILE) :] == HARMLESS

    def test_xlsx(self) -> None:
        book = openpyxl.load_workbook(io.BytesIO(export_table(self.FRAME, format="xlsx")))
        rows = list(book.active.iter_rows(values_only=True))
        assert rows[0] == ("tekst", "getal", "soort", "'=kop")
        self._check_text([r[0] for r in rows[1:]])
        assert [r[1] for r in rows[1:]] == self.FRAME["getal"].tolist()
        assert all(isinstance(r[1], int | float) for r in rows[1:])
        assert {r[2] for r in rows[1:]} == {"'=cat", "ok"}

    def test_csv(self) -> None:
        back = pd.read_csv(
            io.BytesIO(export_table(self.FRAME, format="csv")),
            encoding="utf-8-sig",
            keep_default_na=False,
        )
        assert back.columns.tolist() == ["tekst", "getal", "soort", "'=kop"]
        self._check_text(back["tekst"].tolist())
        assert back["getal"].tolist() == self.FRAME["getal"].tolist()  # read back as numbers
        assert set(back["soort"]) == {"'=cat", "ok"}

    def _store_with(self, values: list[str]) -> kp.EventStore:
        store = kp.open_store(":memory:")
        frame = pd.DataFrame(
            {
                "case:concept:name": ["c1"] * len(values),
                "concept:name": values,
                "time:timestamp": pd.date_range("2024-01-01", periods=len(values), tz="UTC"),
                "org:resource": ["@jan"] * len(values),
                "saldo": [-5.0] * len(values),
            }
        )
        kp.ingest_log(store, frame, duplicates="keep", privacy="off")
        return store

    def test_export_log_csv(self, tmp_path: Path) -> None:
        """knelpunt export quotes formulas in CSV by default; 'keep' writes them as they
        are, for programs; XES and Parquet are not spreadsheets and keep every value.
        (Names are stored without surrounding blanks, so tab and CR lead no stored name.)"""
        hostile = [v for v in HOSTILE if not v[0].isspace()]
        harmless = [v for v in HARMLESS if not v[0].isspace()]
        with self._store_with(hostile + harmless) as store:
            quoted = pd.read_csv(kp.export_log(store, tmp_path / "a.csv"), keep_default_na=False)
            kept = pd.read_csv(
                kp.export_log(store, tmp_path / "b.csv", formulas="keep"), keep_default_na=False
            )
            parquet = pd.read_parquet(kp.export_log(store, tmp_path / "c.parquet"))
        assert quoted["concept:name"].tolist() == ["'" + v for v in hostile] + harmless
        assert set(quoted["org:resource"]) == {"'@jan"}
        assert quoted["saldo"].tolist() == [-5.0] * len(quoted)
        assert kept["concept:name"].tolist() == hostile + harmless
        assert parquet["concept:name"].tolist() == hostile + harmless

    def test_export_log_xlsx(self, tmp_path: Path) -> None:
        """An Excel file from knelpunt export quotes formulas as its CSV does; 'keep'
        writes them as they are, as text cells (none a formula that runs on opening)."""
        hostile = [v for v in HOSTILE if not v[0].isspace()]
        harmless = [v for v in HARMLESS if not v[0].isspace()]
        with self._store_with(hostile + harmless) as store:
            quoted = kp.export_log(store, tmp_path / "a.xlsx")
            kept = kp.export_log(store, tmp_path / "b.xlsx", formulas="keep")
        rows = list(openpyxl.load_workbook(quoted).active.iter_rows(values_only=True))
        header = rows[0]
        names = [r[header.index("concept:name")] for r in rows[1:]]
        assert names == ["'" + v for v in hostile] + harmless
        assert {r[header.index("org:resource")] for r in rows[1:]} == {"'@jan"}
        assert {r[header.index("saldo")] for r in rows[1:]} == {-5}  # still a number
        assert rows[1][header.index("time:timestamp")] == "2024-01-01T00:00:00+00:00"
        sheet = openpyxl.load_workbook(kept).active
        cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
        assert "f" not in {c.data_type for c in cells}  # no formulas at all
        column = list(rows[0]).index("concept:name") + 1
        assert [sheet.cell(r, column).value for r in range(2, sheet.max_row + 1)] == (
            hostile + harmless
        )
        back = pd.read_excel(kept, keep_default_na=False)
        assert back["concept:name"].tolist() == hostile + harmless

    def test_export_table_keep_writes_text_not_formulas(self) -> None:
        """A table exported with formulas kept: in Excel text cells, in a CSV as is."""
        book = openpyxl.load_workbook(
            io.BytesIO(export_table(self.FRAME, format="xlsx", formulas="keep"))
        )
        cells = {c.coordinate: c for row in book.active.iter_rows() for c in row}
        assert "f" not in {c.data_type for c in cells.values()}
        assert [cells[f"A{r}"].value for r in range(2, 14)] == HOSTILE + HARMLESS
        back = pd.read_csv(
            io.BytesIO(export_table(self.FRAME, format="csv", formulas="keep")),
            encoding="utf-8-sig",
            keep_default_na=False,
        )
        assert back["tekst"].tolist()[:3] == HOSTILE[:3]

    def test_cli_export_and_activities(self, tmp_path: Path) -> None:
        """The command line's CSV files: 'knelpunt export' (--keep-formulas to keep them)
        and 'knelpunt activities --instances-csv'."""
        from typer.testing import CliRunner

        from knelpunt.cli import app

        db = tmp_path / "k.db"
        with kp.open_store(str(db)) as store:
            frame = pd.DataFrame(
                {
                    "case:concept:name": ["c1", "c1"],
                    "concept:name": ["=start", "@end"],
                    "time:timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
                }
            )
            kp.ingest_log(store, frame, privacy="off")
        runner = CliRunner()
        out = tmp_path / "out.csv"
        assert runner.invoke(app, ["export", str(out), "--store", str(db)]).exit_code == 0
        assert pd.read_csv(out)["concept:name"].tolist() == ["'=start", "'@end"]
        kept = runner.invoke(app, ["export", str(out), "--store", str(db), "--keep-formulas"])
        assert kept.exit_code == 0
        assert pd.read_csv(out)["concept:name"].tolist() == ["=start", "@end"]
        book = tmp_path / "out.xlsx"
        assert runner.invoke(app, ["export", str(book), "--store", str(db)]).exit_code == 0
        assert pd.read_excel(book)["concept:name"].tolist() == ["'=start", "'@end"]
        helped = runner.invoke(app, ["export", "--help"], env={"COLUMNS": "200"})
        assert "OWASP" in helped.output
        assert "--keep-formulas" in helped.output
        steps = tmp_path / "steps.csv"
        done = runner.invoke(
            app, ["activities", "--store", str(db), "--json", "--instances-csv", str(steps)]
        )
        assert done.exit_code == 0, done.output
        activities = set(pd.read_csv(steps, encoding="utf-8-sig")["activity"])
        assert activities == {"'=start", "'@end"}


def test_control_characters_do_not_break_an_excel_export() -> None:
    """A log value with a control character (found by fuzzing: openpyxl refused the whole
    workbook) shows as U+FFFD; CSV keeps it as it is."""
    frame = pd.DataFrame({"zaak\x01": ["a\x0bb", "=c\x00"], "n": [1, -2]})
    rows = list(
        openpyxl.load_workbook(
            io.BytesIO(export_table(frame, format="xlsx", sheet="a/b:c"))
        ).active.iter_rows(values_only=True)
    )
    assert rows == [("zaak\ufffd", "n"), ("a\ufffdb", 1), ("'=c\ufffd", -2)]
    back = pd.read_csv(io.BytesIO(export_table(frame, format="csv")), encoding="utf-8-sig")
    assert back["zaak\x01"].tolist() == ["a\x0bb", "'=c\x00"]
