"""Readers: each turns one kind of file into raw row chunks plus the facts about it.

Reading and converting are separate steps: a reader knows about encodings,
delimiters, XML and Parquet row groups; :mod:`knelpunt.ingest.convert`
knows about mappings, timestamps and validation. Every reader streams in
chunks where its format allows, so a large file is never held twice.
"""

from __future__ import annotations

import contextlib
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
from typing import IO, Any, Final

import numpy as np
import pandas as pd
import polars as pl

from knelpunt.errors import (
    EmptyLogError,
    KnelpuntError,
    LogSchemaError,
    MalformedFileError,
    UnsafeInputError,
)
from knelpunt.ingest import _xes_pieces
from knelpunt.ingest._xes_pieces import UnpackLimitError
from knelpunt.ingest.files import FileFacts, detect_delimiter, unpacked
from knelpunt.ingest.limits import DEFAULT_LIMITS, InputLimits
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
    limits: InputLimits = DEFAULT_LIMITS,
) -> RawLog:
    """Open a file whose facts :func:`~knelpunt.ingest.files.scan_file` found.

    Raises:
        InputLimitError: a compressed file unpacks beyond ``limits``.
    """
    if facts.format == "csv":
        return _read_csv(path, facts, name=name, delimiter=delimiter, limits=limits)
    if facts.format == "xlsx":
        return _read_excel(path, name=name, sheet=sheet, limits=limits)
    if facts.format == "parquet":
        return _read_parquet(path, name=name, limits=limits)
    return _read_xes(path, name=name, limits=limits)


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


def _read_csv(
    path: Path, facts: FileFacts, *, name: str, delimiter: str | None, limits: InputLimits
) -> RawLog:
    encoding = facts.encoding or "utf-8"

    @contextlib.contextmanager
    def source() -> Iterator[Path | IO[bytes]]:
        """The file, or for a compressed CSV its text unpacked within the limits."""
        if facts.compression is None:
            yield path
            return
        with unpacked(path, name, limits) as stream:
            yield stream

    with source() as opened:
        if isinstance(opened, Path):
            with opened.open("r", encoding=encoding, newline="") as handle:
                head = handle.read(65536)
        else:
            head = opened.read(65536 * 4).decode(encoding, errors="ignore")[:65536]
    sep = delimiter or detect_delimiter(head)

    def reader(
        opened: Path | IO[bytes], nrows: int | None = None, chunksize: int | None = None
    ) -> Any:
        return pd.read_csv(
            opened,
            sep=sep,
            encoding=encoding,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            engine="c",
            nrows=nrows,
            chunksize=chunksize,
            compression=None,
        )

    try:
        with source() as opened:
            sample = reader(opened, nrows=5000)
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
            # Closed even when abandoned.
            with source() as opened, reader(opened, chunksize=CHUNK_ROWS) as pieces:
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
        details={
            "encoding": encoding,
            "delimiter": sep,
            **({"compression": facts.compression} if facts.compression else {}),
        },
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


def _xml_errors() -> tuple[type[Exception], ...]:
    """The errors of the XML parsers openpyxl uses (lxml when it is installed)."""
    import xml.etree.ElementTree as ElementTree

    kinds: list[type[Exception]] = [ElementTree.ParseError, xml.parsers.expat.ExpatError]
    with contextlib.suppress(ImportError):
        from lxml import etree

        kinds.append(etree.LxmlError)
    return tuple(kinds)


def _caused_by(error: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``error`` or an error it was raised from or during is a ``kind``."""
    seen: set[int] = set()
    found: BaseException | None = error
    while found is not None and id(found) not in seen:
        if isinstance(found, kind):
            return True
        seen.add(id(found))
        found = found.__cause__ or found.__context__
    return False


def _check_zip(path: Path, name: str, limits: InputLimits) -> None:
    """Refuse a workbook whose parts unpack beyond the limits, before unpacking any.

    A zip's directory states each part's unpacked size, and Python's zipfile never
    gives more than that (a part that unpacks to more fails its check), so the
    stated sizes bound what reading can cost, also when parts overlap in the file.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            stated = sum(part.file_size for part in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as error:
        raise MalformedFileError(
            f"{name}: not a readable Excel workbook ({error}). Open it in Excel and save it "
            "again as .xlsx."
        ) from error
    limits.check(name, unpacked=stated, packed=path.stat().st_size, what="says it unpacks")


def _read_excel(path: Path, *, name: str, sheet: str | int | None, limits: InputLimits) -> RawLog:
    from defusedxml import DefusedXmlException

    _check_zip(path, name, limits)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and data validation it does not need.
            warnings.simplefilter("ignore", UserWarning)
            frame = pd.read_excel(
                path, sheet_name=0 if sheet is None else sheet, dtype=object, engine="openpyxl"
            )
    # NotImplementedError: zipfile meets a compression or feature Excel never writes.
    except (
        zipfile.BadZipFile,
        OSError,
        KeyError,
        EOFError,
        zlib.error,
        NotImplementedError,
    ) as error:
        raise MalformedFileError(
            f"{name}: not a readable Excel workbook ({error}). Open it in Excel and save it "
            "again as .xlsx."
        ) from error
    except RuntimeError as error:  # zipfile: a part is encrypted (found by atheris)
        raise MalformedFileError(
            f"{name}: the workbook is protected with a password ({error}); save it in Excel "
            "without one (File > Info > Protect Workbook) and upload that."
        ) from error
    except _xml_errors() as error:
        # openpyxl parses parts with lxml or ElementTree and lets their errors through.
        raise MalformedFileError(
            f"{name}: the workbook's XML is damaged ({error}), so it cannot be read. Open it "
            "in Excel and save it again as .xlsx."
        ) from error
    except ValueError as error:
        # openpyxl parses through defusedxml when it is installed, as it is here, and
        # wraps what the parser raised in its own ValueError.
        if _caused_by(error, DefusedXmlException):
            raise UnsafeInputError(
                f"{name}: the workbook's XML declares a DTD or entities, which Excel never "
                "writes and which can hide entity bombs or references to other files; "
                "knelpunt refuses it. Open it in Excel and save it again as .xlsx."
            ) from error
        if str(error).startswith("Unable to read workbook"):
            raise MalformedFileError(
                f"{name}: the workbook's XML is damaged, so its worksheets cannot be read. "
                "Open it in Excel and save it again as .xlsx."
            ) from error
        raise LogSchemaError(
            f"{name}: {error}. Name the worksheet that holds the log with --sheet."
        ) from error
    except (ArithmeticError, LookupError, TypeError, AttributeError) as error:
        # openpyxl reads a cell's value as its type says and lets Python's own error
        # through when the two disagree (an infinite date, a number that is text).
        raise MalformedFileError(
            f"{name}: the workbook holds a value Excel would not write ({error}); open it in "
            "Excel and save it again as .xlsx, or export the sheet as CSV."
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


def _parquet_size(parquet: Any) -> int:
    """The bytes a Parquet file's pages unpack to, as its footer states them.

    From each row group's total: reading a column chunk's own metadata aborts the
    process (a C++ exception pyarrow 26 does not catch) when its size statistics are
    damaged, which atheris found; the row groups' totals are read without them.
    """
    meta = parquet.metadata
    return sum(
        max(meta.row_group(group).total_byte_size, 0) for group in range(meta.num_row_groups)
    )


class _ParquetBatches:
    """A Parquet file's rows in batches, each decoded only after its size is known.

    A page of text values can be dictionary-encoded: one long value stored once and
    referred to by a million rows costs a few bytes in the file and a million copies
    once decoded. Text columns are therefore read as dictionaries, and a batch's
    decoded size is counted (cheaply, from the lengths of the dictionary's values)
    against the limits before it is decoded.
    """

    def __init__(self, path: Path, name: str, limits: InputLimits) -> None:
        import pyarrow.parquet as pq

        self.path, self.name, self.limits = path, name, limits
        self.packed = path.stat().st_size
        plain = pq.ParquetFile(path)
        self.text = [
            column.path
            for column in (plain.schema.column(i) for i in range(len(plain.schema)))
            if column.physical_type in ("BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY")
            and "." not in column.path
        ]
        self.metadata = plain.metadata
        self.schema = plain.schema_arrow
        self.decoded = 0

    def batches(self, size: int) -> Iterator[Any]:
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(self.path, read_dictionary=self.text)
        for batch in parquet.iter_batches(batch_size=size):
            self.decoded += _decoded_bytes(batch)
            self.limits.check(self.name, unpacked=self.decoded, packed=self.packed, what="decodes")
            decoded = _decode(batch, self.schema)
            # Parquet readers do not check that text is UTF-8; pandas would fail on it
            # later, far from here (found by atheris). ArrowInvalid names the column.
            decoded.validate(full=True)
            yield decoded


def _decoded_bytes(batch: Any) -> int:
    """The bytes a batch takes once its dictionary columns are decoded."""
    import pyarrow as pa
    import pyarrow.compute as pc

    size = 0
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            lengths = pc.binary_length(column.dictionary)
            total = pc.sum(pc.take(lengths, column.indices)).as_py()
            size += int(total or 0) + 8 * len(column)
        else:
            size += column.nbytes
    return size


def _decode(batch: Any, schema: Any) -> Any:
    """The batch with its dictionary columns decoded to the file's own types."""
    import pyarrow as pa

    columns = [
        column.dictionary_decode() if pa.types.is_dictionary(column.type) else column
        for column in batch.columns
    ]
    wanted = pa.schema([schema.field(name) for name in batch.schema.names])
    return pa.RecordBatch.from_arrays(
        [c.cast(f.type) for c, f in zip(columns, wanted, strict=True)], schema=wanted
    )


def _read_parquet(path: Path, *, name: str, limits: InputLimits) -> RawLog:
    import pyarrow as pa

    try:
        reading = _ParquetBatches(path, name, limits)
        total = reading.metadata.num_rows
        # Checked before any page is unpacked.
        limits.check(
            name,
            unpacked=_parquet_size(reading),
            packed=reading.packed,
            what="says its pages unpack",
        )
        sample = next(reading.batches(5000), None)
    except (pa.ArrowException, OSError, UnicodeDecodeError) as error:  # a damaged footer
        raise MalformedFileError(
            f"{name}: not a readable Parquet file ({error}). Write it again, e.g. with "
            "DataFrame.to_parquet()."
        ) from error
    if not total or sample is None:
        raise EmptyLogError(f"{name}: the Parquet file has no rows.")

    def chunks() -> Chunks:
        done = 0
        try:
            for batch in _ParquetBatches(path, name, limits).batches(CHUNK_ROWS):
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
        columns=[str(c) for c in reading.schema.names],
        details={"row_groups": reading.metadata.num_row_groups},
        fixed_mapping=None,
        naive_timezone=None,
        total=total,
        sample=sample.to_pandas(),
        chunks=chunks,
    )


# -- XES -------------------------------------------------------------------------------


def _check_prolog(path: Path, name: str, limits: InputLimits) -> None:
    """Refuse a DTD before any parser sees the file: XES never needs one.

    A DTD is where entity-expansion bombs and external entities live, and it must
    come before the root element, so the prolog is read with an XML parser
    (defusedxml's, which refuses any DTD) up to the first element: a DTD is found
    whatever the encoding and whatever comments come before it, and nothing it
    names is fetched or expanded.
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, iterparse

    with unpacked(path, name, limits) as stream:
        try:
            next(iter(iterparse(stream, events=("start",), forbid_dtd=True)), None)
        except DefusedXmlException:
            raise UnsafeInputError(
                f"{name}: the XML declares a DTD or entities (<!DOCTYPE/<!ENTITY>). XES files "
                "never need them and they can hide entity-expansion bombs or references to "
                "other files, so knelpunt refuses them. Remove the <!DOCTYPE ...> block and "
                "upload again."
            ) from None
        except ParseError:
            pass  # not well-formed before its first element: diagnosed with line and column
        except LookupError as error:  # expat: an encoding it does not know (found by atheris)
            raise MalformedFileError(
                f"{name}: the XML declares an encoding no reader knows ({error}); XES is "
                'written in UTF-8: correct the declaration (<?xml version="1.0" '
                'encoding="UTF-8"?>) or export the file again.'
            ) from None


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


def _diagnose_xml(path: Path, name: str, limits: InputLimits) -> KnelpuntError:
    """Find where a file rustxes refused is broken, with line and column."""
    parser = xml.parsers.expat.ParserCreate()
    saw_log = False

    def start(tag: str, _attributes: dict[str, str]) -> None:
        nonlocal saw_log
        saw_log = saw_log or tag == "log"

    parser.StartElementHandler = start
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        with unpacked(path, name, limits) as stream:
            while block := stream.read(1 << 20):
                parser.Parse(block, False)
            parser.Parse(b"", True)
    except KnelpuntError as error:  # a damaged gzip or a bomb
        return error
    except LookupError as error:  # an encoding expat does not know
        return MalformedFileError(
            f"{name}: the XML declares an encoding no reader knows ({error})."
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
    with unpacked(path, name, limits) as stream:
        first = stream.read(4)
    if first.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in first:
        return MalformedFileError(
            f"{name}: the XES is written in UTF-16, which the XES reader does not read. Save "
            "or export it again as UTF-8."
        )
    return MalformedFileError(
        f"{name}: the XES reader could not read this file although it is well-formed XML; "
        "check that dates are ISO 8601 (2024-12-31T14:05:00+01:00) and values match their types."
    )


def _parse_whole(
    path: Path, name: str, limits: InputLimits, *, diagnose: Path | None = None
) -> Any:
    """``path`` (plain XML) parsed by rustxes; an error is diagnosed on ``diagnose``
    (default: path)."""
    import rustxes

    try:
        with _quiet_stderr():
            frame, _meta = rustxes.import_xes(str(path))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # rustxes panics with pyo3's PanicException
        raise _diagnose_xml(diagnose or path, name, limits) from error
    return frame


def _unpack_small(path: Path, name: str, limits: InputLimits, target: Path) -> bool:
    """Write the XML of the gzip file ``path`` to ``target`` when it is at most
    :data:`SPLIT_ABOVE` bytes; False (and nothing written) when it is larger.

    rustxes would unpack a gzip file whole in memory, and the size in a gzip trailer
    is the sender's word (and wraps at 4 GiB), so a small-looking file is unpacked
    here, within the limits, and parsed as plain XML.
    """
    with unpacked(path, name, limits) as stream:
        data = stream.read(SPLIT_ABOVE + 1)
    if len(data) > SPLIT_ABOVE:
        return False
    target.write_bytes(data)
    return True


class _Pieces:
    """A helper process that cuts and parses a large XES file (see ``_xes_pieces``).

    The first, small piece is parsed here, while the helper starts (which takes
    longer than parsing it); the helper parses the rest.
    """

    def __init__(self, path: Path, name: str, *, piece_bytes: int, limits: InputLimits) -> None:
        self.path, self.name, self.piece_bytes, self.limits = path, name, piece_bytes, limits
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
                str(limits.max_unpacked),
                repr(limits.max_ratio),
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
                raise _diagnose_xml(self.path, self.name, self.limits)
            if "limit" in message:
                self.close()
                unpacked, packed = message["limit"]
                raise self.limits.error(self.name, unpacked=unpacked, packed=packed)
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
                self.path,
                piece_bytes=self.piece_bytes,
                first_bytes=self.first_bytes,
                max_unpacked=self.limits.max_unpacked,
                max_ratio=self.limits.max_ratio,
            )
            target.write_bytes(piece)
            del piece
            return _parse_whole(target, self.name, self.limits, diagnose=self.path)
        except UnpackLimitError as error:
            self.close()
            raise self.limits.error(
                self.name, unpacked=error.unpacked, packed=error.packed
            ) from None
        except (OSError, EOFError, zlib.error) as error:  # a damaged or cut-off gzip
            self.close()
            raise _diagnose_xml(self.path, self.name, self.limits) from error
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


def _check_keys(frame: Any, name: str) -> None:
    """Refuse an attribute key holding a NUL character: XML forbids it, rustxes reads it,
    and turning the frame into pandas would then stop with a panic (found by fuzzing)."""
    bad = next((key for key in frame.columns if "\x00" in key), None)
    if bad is not None:
        raise MalformedFileError(
            f"{name}: the attribute key {bad!r} holds a NUL character, which XML does not "
            "allow; the file is damaged. Export it again."
        )


def _read_xes(path: Path, *, name: str, limits: InputLimits) -> RawLog:
    _check_prolog(path, name, limits)
    pieces = None
    whole = path.stat().st_size <= SPLIT_ABOVE
    if whole and _xes_pieces.is_gzip(path):
        with tempfile.TemporaryDirectory(prefix="knelpunt-xes-") as folder:
            plain = Path(folder) / "log.xes"
            whole = _unpack_small(path, name, limits, plain)
            frames: Iterator[Any] = iter(
                [_parse_whole(plain, name, limits, diagnose=path)] if whole else []
            )
    elif whole:
        frames = iter([_parse_whole(path, name, limits)])
    if not whole:
        pieces = _Pieces(path, name, piece_bytes=PIECE_BYTES, limits=limits)
        frames = pieces.frames()
    try:
        first = next((frame for frame in frames if frame.height), None)
        if first is None:
            raise EmptyLogError(f"{name}: the XES log has no events.")
        _check_keys(first, name)
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
            _check_keys(frame, name)
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
