"""Cut a large XES file into pieces of whole traces, and parse them in a helper process.

rustxes parses a whole file into memory and holds the GIL while it does, so a
5M-event log would be held whole (and then copied) and nothing else could run
meanwhile. Here the file is cut, without parsing it, at ``</trace>`` tags into
pieces of about ``piece_bytes``; each piece is a complete XES document (the
log's header, some traces, ``</log>``) that rustxes parses on its own. A helper
process does the cutting and parsing while the caller converts and writes
the previous piece, so memory stays bounded and both cores work.

A literal ``</trace>`` can only be an end tag in XML, except inside a comment
or a CDATA section; when the traces hold either, the rest of the file is kept
as one piece rather than risk a wrong cut.

A gzip file is read through :class:`Unpacked`, which stops once the XML grows
beyond a limit (a decompression bomb); the readers of compressed CSV use it too,
since it lives in this module that imports nothing of knelpunt.

This module imports neither knelpunt nor pandas: the helper process runs it
as a script (``python -P _xes_pieces.py FILE FOLDER PIECE_BYTES FIRST_BYTES SKIP
MAX_UNPACKED MAX_RATIO``) and starts in a fraction of a second. It talks over its
standard streams: one JSON line per piece on stdout (``{"piece": k, "path": ...,
"read": bytes_read}``, or ``{"error": k}``, or ``{"limit": [unpacked, packed]}``,
then ``{"end": n}``), and it waits for a line on stdin before running more than two
pieces ahead of the reader.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import sys
import xml.parsers.expat
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Final, cast

PIECE_BYTES: Final = 8 << 20
# The reader parses the first piece itself while the helper starts (about 0.2 s).
FIRST_BYTES: Final = PIECE_BYTES // 2
AHEAD: Final = 2
_BLOCK: Final = 1 << 20
_TRACE_START: Final = re.compile(rb"<trace[\s>/]")
_TRACE_END: Final = b"</trace>"
# XES's attribute types: the elements directly under <log> that hold the log's own attributes.
_ATTRIBUTE_TAGS: Final = frozenset(
    ("string", "date", "int", "float", "boolean", "id", "list", "container")
)


# Unpacked bytes read before the ratio of unpacked to compressed bytes is checked: a
# small file may compress very well without harm; a bomb is stopped after this much.
RATIO_FROM: Final = 16 << 20


class UnpackLimitError(ValueError):
    """A gzip stream unpacked to more than its limits allow (see :class:`Unpacked`).

    Attributes:
        unpacked: bytes unpacked when reading stopped.
        packed: compressed bytes read by then.
    """

    def __init__(self, unpacked: int, packed: int) -> None:
        self.unpacked, self.packed = unpacked, packed
        super().__init__(f"{unpacked} bytes unpacked from {packed} compressed bytes")


class Unpacked(io.RawIOBase):
    """The content of a gzip file, read through, that stops with :class:`UnpackLimitError`
    once it has given more than ``max_unpacked`` bytes, or, past :data:`RATIO_FROM`
    bytes, more than ``max_ratio`` bytes per compressed byte read.

    Only as much is unpacked as the caller reads, so a bomb costs at most one read's
    bytes beyond the limit.

    Example:
        >>> bomb = io.BytesIO(gzip.compress(bytes(1 << 20)))
        >>> stream = Unpacked(bomb, max_unpacked=1000, max_ratio=100.0)
        >>> try:
        ...     _ = stream.read(4096)
        ... except UnpackLimitError as error:
        ...     print(error.unpacked > 1000)
        True
    """

    def __init__(
        self, raw: IO[bytes], *, max_unpacked: int, max_ratio: float, owns: bool = False
    ) -> None:
        super().__init__()
        self._raw, self._owns = raw, owns
        self._gzip = gzip.GzipFile(fileobj=raw, mode="rb")
        self.max_unpacked, self.max_ratio = max_unpacked, max_ratio
        self.unpacked = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._gzip.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.unpacked += size
        packed = self._raw.tell()
        if self.unpacked > self.max_unpacked or (
            self.unpacked > RATIO_FROM and self.unpacked > self.max_ratio * packed
        ):
            raise UnpackLimitError(self.unpacked, packed)
        return size

    def close(self) -> None:
        self._gzip.close()
        if self._owns:
            self._raw.close()
        super().close()


def is_gzip(path: Path) -> bool:
    """Whether the file starts with gzip's magic bytes."""
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _open(
    path: Path, *, max_unpacked: int | None = None, max_ratio: float | None = None
) -> tuple[IO[bytes], IO[bytes]]:
    """(the file on disk, its content stream): gzip is read through, within the limits
    (none when they are not given)."""
    raw = path.open("rb")
    magic = raw.read(2)
    raw.seek(0)
    if magic != b"\x1f\x8b":
        return raw, raw
    if max_unpacked is None and max_ratio is None:
        return raw, cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    unpacked = Unpacked(
        raw,
        max_unpacked=max_unpacked if max_unpacked is not None else 1 << 62,
        max_ratio=max_ratio if max_ratio is not None else float("inf"),
    )
    return raw, cast(IO[bytes], io.BufferedReader(unpacked, buffer_size=1 << 16))


def open_xml(path: Path, *, max_unpacked: int, max_ratio: float) -> IO[bytes]:
    """The XML of ``path`` (gzip read through, within the limits), to read and close."""
    raw = path.open("rb")
    if raw.read(2) != b"\x1f\x8b":
        raw.seek(0)
        return raw
    raw.seek(0)
    unpacked = Unpacked(raw, max_unpacked=max_unpacked, max_ratio=max_ratio, owns=True)
    return cast(IO[bytes], io.BufferedReader(unpacked, buffer_size=1 << 16))


def _header_end(buffer: bytes | bytearray) -> int:
    """Where the first trace starts, skipping comments; -1 when not (yet) seen."""
    at = 0
    while True:
        found = _TRACE_START.search(buffer, at)
        comment = buffer.find(b"<!--", at)
        if found is None:
            return -1
        if comment == -1 or comment > found.start():
            return found.start()
        close = buffer.find(b"-->", comment + 4)
        if close == -1:
            return -1
        at = close + 3


def _unsafe(buffer: bytearray, start: int) -> bool:
    """Whether ``buffer[start:]`` holds a comment or a CDATA section.

    In XML content "<!" only starts one of these (a literal "<" is escaped). A rare
    "!" is found with memchr, far faster than searching for the pair.
    """
    at = buffer.find(b"!", start + 1)
    while at != -1:
        if buffer[at - 1] == 0x3C:  # "<"
            return True
        at = buffer.find(b"!", at + 1)
    return False


def lean_header(header: bytes) -> bytes:
    """The header (all before the first trace) without the log's own attributes.

    Every piece repeats the header, and rustxes puts the log's attributes in its
    metadata, not in the events it returns; some logs carry megabytes of them
    (BPIC 2012: 6.7 MB of statistics), which would be parsed again with every
    piece. Extensions, globals and classifiers stay. A header expat cannot read
    (then rustxes cannot either, and the error is found later) is kept whole.

    Example:
        >>> lean_header(b'<log a="1">\\n<extension name="x"/>\\n<int key="n" value="2">'
        ...             b'<int key="m" value="3"/></int>\\n<global scope="event"/>\\n')
        b'<log a="1">\\n<extension name="x"/>\\n<global scope="event"/>\\n'
    """
    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = 0
    children: list[tuple[str, int]] = []  # (tag, offset) of each element right under <log>

    def start(tag: str, _attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth == 2:
            children.append((tag, parser.CurrentByteIndex))

    def end(_tag: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(header + b"</log>", True)
    except (xml.parsers.expat.ExpatError, LookupError):  # LookupError: an unknown encoding
        return header
    if not any(tag in _ATTRIBUTE_TAGS for tag, _ in children):
        return header
    # Each child runs to where the next one starts (its trailing blanks and comments go
    # with it); all before the first child (the prolog and <log ...>) stays.
    ends = [offset for _, offset in children[1:]] + [len(header)]
    kept = [header[: children[0][1]]]
    kept += [
        header[offset:end]
        for (tag, offset), end in zip(children, ends, strict=True)
        if tag not in _ATTRIBUTE_TAGS
    ]
    return b"".join(kept)


def iter_pieces(
    stream: IO[bytes],
    *,
    piece_bytes: int = PIECE_BYTES,
    first_bytes: int | None = None,
    block: int | None = None,
) -> Iterator[bytes]:
    """The XES document in ``stream`` as complete XES documents of whole traces.

    Each piece starts with the document's header, less the log's own attributes
    (see :func:`lean_header`). The first piece is about ``first_bytes`` (default an eighth of
    ``piece_bytes``); the next ones start at an eighth of ``piece_bytes`` and
    double up to ``piece_bytes``, so that the first pieces are ready early and
    the rest go in large, cheap steps. The file is read in blocks of ``block``
    bytes (default an eighth of ``piece_bytes``, at most 1 MiB).

    Example:
        >>> import io
        >>> log = b"<log><string key='a' value='1'/>" + b"<trace><event/></trace>" * 3 + b"</log>"
        >>> pieces = list(iter_pieces(io.BytesIO(log), piece_bytes=40, block=16))
        >>> [piece.count(b"<trace>") for piece in pieces]  # the first pieces are smaller
        [1, 1, 1]
        >>> pieces[2].rstrip()  # the log's attribute is left out
        b'<log><trace><event/></trace></log>'
    """
    buffer = bytearray()
    header: bytes | None = None
    whole = False  # True once cutting is unsafe: the rest is one piece
    yielded = False
    small = max(piece_bytes // 8, 1)
    size = small if first_bytes is None else max(first_bytes, 1)
    checked = 0  # buffer[:checked] holds no comment and no CDATA section
    step = block or min(_BLOCK, max(small, 1 << 12))
    while data := stream.read(step):
        buffer += data
        # The header can only end in the new data (a <trace before it was in a comment):
        # the search from the start runs only when the new data holds a candidate.
        if header is None and buffer.find(b"<trace", max(len(buffer) - len(data) - 6, 0)) != -1:
            end = _header_end(buffer)
            if end == -1:
                continue
            header = lean_header(bytes(buffer[:end]))
            del buffer[:end]
        if header is None:
            continue
        if whole or len(buffer) < size:
            continue
        # Only the bytes not looked at before are searched (a mark may straddle).
        if _unsafe(buffer, max(checked - 1, 0)):
            whole = True
            continue
        checked = len(buffer)
        cut = buffer.rfind(_TRACE_END)
        if cut == -1:
            continue
        cut += len(_TRACE_END)
        # One copy: the slice is a view, released before the buffer shrinks.
        yield b"".join((header, memoryview(buffer)[:cut], b"</log>\n"))
        size = small if not yielded else min(size * 2, piece_bytes)
        yielded = True
        del buffer[:cut]
        checked -= cut
    if not (yielded and bytes(buffer).strip() == b"</log>"):
        yield (header or b"") + bytes(buffer)


def first_piece(
    path: Path, *, piece_bytes: int, first_bytes: int, max_unpacked: int, max_ratio: float
) -> tuple[bytes, int]:
    """The first piece :func:`iter_pieces` cuts from the file at ``path``, and how many
    bytes of the file were read to cut it.

    The reader parses it itself while the helper starts; the helper skips it.

    Raises:
        UnpackLimitError: a gzip file unpacks beyond the limits.
    """
    raw, stream = _open(path, max_unpacked=max_unpacked, max_ratio=max_ratio)
    with raw, stream:
        piece = next(iter_pieces(stream, piece_bytes=piece_bytes, first_bytes=first_bytes))
        return piece, raw.tell()


def _serve(
    path: Path,
    folder: Path,
    piece_bytes: int,
    first_bytes: int,
    skip: int,
    max_unpacked: int,
    max_ratio: float,
) -> None:  # pragma: no cover - subprocess
    import polars  # noqa: F401  (rustxes returns polars frames)
    import rustxes

    raw, stream = _open(path, max_unpacked=max_unpacked, max_ratio=max_ratio)
    pieces = iter_pieces(stream, piece_bytes=piece_bytes, first_bytes=first_bytes)
    # The reader parses the first ``skip`` pieces itself; they are cut here only
    # to find where the next one starts.
    done = number = skip
    skipped = 0
    with raw, stream:
        while True:
            try:
                piece = next(pieces, None)
            except UnpackLimitError as error:  # a bomb: stopped, reported there
                print(json.dumps({"limit": [error.unpacked, error.packed]}), flush=True)
                return
            except (OSError, EOFError, zlib.error):  # a damaged or cut-off gzip: diagnosed there
                print(json.dumps({"error": number}), flush=True)
                return
            if piece is None:
                break
            if skipped < skip:
                skipped += 1
                continue
            while number - done >= AHEAD:
                if not sys.stdin.readline():
                    return  # the reader has gone
                done += 1
            source = folder / f"piece-{number}.xes"
            source.write_bytes(piece)
            del piece
            try:
                frame, _meta = rustxes.import_xes(str(source))
            except BaseException:  # rustxes panics with pyo3's PanicException
                print(json.dumps({"error": number}), flush=True)
                return
            finally:
                source.unlink()
            target = folder / f"piece-{number}.arrow"
            frame.write_ipc(target)
            del frame
            message = {"piece": number, "path": str(target), "read": raw.tell()}
            print(json.dumps(message), flush=True)
            number += 1
        print(json.dumps({"end": number}), flush=True)


if __name__ == "__main__":  # pragma: no cover - runs in the helper process
    os.environ.setdefault("RUST_BACKTRACE", "0")
    path, folder, piece, first, skip, most, ratio = sys.argv[1:]
    _serve(Path(path), Path(folder), int(piece), int(first), int(skip), int(most), float(ratio))
