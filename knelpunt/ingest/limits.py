"""How far a compressed input may unpack: the limits against gzip and zip bombs.

A gzip file (``.xes.gz``, ``.csv.gz``), an Excel workbook (a zip of XML) and a
Parquet file (compressed pages) can unpack to far more than their size: a few
megabytes of zeros compressed a thousandfold fill a server's memory or disk. The
real logs this project reads unpack to at most 63 times their size (Road Traffic
Fines, 2.9 MB to 185 MB; most XES 20-40 times, Excel about 11, Parquet about 1.3).
Reading stops, with an :class:`~knelpunt.errors.InputLimitError` that names the
file and the way to lift the limit, once an input unpacks beyond ``max_unpacked``
bytes, or, past 16 MiB, beyond ``max_ratio`` bytes per compressed byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from knelpunt.errors import InputLimitError
from knelpunt.ingest._xes_pieces import RATIO_FROM

__all__ = ["DEFAULT_LIMITS", "InputLimits", "parse_size"]

_UNITS: Final = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4}
_UNITS_BINARY: Final = {"KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}


@dataclass(frozen=True, slots=True)
class InputLimits:
    """The most a compressed input may unpack to.

    Attributes:
        max_unpacked: bytes an input may unpack to in all (default 16 GiB: about 45
            million XES events).
        max_ratio: unpacked bytes per compressed byte, checked once 16 MiB are
            unpacked (default 200, three times the most compressible real log;
            a gzip bomb reaches about 1,000).

    Example:
        >>> import knelpunt as kp
        >>> kp.InputLimits(max_unpacked=parse_size("40GB")).max_unpacked
        40000000000
    """

    max_unpacked: int = 16 << 30
    max_ratio: float = 200.0

    def __post_init__(self) -> None:
        if self.max_unpacked <= 0 or not self.max_ratio > 0:
            raise InputLimitError(
                f"Input limits must be positive (max_unpacked={self.max_unpacked}, "
                f"max_ratio={self.max_ratio})."
            )

    def check(self, name: str, *, unpacked: int, packed: int, what: str = "unpacks") -> None:
        """Raise :class:`InputLimitError` when ``unpacked`` bytes from ``packed``
        compressed bytes break a limit (the ratio only past 16 MiB)."""
        ratio = unpacked / max(packed, 1)
        if unpacked > self.max_unpacked or (unpacked > RATIO_FROM and ratio > self.max_ratio):
            raise self.error(name, unpacked=unpacked, packed=packed, what=what)

    def error(
        self, name: str, *, unpacked: int, packed: int, what: str = "unpacks"
    ) -> InputLimitError:
        """The error for ``name`` that unpacked ``unpacked`` bytes from ``packed``."""
        ratio = unpacked / max(packed, 1)
        if unpacked > self.max_unpacked:
            broken = (
                f"{what} to more than {_size(self.max_unpacked)} (reading stopped at "
                f"{_size(unpacked)})"
            )
            lift = (
                f"--max-unpacked {_size(2 * self.max_unpacked, exact=False)} on the command line "
                "(or KNELPUNT_MAX_UNPACKED), limits=InputLimits(max_unpacked=...) in Python"
            )
        else:
            broken = (
                f"{what} to {ratio:,.0f} times its compressed size ({_size(unpacked)} from "
                f"{_size(packed)} when reading stopped), more than the limit of "
                f"{self.max_ratio:,.0f}; real logs compress about 10 to 60 times, a "
                "decompression bomb about 1,000 times"
            )
            lift = (
                f"--max-ratio {max(2 * ratio, self.max_ratio * 2):.0f} on the command line "
                "(or KNELPUNT_MAX_RATIO), limits=InputLimits(max_ratio=...) in Python"
            )
        return InputLimitError(
            f"{name}: {broken}, so knelpunt stopped reading it. If the file is genuine, "
            f"record it with a higher limit: {lift}."
        )


DEFAULT_LIMITS: Final = InputLimits()


def parse_size(text: str) -> int:
    """A size such as ``"16GiB"``, ``"500MB"`` or ``"1024"`` (bytes) in bytes.

    Raises:
        InputLimitError: not a size.

    Example:
        >>> parse_size("1.5 GB"), parse_size("2GiB")
        (1500000000, 2147483648)
    """
    cleaned = text.strip().upper().replace(" ", "").replace("_", "")
    number = cleaned.rstrip("KMGTIB")
    unit = cleaned[len(number) :]
    factor = _UNITS.get(unit) or _UNITS_BINARY.get(unit)
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if factor is None or not value > 0:
        raise InputLimitError(f"{text!r} is not a size; write it as e.g. 20GB, 500MB or 16GiB.")
    return int(value * factor)


def _size(count: int, *, exact: bool = True) -> str:
    """Bytes as a short text: 17.2 GB, 16 MB (decimal units, as --max-unpacked reads)."""
    for unit, factor in (("TB", 1000**4), ("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if count >= factor:
            shown = count / factor
            return f"{shown:.1f}{unit}" if exact and shown < 100 else f"{shown:.0f}{unit}"
    return f"{count}B"
