"""The bugs fuzzing found, each kept as the smallest input that showed it."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import knelpunt as kp
from knelpunt.errors import MalformedFileError, ProfileError, ScenarioError


def _workbook(frame: pd.DataFrame, change: dict[str, tuple[str, str]] | None = None) -> bytes:
    """``frame`` as .xlsx, with text replaced in its parts: {part: (old, new)}."""
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    for part, (old, new) in (change or {}).items():
        text = parts[part].decode()
        assert re.search(old, text), (part, old)
        parts[part] = re.sub(old, new, text, count=1).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return out.getvalue()


LOG = pd.DataFrame(
    {
        "case": ["1", "1"],
        "activity": ["A", "B"],
        "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 10:00"]),
        "bedrag": [1, 2],
    }
)


def test_excel_with_damaged_workbook_xml() -> None:
    """lxml's XMLSyntaxError came through openpyxl unchanged."""
    data = _workbook(LOG, {"xl/workbook.xml": ("<workbook", "garbage<workbook")})
    with pytest.raises(MalformedFileError, match=r"f\.xlsx: the workbook's XML is damaged"):
        kp.check_log(io.BytesIO(data), name="f.xlsx")


def test_excel_with_an_integer_beyond_64_bits() -> None:
    """Excel keeps any integer; polars refused the column (OverflowError). It is kept."""
    data = _workbook(
        LOG, {"xl/worksheets/sheet1.xml": ("<v>1</v>", "<v>99999999999999999999999</v>")}
    )
    with kp.open_store(":memory:") as store:
        result = kp.ingest_log(store, io.BytesIO(data), name="f.xlsx")
        assert result.added == 2
        assert "99999999999999999999999" in store.read_events()["attributes"].iloc[0]


def test_excel_with_a_value_of_the_wrong_type() -> None:
    """openpyxl lets Python's own errors through when a value has the wrong type: fuzzing
    found an OverflowError (an infinite number where it wanted an integer); this input,
    a style number that is no integer, gives the TypeError of the same kind."""
    data = _workbook(LOG, {"xl/styles.xml": (r'numFmtId="\d+"', 'numFmtId="1e999"')})
    with pytest.raises(MalformedFileError, match="a value Excel would not write"):
        kp.check_log(io.BytesIO(data), name="f.xlsx")


@pytest.mark.parametrize("override", ['days="', "days=!0", "days=!\xa0", "days=\x1b"])
def test_override_that_is_not_yaml(override: str) -> None:
    """yaml's ScannerError, ConstructorError and ReaderError came through."""
    with pytest.raises(ScenarioError, match=r"(?s)not valid YAML.*quotes"):
        kp.read_scenario("baseline", overrides=[override])


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(9)
)


def test_yaml_alias_bomb_in_a_profile(tmp_path: Path) -> None:
    """Nested aliases (a billion values in 10 lines) were walked one by one."""
    path = tmp_path / "lol.yaml"
    path.write_text("name: lol\n" + LAUGHS)
    started = time.perf_counter()
    with pytest.raises(ProfileError, match="an alias"):
        kp.read_profile(path)
    assert time.perf_counter() - started < 2


def test_yaml_alias_bomb_in_an_override() -> None:
    started = time.perf_counter()
    with pytest.raises(ScenarioError, match="an alias"):
        kp.read_scenario("baseline", overrides=["name=" + "{" + LAUGHS.replace("\n", ", ") + "}"])
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("path", ["/dev/zero", "big"])
def test_endless_or_huge_profile(tmp_path: Path, path: str) -> None:
    """A profile path that never ends (/dev/zero) or holds megabytes is refused unread."""
    target = Path(path) if path.startswith("/") else tmp_path / "big.yaml"
    if not path.startswith("/"):
        target.write_text("name: x\n" + "# ruimte\n" * 600_000)
    with pytest.raises(ProfileError, match="larger than 4 MB"):
        kp.read_profile(target)


@pytest.mark.parametrize(
    "data",
    [
        b"case,activity,timestamp,resource\n,,,\n,,2024-01-01 10:00,\n,,2024-01-01T10:00:00+01,\n",
        b"case,activity,timestamp,resource\n,,,\n,,,\n,,,2024-01-01T10:00:00+01\n",
    ],
)
def test_iso_offset_of_hours_alone(data: bytes) -> None:
    """'+01' (ISO 8601's offset in hours) was not seen as an offset: pandas's mix of
    aware and naive values stopped the mapping suggestion (ValueError, TypeError)."""
    with pytest.raises(kp.KnelpuntError, match="the case id is empty"):
        kp.ingest_log(kp.open_store(":memory:"), io.BytesIO(data), name="f.csv")


def test_iso_offset_of_hours_alone_is_read_as_an_offset() -> None:
    from knelpunt.ingest.timestamps import parse_times

    found = parse_times(
        pd.Series(["2024-01-01T10:00:00+01", "2024-01-01T10:00:00.5+0100", "2024-01-01 10:00"]),
        timezone="Europe/Amsterdam",
        fmt="ISO8601",
    )
    assert pd.to_datetime(found.micros, unit="us").strftime("%H:%M:%S").tolist() == [
        "09:00:00",
        "09:00:00",
        "09:00:00",
    ]


def test_xes_key_with_a_nul() -> None:
    """A NUL in an attribute key (XML forbids it; rustxes reads it): polars panicked when
    the events became a pandas frame."""
    data = (
        b'<log><trace><string key="concept:name" value="c"/><event>'
        b'<string key="concept:name" value="A"/>'
        b'<date key="time:timestamp" value="2024-01-01T10:00:00+01:00"/>'
        b'<string key="x\x00y" value="1"/></event></trace></log>'
    )
    with pytest.raises(MalformedFileError, match="holds a NUL character"):
        kp.check_log(io.BytesIO(data), name="f.xes")


def test_parquet_column_name_that_is_not_utf8() -> None:
    """A footer naming a column in bytes that are not UTF-8: UnicodeDecodeError."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"qqqzz": ["a"]}), buffer, store_schema=False)
    data = buffer.getvalue().replace(b"qqqzz", b"\x9a" * 5)
    with pytest.raises(MalformedFileError, match="not a readable Parquet file"):
        kp.check_log(io.BytesIO(data), name="f.parquet")


def _patched_zip(offset: int, value: bytes) -> bytes:
    """LOG as a workbook with a field of every central-directory entry set to ``value``."""
    data = bytearray(_workbook(LOG))
    at = data.find(b"PK\x01\x02")
    while at != -1:
        data[at + offset : at + offset + len(value)] = value
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


@pytest.mark.parametrize(
    ("offset", "value"),
    [(6, b"\xeb\x00"), (10, b"\x63\x00")],
    ids=["zip version 23.5", "unknown compression method"],
)
def test_excel_with_zip_features_python_lacks(offset: int, value: bytes) -> None:
    """zipfile's NotImplementedError (a zip version or compression it lacks) came through."""
    with pytest.raises(MalformedFileError, match="not a readable Excel workbook"):
        kp.check_log(io.BytesIO(_patched_zip(offset, value)), name="f.xlsx")


def test_xes_keys_that_polars_reads_as_patterns() -> None:
    """An attribute key '*' (or a '^...$' pattern): polars took it for all columns
    (DuplicateError). Both are kept as attributes."""
    data = (
        b'<log><trace><string key="concept:name" value="c"/><event>'
        b'<string key="concept:name" value="A"/>'
        b'<date key="time:timestamp" value="2024-01-01T10:00:00+01:00"/>'
        b'<string key="*" value="ster"/><string key="^a.*$" value="patroon"/>'
        b"</event></trace></log>"
    )
    with kp.open_store(":memory:") as store:
        assert kp.ingest_log(store, io.BytesIO(data), name="f.xes").added == 1
        attributes = store.read_events()["attributes"].iloc[0]
    assert '"*":"ster"' in attributes
    assert '"^a.*$":"patroon"' in attributes


def test_time_zone_that_is_a_folder(tmp_path: Path) -> None:
    """A calendar's zone 'Europe' (a folder of zones): ZoneInfo's IsADirectoryError."""
    from importlib import resources

    text = (resources.files("knelpunt") / "profiles" / "generiek.yaml").read_text("utf-8")
    path = tmp_path / "p.yaml"
    path.write_text(text.replace("timezone: Europe/Amsterdam", "timezone: Europe"))
    with pytest.raises(ProfileError, match="Unknown time zone 'Europe'"):
        kp.read_profile(path)


def test_scenario_extends_a_mapping(tmp_path: Path) -> None:
    """'extends' holding a mapping became a path too long to look up (OSError)."""
    path = tmp_path / "s.yaml"
    path.write_text("extends:\n  a: " + "x" * 300 + "\n")
    with pytest.raises(ScenarioError, match="'extends' names one scenario"):
        kp.read_scenario(path)


@pytest.mark.parametrize("name", ["x" * 5000, "a\x00b"])
def test_names_that_cannot_be_paths(name: str) -> None:
    """A profile or scenario name too long for a path, or holding a NUL."""
    with pytest.raises(ProfileError, match="no such profile"):
        kp.read_profile(name)
    with pytest.raises(ScenarioError, match="No scenario"):
        kp.read_scenario(name)


# Found by atheris (scripts/fuzz_atheris.py), 120 s per target.


def test_xes_declaring_an_unknown_encoding() -> None:
    """expat's LookupError for encoding="UTF-6" came through the prolog check."""
    data = b'<?xml version="1.0" encoding="UTF-6"?><log><trace></trace></log>'
    with pytest.raises(MalformedFileError, match="declares an encoding no reader knows"):
        kp.check_log(io.BytesIO(data), name="f.xes")


def test_excel_with_an_encrypted_part() -> None:
    """zipfile's RuntimeError for an encrypted part came through openpyxl."""
    data = bytearray(_workbook(LOG))
    for header, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(header)
        while at != -1:
            data[at + flags] |= 1
            at = data.find(header, at + 4)
    with pytest.raises(MalformedFileError, match="protected with a password"):
        kp.check_log(io.BytesIO(bytes(data)), name="f.xlsx")


def test_parquet_text_that_is_not_utf8() -> None:
    """Parquet readers do not check text: pandas failed on it later (ArrowException)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pa.table(
        {
            "case:concept:name": ["c1"],
            "concept:name": ["Beschikking"],
            "time:timestamp": pa.array([1_700_000_000_000_000], pa.timestamp("us")),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(frame, buffer, compression="none", use_dictionary=False)
    data = buffer.getvalue().replace(b"Beschikking", b"Besch\xff\xfeking")
    with pytest.raises(MalformedFileError, match="Invalid UTF8"):
        kp.check_log(io.BytesIO(data), name="f.parquet")


def test_parquet_with_damaged_size_statistics() -> None:
    """A footer whose size statistics do not fit its columns (atheris's input, kept in
    tests/data/fuzz/): reading a column chunk's metadata aborted the whole process (a
    C++ exception pyarrow does not catch), so the size limit reads the row groups'
    totals. Run in a child process, since a regression would abort this one."""
    path = Path(__file__).parents[1] / "data" / "fuzz" / "damaged-size-statistics.parquet"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, knelpunt as kp\n"
            "try:\n    kp.check_log(sys.argv[1])\n"
            "except kp.KnelpuntError as error:\n    print(error)\n",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "not a readable Parquet file" in done.stdout
