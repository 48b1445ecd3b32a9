"""Compressed inputs unpack only so far: real bombs stop early, in bounded memory,
with a message that names the file and the way to lift the limit; real logs pass."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import knelpunt as kp
from knelpunt.cli import app
from knelpunt.errors import InputLimitError
from knelpunt.ingest.files import scan_file, unpacked
from knelpunt.ingest.limits import DEFAULT_LIMITS, InputLimits, parse_size
from tests.bombs import gzip_bomb, xlsx_bomb
from tests.conftest import shared_log
from tests.helpers import canonical

ROOT = Path(__file__).resolve().parents[2]

_XES_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n'
    b'<trace><string key="concept:name" value="c1"/>\n'
)
# An event with a long note: what a bomb looks like (it compresses about 900 times).
_EVENT = (
    b'<event><string key="concept:name" value="A"/>'
    b'<date key="time:timestamp" value="2024-01-01T10:00:00+01:00"/>'
    b'<string key="note" value="' + b"x" * 16_000 + b'"/></event>\n'
)
# Run in a fresh interpreter: its peak memory is the reading's own. Read from its own
# memory map's high-water mark (VmHWM): ru_maxrss would carry the forking test
# process's peak over the exec (on Linux it is kept per process, not per program).
_MEASURE = """
import json, sys, time
import knelpunt as kp

def peak_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0

started = time.perf_counter()
try:
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, sys.argv[1], duplicates="keep")
    outcome, message = "recorded", ""
except kp.KnelpuntError as error:
    outcome, message = type(error).__name__, str(error)
print(json.dumps({
    "outcome": outcome,
    "message": message,
    "seconds": time.perf_counter() - started,
    "peak_mb": peak_mb(),
}))
"""


def _measure(path: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


class TestBombs:
    """Small files that unpack to gigabytes stop within tens of megabytes."""

    @pytest.mark.parametrize(
        "filler",
        [_EVENT, _EVENT + b"</trace><trace>" + _XES_HEAD.rsplit(b"<trace>", 1)[1]],
        ids=["one endless trace", "many traces (cut into pieces)"],
    )
    def test_gzip_xes(self, tmp_path: Path, filler: bytes) -> None:
        """A 10 GB XES in a 12 MB .xes.gz: refused after a few seconds, the process's
        peak memory that of reading a small log."""
        bomb = gzip_bomb(
            tmp_path / "bom.xes.gz",
            head=_XES_HEAD,
            filler=filler,
            gigabytes=10,
            tail=b"</trace></log>\n",
        )
        assert bomb.stat().st_size < 20e6
        found = _measure(bomb)
        assert found["outcome"] == "InputLimitError", found
        message = str(found["message"])
        assert "bom.xes.gz" in message
        assert "--max-ratio" in message
        assert "KNELPUNT_MAX_RATIO" in message
        assert float(str(found["peak_mb"])) < 700, found
        assert float(str(found["seconds"])) < 30, found

    def test_gzip_csv(self, tmp_path: Path) -> None:
        """A 10 GB CSV in a .csv.gz is refused while it is scanned."""
        bomb = gzip_bomb(
            tmp_path / "bom.csv.gz",
            head=b"case,activity,timestamp\n",
            filler=b"1,A,2024-01-01 10:00\n",
            gigabytes=10,
        )
        found = _measure(bomb)
        assert found["outcome"] == "InputLimitError", found
        assert "bom.csv.gz" in str(found["message"])
        assert float(str(found["peak_mb"])) < 700, found
        assert float(str(found["seconds"])) < 30, found

    def test_xlsx(self, tmp_path: Path) -> None:
        """A workbook of 9 MB whose sheet unpacks to 3 GB is refused before any part is
        unpacked."""
        small = tmp_path / "small.xlsx"
        pd.DataFrame({"case": ["1"], "activity": ["A"], "timestamp": ["2024-01-01"]}).to_excel(
            small, index=False
        )
        bomb = xlsx_bomb(tmp_path / "bom.xlsx", small, gigabytes=3)
        found = _measure(bomb)
        assert found["outcome"] == "InputLimitError", found
        assert "bom.xlsx: says it unpacks to" in str(found["message"])
        assert float(str(found["seconds"])) < 5, found
        assert float(str(found["peak_mb"])) < 700, found

    def test_parquet_pages(self, tmp_path: Path) -> None:
        """zstd pages of one value repeated (2 GB stated, 2.4 MB on disk) are refused
        from the footer, before a page is unpacked."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = 1 << 16
        table = pa.table(
            {
                "case:concept:name": pa.array(["Z" * 1000] * rows),
                "concept:name": pa.array(["A"] * rows),
                "time:timestamp": pa.array([1_700_000_000_000_000] * rows, pa.timestamp("us")),
            }
        )
        bomb = tmp_path / "bom.parquet"
        with pq.ParquetWriter(bomb, table.schema, compression="zstd", use_dictionary=False) as out:
            for _ in range(32):
                out.write_table(table)
        assert bomb.stat().st_size < 5e6
        found = _measure(bomb)
        assert found["outcome"] == "InputLimitError", found
        assert "bom.parquet: says its pages unpack to" in str(found["message"])
        assert float(str(found["peak_mb"])) < 700, found

    def test_parquet_dictionary(self, tmp_path: Path) -> None:
        """One 1 MB value referred to by a million rows (10 kB on disk, a terabyte decoded)
        is refused before a batch is decoded."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = 1_000_000
        zeros = pa.array([0] * rows, pa.int32())
        table = pa.table(
            {
                "case:concept:name": pa.DictionaryArray.from_arrays(zeros, ["Z" * 1_000_000]),
                "concept:name": pa.DictionaryArray.from_arrays(zeros, ["A"]),
                "time:timestamp": pa.array([1_700_000_000_000_000] * rows, pa.timestamp("us")),
            }
        )
        bomb = tmp_path / "bom.parquet"
        pq.write_table(table, bomb, compression="zstd")
        assert bomb.stat().st_size < 100_000
        found = _measure(bomb)
        assert found["outcome"] == "InputLimitError", found
        assert "bom.parquet: decodes to" in str(found["message"])
        assert float(str(found["peak_mb"])) < 700, found


class TestLimits:
    """The limits themselves: how they read, what they say, how to lift them."""

    def test_defaults(self) -> None:
        """16 GiB in all; 200 times the compressed size."""
        assert (DEFAULT_LIMITS.max_unpacked, DEFAULT_LIMITS.max_ratio) == (16 << 30, 200.0)

    @pytest.mark.parametrize(
        ("text", "expected"),
        [("40GB", 40_000_000_000), ("16 GiB", 16 << 30), ("500mb", 500_000_000), ("1024", 1024)],
    )
    def test_sizes(self, text: str, expected: int) -> None:
        assert parse_size(text) == expected

    @pytest.mark.parametrize("text", ["", "lots", "-3GB", "5 parsecs", "0"])
    def test_bad_sizes(self, text: str) -> None:
        with pytest.raises(InputLimitError, match="not a size"):
            parse_size(text)

    def test_small_files_may_compress_well(self) -> None:
        """The ratio counts only past 16 MiB: a tiny, very repetitive file passes."""
        DEFAULT_LIMITS.check("x.gz", unpacked=16 << 20, packed=1)
        with pytest.raises(InputLimitError, match=r"x\.gz: unpacks to"):
            DEFAULT_LIMITS.check("x.gz", unpacked=(16 << 20) + 1, packed=1)

    def test_size_limit_names_the_option(self, tmp_path: Path) -> None:
        """A genuine file beyond max_unpacked: the message says how to lift it."""
        path = tmp_path / "groot.csv.gz"
        path.write_bytes(gzip.compress(b"case,activity,timestamp\n1,A,2024-01-01\n" * 50_000))
        limits = InputLimits(max_unpacked=1_000_000)
        with pytest.raises(InputLimitError) as info:
            scan_file(path, limits=limits)
        message = str(info.value)
        assert message.startswith("groot.csv.gz: unpacks to more than 1.0MB")
        assert "--max-unpacked 2MB" in message
        assert "KNELPUNT_MAX_UNPACKED" in message
        assert "InputLimits(max_unpacked=...)" in message

    def test_lifted_ratio_reads_the_file(self, tmp_path: Path) -> None:
        """A genuine file that compresses beyond the ratio reads once the limit is lifted."""
        bomb = gzip_bomb(
            tmp_path / "herhaald.csv.gz",
            head=b"case,activity,timestamp\n",
            filler=b"1,A,2024-01-01 10:00\n",
            gigabytes=0.03,
        )
        with pytest.raises(InputLimitError, match="--max-ratio"):
            scan_file(bomb)
        facts = scan_file(bomb, limits=InputLimits(max_ratio=5000))
        assert (facts.format, facts.compression) == ("csv", "gzip")
        assert facts.lines > 1_000_000

    def test_cli_options_and_environment(self, tmp_path: Path) -> None:
        """knelpunt ingest --max-unpacked, and KNELPUNT_MAX_UNPACKED, set the limit."""
        path = tmp_path / "log.csv.gz"
        path.write_bytes(
            gzip.compress(b"case;activity;timestamp\n1;A;2024-01-01 10:00\n1;B;2024-01-02 10:00\n")
        )
        store = f"sqlite:///{tmp_path / 'k.db'}"
        runner = CliRunner()
        refused = runner.invoke(
            app, ["ingest", str(path), "--store", store, "--max-unpacked", "20"]
        )
        assert refused.exit_code == 3, refused.output
        assert "log.csv.gz: unpacks to more than 20B" in refused.output
        via_env = runner.invoke(
            app, ["ingest", str(path), "--store", store], env={"KNELPUNT_MAX_UNPACKED": "20"}
        )
        assert via_env.exit_code == 3, via_env.output
        recorded = runner.invoke(app, ["ingest", str(path), "--store", store, "--json"])
        assert recorded.exit_code == 0, recorded.output
        assert json.loads(recorded.stdout)["added"] == 2


class TestCompressedCsv:
    """A .csv.gz records exactly what the same CSV does."""

    def test_same_events(self, tmp_path: Path) -> None:
        text = "Zaak;Stap;Datum\n1;Melding;01-02-2024 10:00\n1;Besluit;03-02-2024 11:00\n"
        plain = tmp_path / "zaken.csv"
        plain.write_text(text, encoding="cp1252")
        packed = tmp_path / "zaken.csv.gz"
        packed.write_bytes(gzip.compress(plain.read_bytes()))
        with kp.open_store(":memory:") as store:
            first = kp.ingest_log(store, plain)
            second = kp.ingest_log(store, packed)
            assert second.source.details["compression"] == "gzip"
            assert canonical(store, first.source.source_id) == canonical(
                store, second.source.source_id
            )

    def test_gzip_without_a_telling_name(self, tmp_path: Path) -> None:
        """An upload named only '.gz' is looked into: CSV or XES by its content."""
        packed = tmp_path / "export.gz"
        packed.write_bytes(gzip.compress(b"case,activity,timestamp\n1,A,2024-01-01\n"))
        assert scan_file(packed).format == "csv"
        packed.write_bytes(gzip.compress(b'<?xml version="1.0"?>\n<log></log>\n'))
        assert scan_file(packed).format == "xes"

    def test_damaged_gzip(self, tmp_path: Path) -> None:
        data = gzip.compress(b"case,activity,timestamp\n" + b"1,A,2024-01-01\n" * 20_000)
        path = tmp_path / "kapot.csv.gz"
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(kp.KnelpuntError, match=r"kapot\.csv\.gz: the gzip file is truncated"):
            scan_file(path)


@pytest.mark.real_logs
def test_real_logs_unpack_within_the_defaults() -> None:
    """Every real compressed log unpacks whole within the default limits."""
    folder = shared_log("receipt.xes.gz").parent
    for path in sorted(folder.glob("*.gz")):
        size = 0
        with unpacked(path, path.name, DEFAULT_LIMITS) as stream:
            while block := stream.read(1 << 22):
                size += len(block)
        assert size > path.stat().st_size * 10, path.name
