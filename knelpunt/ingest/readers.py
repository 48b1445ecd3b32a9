"""Readers: each turns one kind of file into raw row chunks plus the facts about it.

Reading and converting are separate steps: a reader knows about encodings,
delimiters, XML and Parquet row groups; :mod:`knelpunt.ingest.convert`
knows about mappings, timestamps and validation. Every reader streams in
chunks where its format allows, so a large file is never held twice.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import warnings
import xml.parsers.expat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import polars as pl

from knelpunt.errors import (
    EmptyLogError,
    LogSchemaError,
    MalformedFileError,
    UnsafeInputError,
)
from knelpunt.ingest import _xes_pieces
from knelpunt.ingest.files import FileFacts, detect_delimiter
from knelpunt.ingest.mapping import ColumnMapping
from knelpunt.schema import (
    ACTIVITY_KEY,
    CASE_ID_KEY,
    LIFECYCLE_KEY,
    RESOURCE_KEY,
    TIMESTAMP_KEY,
)

__all__ = ["CHUNK_ROWS", "RawLog", "read_raw"]

CHUNK_ROWS: Final = 100_000
PIECE_BYTES: Final = _xes_pieces.PIECE_BYTES
SPLIT_ABOVE: Final = PIECE_BYTES
"""XES files with more XML than this (bytes) are cut and parsed in a helper process."""
_XES_REQUIRED: Final = (CASE_ID_KEY, ACTIVITY_KEY, TIMESTAMP_KEY)
_XES_OPTIONAL: Final = (RESOURCE_KEY, LIFECYCLE_KEY)
_XES_START: Final = "start_timestamp"  # pm4py's interval logs: one event per activity instance

Chunks = Iterator[tuple[pd.DataFrame, np.ndarray]]


@dataclass(frozen=True, slots=True)
class RawLog:
    """A file opened for reading: its facts, a sample, and its rows in chunks.

    Attributes:
        name: the file name used in messages.
        format: csv, xlsx, xes, parquet or dataframe.
        unit: how a place in the file is named in messages: line, row or event.
        columns: the file's columns.
        details: how it was read (encoding, delimiter, sheet, ...).
        fixed_mapping: the mapping the format itself defines (XES), else None.
        naive_timezone: the zone of naive timestamps when the format fixes it
            (XES timestamps arrive in UTC), else None: the caller's zone.
        total: the number of rows, or an upper bound, for progress; None if unknown.
        sample: the first rows, for mapping suggestions.
        chunks: a function that yields (rows, their line/row/event numbers); call it once.
        estimate: while ``chunks`` runs, given the rows done, an estimate of the
            rows in all (when ``total`` is None), from the share of the file read.
        close: releases what reading holds (a helper process, temporary files).
    """

    name: str
    format: str
    unit: str
    columns: list[str]
    details: dict[str, Any]
    fixed_mapping: ColumnMapping | None
    naive_timezone: str | None
    total: int | None
    sample: pd.DataFrame
    chunks: Callable[[], Chunks] = field(repr=False)
    estimate: Callable[[int], int | None] = field(repr=False, default=lambda _done: None)
    close: Callable[[], None] = field(repr=False, default=lambda: None)


def read_raw(
    path: Path,
    facts: FileFacts,
    *,
    name: str,
    delimiter: str | None = None,
    sheet: str | int | None = None,
) -> RawLog:
    """Open a file whose facts :func:`~knelpunt.ingest.files.scan_file` found."""
    if facts.format == "csv":
        return _read_csv(path, facts, name=name, delimiter=delimiter)
    if facts.format == "xlsx":
        return _read_excel(path, name=name, sheet=sheet)
    if facts.format == "parquet":
        return _read_parquet(path, name=name)
    return _read_xes(path, name=name)


def _slices(frame: pd.DataFrame) -> Chunks:
    """An in-memory frame in chunks, rows numbered from 1."""
    for start in range(0, len(frame), CHUNK_ROWS):
        part = frame.iloc[start : start + CHUNK_ROWS]
        yield part, np.arange(start + 1, start + 1 + len(part))


def frame_log(frame: pd.DataFrame, *, name: str) -> RawLog:
    """A pandas DataFrame (e.g. from pm4py) as a raw log; rows are numbered from 1."""
    if frame.empty:
        raise EmptyLogError(f"{name}: the DataFrame has no rows.")
    data = frame.reset_index(drop=True)

    def chunks() -> Chunks:
        return _slices(data)

    return RawLog(
        name=name,
        format="dataframe",
        unit="row",
        columns=[str(c) for c in data.columns],
        details={"rows": len(data)},
        fixed_mapping=None,
        naive_timezone=None,
        total=len(data),
        sample=data.head(5000),
        chunks=chunks,
    )


# -- CSV -------------------------------------------------------------------------------


def _read_csv(path: Path, facts: FileFacts, *, name: str, delimiter: str | None) -> RawLog:
    encoding = facts.encoding or "utf-8"
    with path.open("r", encoding=encoding, newline="") as handle:
        head = handle.read(65536)
    sep = delimiter or detect_delimiter(head)

    def reader(nrows: int | None = None, chunksize: int | None = None) -> Any:
        return pd.read_csv(
            path,
            sep=sep,
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            engine="c",
            nrows=nrows,
            chunksize=chunksize,
        )

    try:
        sample = reader(nrows=5000)
    except pd.errors.EmptyDataError as error:
        raise EmptyLogError(f"{name}: no header line and no rows.") from error
    except pd.errors.ParserError as error:
        raise _csv_error(name, error, sep) from error
    if sample.empty:
        raise EmptyLogError(
            f"{name}: has a header line ({', '.join(map(str, sample.columns))}) but no rows. "
            "Export the log again with its rows."
        )

    def chunks() -> Chunks:
        # Line numbers assume one line per record (the header is line 1).
        done = 0
        try:
            with reader(chunksize=CHUNK_ROWS) as pieces:  # closed even when abandoned
                for chunk in pieces:
                    yield chunk, np.arange(done + 2, done + 2 + len(chunk))
                    done += len(chunk)
        except pd.errors.ParserError as error:
            raise _csv_error(name, error, sep) from error

    return RawLog(
        name=name,
        format="csv",
        unit="line",
        columns=[str(c) for c in sample.columns],
        details={"encoding": encoding, "delimiter": sep},
        fixed_mapping=None,
        naive_timezone=None,
        total=max(facts.lines - 1, 1),
        sample=sample,
        chunks=chunks,
    )


def _csv_error(name: str, error: Exception, sep: str) -> MalformedFileError:
    text = str(error)
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    shown = {"\t": "tab"}.get(sep, repr(sep))
    if found:
        expected, line, saw = found.groups()
        return MalformedFileError(
            f"{name}, line {line}: {saw} fields where the header has {expected} (delimiter "
            f"{shown}). A value probably contains the delimiter without quotes around it; put "
            "the value in double quotes or remove the extra delimiter."
        )
    return MalformedFileError(
        f"{name}: the CSV cannot be split into fields ({text.strip()}). Check for a quote "
        f"that is opened but never closed; the delimiter used was {shown}."
    )


# -- Excel -----------------------------------------------------------------------------


def _read_excel(path: Path, *, name: str, sheet: str | int | None) -> RawLog:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and data validation it does not need.
            warnings.simplefilter("ignore", UserWarning)
            frame = pd.read_excel(
                path, sheet_name=0 if sheet is None else sheet, dtype=object, engine="openpyxl"
            )
    except (zipfile.BadZipFile, OSError, KeyError) as error:
        raise MalformedFileError(
            f"{name}: not a readable Excel workbook ({error}). Open it in Excel and save it "
            "again as .xlsx."
        ) from error
    except ValueError as error:
        raise LogSchemaError(
            f"{name}: {error}. Name the worksheet that holds the log with --sheet."
        ) from error
    frame = frame.dropna(how="all")
    if frame.empty:
        raise EmptyLogError(f"{name}: the worksheet has no rows under its header.")
    numbers = frame.index.to_numpy() + 2  # Excel row numbers; the header is row 1

    def chunks() -> Chunks:
        for start in range(0, len(frame), CHUNK_ROWS):
            yield frame.iloc[start : start + CHUNK_ROWS], numbers[start : start + CHUNK_ROWS]

    return RawLog(
        name=name,
        format="xlsx",
        unit="row",
        columns=[str(c) for c in frame.columns],
        details={"sheet": sheet if sheet is not None else 0},
        fixed_mapping=None,
        naive_timezone=None,
        total=len(frame),
        sample=frame.head(5000),
        chunks=chunks,
    )


# -- Parquet ---------------------------------------------------------------------------


def _read_parquet(path: Path, *, name: str) -> RawLog:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        total = parquet.metadata.num_rows
        sample = next(parquet.iter_batches(batch_size=5000), None)
    except (pa.ArrowException, OSError) as error:
        raise MalformedFileError(
            f"{name}: not a readable Parquet file ({error}). Write it again, e.g. with "
            "DataFrame.to_parquet()."
        ) from error
    if not total or sample is None:
        raise EmptyLogError(f"{name}: the Parquet file has no rows.")

    def chunks() -> Chunks:
        done = 0
        try:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=CHUNK_ROWS):
                frame = batch.to_pandas()
                yield frame, np.arange(done + 1, done + 1 + len(frame))
                done += len(frame)
        except pa.ArrowException as error:
            raise MalformedFileError(
                f"{name}, near row {done + 1}: the Parquet data cannot be read ({error})."
            ) from error

    return RawLog(
        name=name,
        format="parquet",
        unit="row",
        columns=[str(c) for c in parquet.schema_arrow.names],
        details={"row_groups": parquet.metadata.num_row_groups},
        fixed_mapping=None,
        naive_timezone=None,
        total=total,
        sample=sample.to_pandas(),
        chunks=chunks,
    )


# -- XES -------------------------------------------------------------------------------


def _open_xml(path: Path) -> Any:
    with path.open("rb") as handle:
        magic = handle.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")


def _check_prolog(path: Path, name: str) -> None:
    """Refuse DTDs before any parser sees the file: XES never needs one.

    A DTD is where entity-expansion bombs and external entities live, and
    it must come before the root element, so reading up to ``<log`` suffices.
    """
    head = b""
    try:
        with _open_xml(path) as stream:
            while b"<log" not in head and len(head) < (1 << 22):
                block = stream.read(65536)
                if not block:
                    break
                head += block
    except EOFError as error:
        raise MalformedFileError(
            f"{name}: the gzip file is truncated (it ends before its data does). The copy or "
            "download was cut off; fetch or export the file again."
        ) from error
    except (OSError, zlib.error) as error:
        raise MalformedFileError(
            f"{name}: the gzip data is damaged at the start ({error}); download or export "
            "the file again."
        ) from error
    prolog = head.split(b"<log", 1)[0]
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
        raise UnsafeInputError(
            f"{name}: the XML declares a DTD or entities (<!DOCTYPE/<!ENTITY>). XES files never "
            "need them and they can hide entity-expansion bombs or references to other files, "
            "so knelpunt refuses them. Remove the <!DOCTYPE ...> block and upload again."
        )


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Keep a Rust panic's message and backtrace off the user's terminal.

    rustxes reports malformed XML by panicking; the panic becomes a Python
    exception we translate, but Rust first writes to file descriptor 2.
    """
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _diagnose_xml(path: Path, name: str) -> MalformedFileError:
    """Find where a file rustxes refused is broken, with line and column."""
    parser = xml.parsers.expat.ParserCreate()
    saw_log = False

    def start(tag: str, _attributes: dict[str, str]) -> None:
        nonlocal saw_log
        saw_log = saw_log or tag == "log"

    parser.StartElementHandler = start
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        with _open_xml(path) as stream:
            while block := stream.read(1 << 20):
                parser.Parse(block, False)
            parser.Parse(b"", True)
    except EOFError:
        return MalformedFileError(
            f"{name}: the gzip file is truncated (it ends before its data does). The copy or "
            "download was cut off; fetch or export the file again."
        )
    except (OSError, zlib.error) as error:
        return MalformedFileError(
            f"{name}: the gzip data is damaged ({error}); fetch or export the file again."
        )
    except xml.parsers.expat.ExpatError as error:
        message = xml.parsers.expat.errors.messages[error.code]
        return MalformedFileError(
            f"{name}, line {error.lineno}, column {error.offset + 1}: malformed XML ({message}). "
            "Repair the file at that place or export it again."
        )
    if not saw_log:
        return MalformedFileError(
            f"{name}: well-formed XML but not an XES log (no <log> element). Upload an XES "
            "export, or a CSV, Excel or Parquet file."
        )
    return MalformedFileError(
        f"{name}: the XES reader could not read this file although it is well-formed XML; "
        "check that dates are ISO 8601 (2024-12-31T14:05:00+01:00) and values match their types."
    )


def _parse_whole(path: Path, name: str, *, diagnose: Path | None = None) -> Any:
    """``path`` parsed by rustxes; an error is diagnosed on ``diagnose`` (default: path)."""
    import rustxes

    try:
        with _quiet_stderr():
            frame, _meta = rustxes.import_xes(str(path))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # rustxes panics with pyo3's PanicException
        raise _diagnose_xml(diagnose or path, name) from error
    return frame


class _Pieces:
    """A helper process that cuts and parses a large XES file (see ``_xes_pieces``).

    The first, small piece is parsed here, while the helper starts (which takes
    longer than parsing it); the helper parses the rest.
    """

    def __init__(self, path: Path, name: str, *, piece_bytes: int) -> None:
        self.path, self.name, self.piece_bytes = path, name, piece_bytes
        self.first_bytes = min(_xes_pieces.FIRST_BYTES, piece_bytes)
        self.size = max(path.stat().st_size, 1)
        self.read = 0
        self._folder = tempfile.TemporaryDirectory(prefix="knelpunt-xes-")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-P",
                _xes_pieces.__file__,
                str(path),
                self._folder.name,
                str(piece_bytes),
                str(self.first_bytes),
                "1",  # pieces to skip: the first is parsed here
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a panic's text; the error is diagnosed here
            text=True,
            env={**os.environ, "RUST_BACKTRACE": "0"},
        )

    def frames(self) -> Iterator[Any]:
        """The parsed pieces as polars frames, in file order."""
        stdout, stdin = self._process.stdout, self._process.stdin
        assert stdout is not None
        assert stdin is not None
        yield self._first()
        for line in stdout:
            message = json.loads(line)
            if "end" in message:
                return
            if "error" in message:
                self.close()
                raise _diagnose_xml(self.path, self.name)
            piece = Path(message["path"])
            frame = pl.read_ipc(piece.read_bytes())
            piece.unlink()
            self.read = int(message["read"])
            with contextlib.suppress(BrokenPipeError):
                stdin.write("\n")
                stdin.flush()
            yield frame
        code = self._process.wait()
        self.close()
        raise MalformedFileError(
            f"{self.name}: the process reading the XES file stopped unexpectedly (exit code "
            f"{code}), possibly out of memory. Try again; if it happens again, report it with "
            "the file's size."
        )

    def _first(self) -> Any:
        """The first piece, cut and parsed in this process."""
        target = Path(self._folder.name) / "first.xes"
        try:
            piece, self.read = _xes_pieces.first_piece(
                self.path, piece_bytes=self.piece_bytes, first_bytes=self.first_bytes
            )
            target.write_bytes(piece)
            del piece
            return _parse_whole(target, self.name, diagnose=self.path)
        except (OSError, EOFError, zlib.error) as error:  # a damaged or cut-off gzip
            self.close()
            raise _diagnose_xml(self.path, self.name) from error
        except BaseException:
            self.close()
            raise
        finally:
            target.unlink(missing_ok=True)

    def close(self) -> None:
        """Stop the helper and remove its files; safe to call twice."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._folder.cleanup()


def _read_xes(path: Path, *, name: str) -> RawLog:
    _check_prolog(path, name)
    pieces = None
    if _xes_pieces.xml_bytes(path) > SPLIT_ABOVE:
        pieces = _Pieces(path, name, piece_bytes=PIECE_BYTES)
        frames: Iterator[Any] = pieces.frames()
    else:
        frames = iter([_parse_whole(path, name)])
    try:
        first = next((frame for frame in frames if frame.height), None)
        if first is None:
            raise EmptyLogError(f"{name}: the XES log has no events.")
        missing = [k for k in _XES_REQUIRED if k not in first.columns]
        if missing:
            raise LogSchemaError(
                f"{name}: no event or trace {'in its first part ' if pieces else ''}carries "
                f"{', '.join(missing)}; an XES log needs a trace concept:name, an event "
                "concept:name and an event time:timestamp."
            )
    except BaseException:
        if pieces is not None:
            pieces.close()
        raise
    sample = first.head(5000).to_pandas()
    # An interval log (start_timestamp on each event) says more than a
    # lifecycle column could: each event becomes a start and a complete.
    interval = _XES_START in first.columns
    mapping = ColumnMapping(
        case_id=CASE_ID_KEY,
        activity=ACTIVITY_KEY,
        timestamp=TIMESTAMP_KEY,
        resource=RESOURCE_KEY if RESOURCE_KEY in first.columns else None,
        lifecycle=LIFECYCLE_KEY if LIFECYCLE_KEY in first.columns and not interval else None,
        start_timestamp=_XES_START if interval else None,
    )
    expected = (*_XES_REQUIRED, *_XES_OPTIONAL, *((_XES_START,) if interval else ()))
    state = {"rows": 0}

    def chunks() -> Chunks:
        for frame in itertools.chain([first], frames):
            absent = [k for k in expected if k not in frame.columns]
            part = frame.with_columns(
                pl.lit(None, first.schema[k] if k in first.columns else pl.String).alias(k)
                for k in absent
            )
            for chunk, lines in _slices(part.to_pandas()):
                yield chunk, lines + state["rows"]
            state["rows"] += part.height

    def estimate(done: int) -> int | None:
        if pieces is None or not pieces.read:
            return None
        return max(done, round(done * pieces.size / pieces.read))

    return RawLog(
        name=name,
        format="xes",
        unit="event",
        columns=[str(c) for c in first.columns],
        details={"parser": "rustxes"},
        fixed_mapping=mapping,
        naive_timezone="UTC",  # rustxes converts every timestamp to naive UTC
        total=None if pieces else first.height,
        sample=sample,
        chunks=chunks,
        estimate=estimate,
        close=pieces.close if pieces else lambda: None,
    )
