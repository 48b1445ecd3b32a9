"""Each supported input shape records the same events; round trips keep every event."""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import knelpunt as kp
from knelpunt.testing import make_demo_csv, make_log
from tests.helpers import canonical

AMS = "Europe/Amsterdam"


def _times(store: kp.EventStore) -> list[str]:
    return [t.isoformat() for t in kp.read_events(store)["time:timestamp"]]


class TestCsvDialects:
    """Dutch Excel, UTF-8 with BOM, UTF-16 and ISO exports all read the same."""

    @pytest.mark.parametrize(
        ("encoding", "bom", "delimiter"),
        [
            ("cp1252", b"", ";"),
            ("utf-8", codecs.BOM_UTF8, ","),
            ("utf-16", b"", "\t"),
            ("utf-8", b"", "|"),
        ],
    )
    def test_encodings_and_delimiters(
        self, tmp_path: Path, encoding: str, bom: bytes, delimiter: str
    ) -> None:
        """The same Dutch rows come out the same whatever the export settings."""
        text = delimiter.join(["Zaaknummer", "Activiteit", "Datum", "Medewerker"]) + "\r\n"
        text += delimiter.join(["Z1", "Cliënt gebeld", "31-12-2024 14:05", "Anouk"]) + "\r\n"
        text += delimiter.join(["Z1", "Beschikking", "02-01-2025 09:30", "Bram"]) + "\r\n"
        path = tmp_path / "export.csv"
        path.write_bytes(bom + text.encode(encoding))
        with kp.open_store(":memory:") as store:
            result = kp.ingest_log(store, path, privacy="off")
            log = kp.read_events(store)
        assert result.source.details["delimiter"] == delimiter
        assert log["concept:name"].tolist() == ["Cliënt gebeld", "Beschikking"]
        assert log["org:resource"].tolist() == ["Anouk", "Bram"]
        assert [t.isoformat() for t in log["time:timestamp"]] == [
            "2024-12-31T13:05:00+00:00",
            "2025-01-02T08:30:00+00:00",
        ]

    def test_iso_offsets_across_dst(self, tmp_path: Path) -> None:
        """ISO timestamps keep their own offsets, summer and winter."""
        path = tmp_path / "iso.csv"
        path.write_text(
            "case,activity,timestamp\n1,A,2024-03-30T10:00:00+01:00\n"
            "1,B,2024-04-02T10:00:00+02:00\n1,C,2024-04-03T10:00:00Z\n"
        )
        with kp.open_store(":memory:") as store:
            kp.ingest_log(store, path, privacy="off")
            assert _times(store) == [
                "2024-03-30T09:00:00+00:00",
                "2024-04-02T08:00:00+00:00",
                "2024-04-03T10:00:00+00:00",
            ]

    def test_naive_times_across_dst(self, tmp_path: Path) -> None:
        """Naive wall times are read in Amsterdam time, DST oddities reported."""
        path = tmp_path / "dst.csv"
        path.write_text(
            "case;activity;timestamp\n1;A;30-03-2024 10:00\n1;B;31-03-2024 02:30\n"
            "1;C;27-10-2024 02:30\n1;D;28-10-2024 10:00\n"
        )
        with kp.open_store(":memory:") as store:
            result = kp.ingest_log(store, path, privacy="off")
            assert _times(store) == [
                "2024-03-30T09:00:00+00:00",  # winter time, UTC+1
                "2024-03-31T01:30:00+00:00",  # in the skipped hour: moved forward one hour
                "2024-10-27T00:30:00+00:00",  # the repeated hour: first (summer) occurrence
                "2024-10-28T09:00:00+00:00",
            ]
        assert any("skipped" in w for w in result.warnings)
        assert any("occurs twice" in w for w in result.warnings)

    def test_other_timezone(self, tmp_path: Path) -> None:
        """Naive times can be read in another zone."""
        path = tmp_path / "tz.csv"
        path.write_text("case,activity,timestamp\n1,A,2024-07-01 10:00\n")
        with kp.open_store(":memory:") as store:
            kp.ingest_log(store, path, timezone="UTC", privacy="off")
            assert _times(store) == ["2024-07-01T10:00:00+00:00"]

    def test_date_only_is_reported(self, tmp_path: Path) -> None:
        """Dates without times are recognised as day precision."""
        path = tmp_path / "d.csv"
        path.write_text("case;activity;timestamp\n1;A;01-02-2024\n1;B;05-02-2024\n")
        with kp.open_store(":memory:") as store:
            result = kp.ingest_log(store, path, privacy="off")
        assert result.source.report["time_precision"] == "day"

    def test_start_and_end_columns(self, tmp_path: Path) -> None:
        """One row per activity with start and end becomes a start and a complete event."""
        path = make_demo_csv(tmp_path / "demo.csv", cases=5)
        with kp.open_store(":memory:") as store:
            result = kp.ingest_log(store, path, privacy="off")
            log = kp.read_events(store)
        assert result.added == 50
        assert result.source.details["mapping"]["start_timestamp"] == "Begin"
        assert log["lifecycle:transition"].tolist()[:4] == ["start", "complete"] * 2
        assert (log["Kosten (€)"].iloc[0]).count(",") == 1  # Dutch decimals kept as written


class TestOtherFormats:
    """Excel, Parquet and pm4py DataFrames record the same events."""

    def test_excel(self, tmp_path: Path) -> None:
        """An .xlsx export with real date cells records like its CSV twin."""
        log = make_log(cases=4, seed=2)
        sheet = log.assign(**{"time:timestamp": log["time:timestamp"].dt.tz_localize(None)})
        path = tmp_path / "log.xlsx"
        sheet.to_excel(path, index=False)
        with kp.open_store(":memory:") as store:
            result = kp.ingest_log(store, path, privacy="off")
            back = kp.read_events(store)
        assert result.added == 20
        expected = log["time:timestamp"].dt.tz_convert("UTC").tolist()
        assert back["time:timestamp"].tolist() == expected

    def test_parquet_and_dataframe_agree(self, tmp_path: Path) -> None:
        """A Parquet file and the DataFrame it was written from give the same events."""
        log = make_log(cases=6, seed=5)
        path = tmp_path / "log.parquet"
        log.to_parquet(path)
        with kp.open_store(":memory:") as store:
            a = kp.ingest_log(store, path, privacy="off")
            b = kp.ingest_log(store, log, privacy="off")
            assert canonical(store, a.source.source_id) == canonical(store, b.source.source_id)

    def test_upload_stream(self, tmp_path: Path) -> None:
        """A file object (a dashboard upload) records like a path."""
        path = make_demo_csv(tmp_path / "demo.csv", cases=3)
        with kp.open_store(":memory:") as store, path.open("rb") as handle:
            result = kp.ingest_log(store, handle, name="demo.csv", privacy="off")
        assert result.added == 30


@pytest.mark.parametrize("suffix", [".xes", ".xes.gz", ".csv", ".parquet"])
def test_round_trip_keeps_every_event(tmp_path: Path, suffix: str) -> None:
    """Export and re-import give the same events and attributes."""
    with kp.open_store(":memory:") as store:
        first = kp.ingest_log(store, make_log(cases=20, seed=8), privacy="off")
        path = kp.export_log(store, tmp_path / f"out{suffix}")
        second = kp.ingest_log(store, path, privacy="off")
        assert second.added == first.added
        a, b = canonical(store, first.source.source_id), canonical(store, second.source.source_id)
        assert a == b


def test_xes_export_writes_case_floats_as_plain_numbers(tmp_path: Path) -> None:
    """A float case attribute is written as an XES float, not as NumPy's repr."""
    frame = make_log(cases=3, seed=8).assign(**{"case:amount": 1234.5})
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, frame, privacy="off")
        path = kp.export_log(store, tmp_path / "out.xes")
    text = path.read_text(encoding="utf-8")
    assert text.count('<float key="amount" value="1234.5"/>') == 3
    assert "np.float64" not in text


_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12
).filter(lambda s: s.strip() == s and s != "")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            _text,
            _text,
            st.datetimes(
                min_value=pd.Timestamp("1990-01-01").to_pydatetime(),
                max_value=pd.Timestamp("2040-01-01").to_pydatetime(),
            ),
            _text,
        ),
        min_size=1,
        max_size=30,
        unique=True,
    )
)
def test_csv_round_trip_is_identity(
    tmp_path: Path, rows: list[tuple[str, str, object, str]]
) -> None:
    """Any events survive store -> CSV -> store unchanged (text, UTC instants)."""
    frame = pd.DataFrame(
        rows, columns=["case:concept:name", "concept:name", "time:timestamp", "note"]
    )
    frame["time:timestamp"] = pd.to_datetime(frame["time:timestamp"]).dt.tz_localize("UTC")
    with kp.open_store(":memory:") as store:
        first = kp.ingest_log(store, frame, duplicates="keep", privacy="off")
        path = kp.export_log(store, tmp_path / "rt.csv", formulas="keep")
        second = kp.ingest_log(store, path, duplicates="keep", name="again", privacy="off")
        assert canonical(store, first.source.source_id) == canonical(store, second.source.source_id)
