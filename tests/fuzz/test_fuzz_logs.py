"""Fuzzing the log readers (CSV, Excel, XES, Parquet): any bytes, and valid files
made slightly wrong, give a log or knelpunt's own error; never another exception,
never a hang (see harness.py; KNELPUNT_FUZZ=long runs them longer)."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from datetime import datetime
from xml.sax.saxutils import quoteattr

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

import knelpunt as kp
from tests.fuzz.harness import FUZZ, mutate, mutations, only_own_errors


def _check(data: bytes, name: str) -> None:
    """The property: checking (which records in a throwaway store) and reading."""
    only_own_errors(lambda: kp.check_log(io.BytesIO(data), name=name))


maybe_mutations = st.one_of(st.just([]), mutations)

_NAMES = ["case", "activity", "timestamp", "resource", "start", "lifecycle", "team", "note"]
_cells = st.one_of(
    st.text(max_size=10),
    st.sampled_from(
        [
            "2024-01-01 10:00",
            "01-02-2024 10:00",
            "31-02-2024 10:00",
            "2024-01-01T10:00:00+01:00",
            "2024-03-31T02:30:00",
            "",
            " ",
            "1e400",
            "-0",
            "complete",
            "start",
            "=1+1",
            "NaT",
        ]
    ),
    st.integers(-(10**20), 10**20).map(str),
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A CSV as exports write them: known or odd columns, any delimiter and encoding."""
    known = draw(st.booleans())
    columns = (
        draw(st.permutations(_NAMES).map(lambda c: c[: max(3, len(c) // 2)]))
        if known
        else draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=5, unique=True))
    )
    rows = draw(
        st.lists(st.lists(_cells, min_size=len(columns), max_size=len(columns)), max_size=12)
    )
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=draw(st.sampled_from([",", ";", "\t", "|"])),
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC])),
        lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
    )
    writer.writerow(columns)
    writer.writerows(rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return buffer.getvalue().encode(encoding, errors="replace")


@FUZZ
@given(
    st.binary(max_size=3000),
    st.sampled_from(["f.csv", "f.xes", "f.xes.gz", "f.xlsx", "f.parquet", "f.csv.gz", "upload"]),
)
def test_any_bytes(data: bytes, name: str) -> None:
    """Any bytes under any name: the format found from the name or the bytes."""
    _check(data, name)


def _check_packed(
    data: bytes, ops: list[tuple[str, float, bytes]], packed: bool, name: str
) -> None:
    """A file mutated, plain or gzipped (mutated before or after packing)."""
    if packed:
        _check(
            mutate(gzip.compress(data), ops)
            if ops and ops[0][1] < 0.5
            else gzip.compress(mutate(data, ops)),
            name + ".gz",
        )
    else:
        _check(mutate(data, ops), name)


@FUZZ
@given(csv_files(), maybe_mutations, st.booleans())
def test_csv(data: bytes, ops: list[tuple[str, float, bytes]], packed: bool) -> None:
    """CSV files, mutated, plain or gzipped (mutated before or after packing)."""
    _check_packed(data, ops, packed, "f.csv")


_xes_values = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        [
            "2024-01-01T10:00:00+01:00",
            "2024-01-01",
            "nonsense",
            "1",
            "-1.5",
            "true",
            "NaN",
            "9" * 25,
        ]
    ),
)
_xes_keys = st.one_of(
    st.sampled_from(
        [
            "concept:name",
            "time:timestamp",
            "org:resource",
            "lifecycle:transition",
            "start_timestamp",
            "org:group",
            "cost",
        ]
    ),
    st.text(min_size=1, max_size=6),
)
_xes_types = st.sampled_from(["string", "date", "int", "float", "boolean", "id"])


@st.composite
def _attribute(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(
        _xes_types if depth > 1 else st.one_of(_xes_types, st.just("list"), st.just("container"))
    )
    key = quoteattr(draw(_xes_keys))
    if kind in ("list", "container"):
        inner = "".join(draw(st.lists(_attribute(depth + 1), max_size=3)))
        return f"<{kind} key={key}>{inner}</{kind}>"
    return f"<{kind} key={key} value={quoteattr(draw(_xes_values))}/>"


@st.composite
def xes_files(draw: st.DrawFn) -> bytes:
    """An XES log: traces of events with the standard keys and odd ones, every type."""
    traces = []
    for _ in range(draw(st.integers(0, 4))):
        events = []
        for _ in range(draw(st.integers(0, 4))):
            standard = [
                f'<string key="concept:name" value={quoteattr(draw(_xes_values))}/>',
                f'<date key="time:timestamp" value={quoteattr(draw(_xes_values))}/>',
            ]
            extra = draw(st.lists(_attribute(), max_size=3))
            events.append("<event>" + "".join(draw(st.permutations(standard + extra))) + "</event>")
        name = f'<string key="concept:name" value={quoteattr(draw(_xes_values))}/>'
        traces.append(
            "<trace>"
            + name
            + "".join(draw(st.lists(_attribute(), max_size=2)))
            + "".join(events)
            + "</trace>"
        )
    head = draw(
        st.sampled_from(
            ['<?xml version="1.0" encoding="UTF-8"?>\n', "", '<?xml version="1.0"?><!-- c -->']
        )
    )
    log = (
        head
        + '<log xes.version="1.0">'
        + "".join(draw(st.lists(_attribute(), max_size=2)))
        + "".join(traces)
        + "</log>"
    )
    return log.encode()


@FUZZ
@given(xes_files(), maybe_mutations, st.booleans())
def test_xes(data: bytes, ops: list[tuple[str, float, bytes]], packed: bool) -> None:
    """XES logs, mutated, plain or gzipped."""
    _check_packed(data, ops, packed, "f.xes")


_frame_values = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(["2024-01-01 10:00", "31-02-2024", "01-02-2024 10:00"]),
)


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    """A table of mixed cells under known or odd column names."""
    known = draw(st.booleans())
    columns = (
        [
            "case:concept:name",
            "concept:name",
            "time:timestamp",
            *draw(
                st.lists(
                    st.sampled_from(["org:resource", "lifecycle:transition", "cost", "x"]),
                    max_size=2,
                    unique=True,
                )
            ),
        ]
        if known
        else draw(st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4, unique=True))
    )
    rows = draw(
        st.lists(st.lists(_frame_values, min_size=len(columns), max_size=len(columns)), max_size=10)
    )
    return pd.DataFrame(rows, columns=columns)


@st.composite
def xlsx_files(draw: st.DrawFn) -> bytes:
    """A workbook as Excel writes it, its bytes or its sheet's XML then mutated."""
    frame = draw(frames())
    buffer = io.BytesIO()
    # Excel cannot hold control characters: the workbook is written as Excel would.
    frame = frame.rename(columns=lambda c: ILLEGAL_CHARACTERS_RE.sub("", c) or "x")
    frame.map(lambda v: ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v).to_excel(
        buffer, index=False, engine="openpyxl"
    )
    data = buffer.getvalue()
    ops = draw(maybe_mutations)
    if not ops:
        return data
    if draw(st.booleans()):
        return mutate(data, ops)
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    part = draw(st.sampled_from(sorted(parts)))
    parts[part] = mutate(parts[part], ops)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in parts.items():
            target.writestr(name, content)
    return out.getvalue()


@FUZZ
@given(xlsx_files())
def test_excel(data: bytes) -> None:
    """Excel workbooks, mutated as bytes or in one of their XML parts."""
    _check(data, "f.xlsx")


@st.composite
def parquet_files(draw: st.DrawFn) -> bytes:
    """A Parquet file from a table of one type per column (or mixed, as text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = draw(frames())
    columns = {}
    for name in frame.columns:
        values = frame[name].tolist()
        kinds = {type(v) for v in values if v is not None}
        try:
            columns[name] = (
                pa.array(values)
                if len(kinds) == 1
                else pa.array([None if v is None else str(v) for v in values])
            )
        except (pa.ArrowException, OverflowError):
            columns[name] = pa.array([None if v is None else str(v) for v in values])
    table = pa.table(columns) if columns else pa.table({"x": pa.array([], pa.string())})
    buffer = io.BytesIO()
    pq.write_table(
        table,
        buffer,
        compression=draw(st.sampled_from(["none", "snappy", "zstd", "gzip"])),
        use_dictionary=draw(st.booleans()),
    )
    return mutate(buffer.getvalue(), draw(maybe_mutations))


@FUZZ
@given(parquet_files())
def test_parquet(data: bytes) -> None:
    """Parquet files of every column type and compression, mutated."""
    _check(data, "f.parquet")
