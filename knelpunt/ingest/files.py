"""Look at a file before reading it: its format, content hash, encoding and delimiter.

A CSV may come gzip-compressed (``.csv.gz``); it is read through within the input
limits (:mod:`knelpunt.ingest.limits`), like every compressed input.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final, Literal

from knelpunt.errors import EmptyLogError, MalformedFileError, UnsupportedFormatError
from knelpunt.ingest import _xes_pieces
from knelpunt.ingest._xes_pieces import UnpackLimitError
from knelpunt.ingest.limits import DEFAULT_LIMITS, InputLimits

__all__ = ["FileFacts", "Format", "clean_name", "detect_delimiter", "scan_file", "unpacked"]

# The longest name kept for a source (file systems allow 255 bytes).
NAME_CHARACTERS: Final = 200

Format = Literal["csv", "xlsx", "xes", "parquet"]

_BLOCK: Final = 1 << 20
_SUFFIXES: Final[dict[str, Format]] = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".csv.gz": "csv",
    ".txt.gz": "csv",
    ".tsv.gz": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xes": "xes",
    ".xes.gz": "xes",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# Bytes that Windows-1252 leaves undefined: a file with them is not cp1252.
_CP1252_HOLES: Final = frozenset(b"\x81\x8d\x8f\x90\x9d")


def clean_name(name: str) -> str:
    r"""A name as sent (an upload's file name, a source name) made fit to show and to
    keep: without control characters (a NUL cannot be stored as text), at most 200
    characters with its suffix kept, ``upload`` when nothing is left. Slashes stay:
    a name is never used as a path, so ``../x`` is only a name.

    Example:
        >>> clean_name("../../etc/passwd"), clean_name(" log\x00.csv\n")
        ('../../etc/passwd', 'log.csv')
        >>> len(clean_name("x" * 5000 + ".xes.gz")), clean_name("\x00"), clean_name("")
        (200, 'upload', 'upload')
    """
    shown = "".join(c for c in name if c.isprintable() or c == " ").strip()
    if not shown:
        return "upload"
    if len(shown) > NAME_CHARACTERS:
        lower = shown.lower()
        suffix = next(
            (
                shown[-len(s) :]
                for s in sorted(_SUFFIXES, key=len, reverse=True)
                if lower.endswith(s)
            ),
            "",
        )
        shown = shown[: NAME_CHARACTERS - len(suffix)] + suffix
    return shown


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What one pass over the raw bytes found.

    Attributes:
        sha256: hash of the bytes (the source's content hash).
        size: bytes.
        format: the file type.
        lines: newline count (an upper bound on CSV rows, for progress).
        encoding: for CSV: utf-8, utf-8-sig, utf-16 or cp1252.
        compression: ``gzip`` for a compressed CSV, else None.
    """

    sha256: str
    size: int
    format: Format
    lines: int
    encoding: str | None
    compression: Literal["gzip"] | None = None


def _format_of(name: str, head: bytes, given: str | None, *, gzip: bool) -> Format:
    """The format from the name given, else the name's suffix, else the first bytes
    (``head``: of the unpacked content when the file is gzip)."""
    if given is not None:
        wanted = given.lower().lstrip(".")
        aliases: dict[str, Format] = {
            "csv": "csv",
            "txt": "csv",
            "tsv": "csv",
            "csv.gz": "csv",
            "xlsx": "xlsx",
            "excel": "xlsx",
            "xes": "xes",
            "xes.gz": "xes",
            "parquet": "parquet",
        }
        if wanted not in aliases:
            raise UnsupportedFormatError(
                f"Unknown format {given!r}; use one of csv, xlsx, xes, parquet."
            )
        return aliases[wanted]
    lower = name.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if lower.endswith(suffix):
            return _SUFFIXES[suffix]
    if lower.endswith(".xls"):
        raise UnsupportedFormatError(
            f"{name}: the old Excel 97-2003 format (.xls) is not read; open it in Excel "
            "and save it as .xlsx (Excel-werkmap), or export it as CSV."
        )
    # No telling suffix: look at the first bytes.
    if head.startswith(b"PAR1") and not gzip:
        return "parquet"
    if head.startswith(b"PK\x03\x04") and not gzip:
        return "xlsx"
    if head.lstrip(codecs.BOM_UTF8 + b" \t\r\n").startswith((b"<?xml", b"<log")):
        return "xes"
    if head and b"\x00" not in head[:4096]:
        return "csv"
    raise UnsupportedFormatError(
        f"{name}: not a format knelpunt reads. Upload CSV, Excel (.xlsx), XES (.xes or "
        ".xes.gz) or Parquet, or name the format with --format."
    )


def scan_file(
    path: Path,
    *,
    format: str | None = None,
    encoding: str | None = None,
    name: str | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> FileFacts:
    """Hash the file, find its format and, for CSV, check and detect its encoding.

    Streaming passes: memory stays constant whatever the size. A gzip-compressed
    CSV is checked as the text it unpacks to, within ``limits``.

    Args:
        path: the file.
        format: csv, xlsx, xes or parquet; from the name or the first bytes when None.
        encoding: the CSV's encoding; detected when None.
        name: the file's name in messages and for its suffix (default: the path's).
        limits: how far a compressed CSV may unpack.

    Raises:
        EmptyLogError: the file has no bytes.
        UnsupportedFormatError: the format is unknown.
        MalformedFileError: a CSV that is not valid text in any supported encoding.
        InputLimitError: a compressed CSV unpacks beyond ``limits``.
    """
    label = name or path.name
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8192)
    if size == 0:
        raise EmptyLogError(
            f"{label} is empty (0 bytes). Export the log again; check that the export "
            "finished before the file was copied."
        )
    gzip = head.startswith(b"\x1f\x8b")
    if gzip:
        with unpacked(path, label, limits) as stream:
            head = stream.read(8192)
    kind = _format_of(label, head, format, gzip=gzip)
    compression: Literal["gzip"] | None = "gzip" if gzip and kind == "csv" else None
    digest = hashlib.sha256()
    lines = 0
    detected: str | None = None
    checks: list[_TextCheck] = []
    if kind == "csv":
        if head.startswith(codecs.BOM_UTF8):
            checks = [_TextCheck("utf-8-sig")]
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            checks = [_TextCheck("utf-16")]
        elif encoding is not None:
            checks = [_TextCheck(encoding)]
        else:
            checks = [_TextCheck("utf-8"), _TextCheck("cp1252")]
        if not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and b"\x00" in head:
            raise MalformedFileError(
                f"{label}: contains NUL bytes, so it is not a text (CSV) file. If it is an "
                "Excel workbook, save it as .xlsx and upload that."
            )
    last = b""
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
            if compression is None:
                lines += block.count(b"\n")
                last = block[-1:]
                for check in checks:
                    check.feed(block)
    if compression is not None:
        with unpacked(path, label, limits) as stream:
            while block := stream.read(_BLOCK):
                lines += block.count(b"\n")
                last = block[-1:]
                for check in checks:
                    check.feed(block)
        if not last:
            raise EmptyLogError(f"{label}: the compressed file holds no text.")
    if last != b"\n":
        lines += 1  # a last line without a newline
    if checks:
        for check in checks:
            check.close()
        good = [c for c in checks if c.error is None]
        if not good:
            raise _encoding_error(label, checks[0], given=encoding)
        detected = good[0].encoding
    return FileFacts(digest.hexdigest(), size, kind, lines, detected, compression)


@contextmanager
def unpacked(path: Path, name: str, limits: InputLimits) -> Iterator[IO[bytes]]:
    """The content of ``path``, a gzip file read through within ``limits`` (any other
    file as it is); a damaged gzip or a bomb becomes the error that says so."""
    try:
        with _xes_pieces.open_xml(
            path, max_unpacked=limits.max_unpacked, max_ratio=limits.max_ratio
        ) as stream:
            yield stream
    except UnpackLimitError as error:
        raise limits.error(name, unpacked=error.unpacked, packed=error.packed) from None
    except EOFError as error:
        raise MalformedFileError(
            f"{name}: the gzip file is truncated (it ends before its data does). The copy or "
            "download was cut off; fetch or export the file again."
        ) from error
    except (OSError, zlib.error) as error:
        raise MalformedFileError(
            f"{name}: the gzip data is damaged ({error}); download or export the file again."
        ) from error


class _TextCheck:
    """Feeds bytes to an incremental decoder and remembers where it first failed."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        try:
            self._decoder = codecs.getincrementaldecoder(encoding)("strict")
        except LookupError as error:
            raise UnsupportedFormatError(
                f"Unknown encoding {encoding!r}; use e.g. utf-8 or cp1252 (Dutch Excel)."
            ) from error
        self.error: str | None = None
        self.line = 1
        self._seen = 0

    def feed(self, block: bytes, final: bool = False) -> None:
        if self.error is not None:
            return
        try:
            self._decoder.decode(block, final)
        except UnicodeDecodeError as error:
            bad = block[error.start : error.start + 1]
            self.line += block[: error.start].count(b"\n")
            self.error = f"byte 0x{bad.hex()} at line {self.line}"
            if self.encoding == "cp1252" and bad and bad[0] in _CP1252_HOLES:
                self.error += " (not used in Windows-1252)"
            return
        self.line += block.count(b"\n")

    def close(self) -> None:
        self.feed(b"", final=True)


def _encoding_error(name: str, check: _TextCheck, *, given: str | None) -> MalformedFileError:
    if given is not None:
        return MalformedFileError(
            f"{name}: not valid {given} text: {check.error}. Leave the encoding out to "
            "let knelpunt detect it, or give the right one (Dutch Excel saves CSV as cp1252)."
        )
    return MalformedFileError(
        f"{name}: not valid text in UTF-8 or Windows-1252: {check.error}. Open the file "
        "in a text editor or Excel and save it again as 'CSV UTF-8'."
    )


def detect_delimiter(sample: str) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of fields.

    Example:
        >>> detect_delimiter('Zaak;Stap;Datum\\n1;"Melding; nieuw";01-02-2025\\n')
        ';'
    """
    lines = sample.splitlines()[:50]
    if len(lines) > 1 and not sample.endswith("\n"):
        lines = lines[:-1]  # the sample may have cut the last line short
    best, best_fields = ",", 1
    for delimiter in (";", ",", "\t", "|"):
        counts = [
            len(row)
            for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
            if row
        ]
        if not counts:
            continue
        # The header's field count must hold for most of the lines; a few ragged
        # lines are the file's error to report, not a reason to split wrongly.
        fields = counts[0]
        agree = sum(1 for c in counts if c == fields) / len(counts)
        if fields > best_fields and agree >= 0.5:
            best, best_fields = delimiter, fields
    return best
