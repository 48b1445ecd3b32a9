"""Timestamps from uploads: recognise the format, read the zone right, count what was odd.

Dutch exports write ``31-12-2024 14:05``; systems write ISO 8601 with an
offset (``2024-12-31T14:05:00+01:00``); Excel gives naive datetimes. Naive
values are read in a configurable zone (default Europe/Amsterdam): a wall
time that occurs twice when daylight saving ends is read as the first
(summer-time) occurrence, one that does not exist when it starts is moved
forward by the gap; both are counted and reported, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

import numpy as np
import pandas as pd

__all__ = ["ParsedTimes", "detect_format", "parse_times"]

ISO: Final = "ISO8601"

# Tried in this order; day-first before month-first, as Dutch exports are.
CANDIDATE_FORMATS: Final = (
    ISO,
    "%d-%m-%Y %H:%M:%S",
    "%d-%m-%Y %H:%M",
    "%d-%m-%Y",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d-%m-%y %H:%M",
    "%d-%m-%y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
)

# A UTC offset at the end: Z, +01:00, +0100, or +01 after a time of day (ISO 8601
# allows hours alone; pandas reads them, so they must count as an offset here too).
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2}|:\d\d(?:[.,]\d+)?[+-]\d{2})$"
_EPOCH = np.datetime64("1970-01-01T00:00:00", "us")


@dataclass(frozen=True, slots=True)
class ParsedTimes:
    """Timestamps of one column, as microseconds since the epoch (UTC).

    Attributes:
        micros: int64 values; meaningless where ``valid`` is False.
        valid: which values parsed.
        empty: which values were empty.
        format: the format used (``ISO8601``, a strftime pattern, or ``native``).
        ambiguous: naive values that fell in the repeated hour of autumn.
        nonexistent: naive values that fell in the skipped hour of spring.
        date_only: True when no value carried a time of day.
    """

    micros: np.ndarray
    valid: np.ndarray
    empty: np.ndarray
    format: str
    ambiguous: int
    nonexistent: int
    date_only: bool


def detect_format(values: pd.Series, *, sample: int = 500) -> tuple[str | None, float]:
    """The best candidate format for text timestamps, and the share of a sample it reads.

    Example:
        >>> detect_format(pd.Series(["31-12-2024 14:05", "01-01-2025 09:00"]))
        ('%d-%m-%Y %H:%M', 1.0)
    """
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""].drop_duplicates().head(sample)
    if text.empty:
        return None, 0.0
    best: tuple[str | None, float] = (None, 0.0)
    for fmt in CANDIDATE_FORMATS:
        share = float(_to_datetime(text, fmt).notna().mean())
        if share > best[1]:
            best = (fmt, share)
        if share == 1.0:
            break
    return best


def _to_datetime(text: pd.Series, fmt: str) -> pd.Series:
    if fmt == ISO:
        # Offsets differ across DST, so aware values are read as UTC; naive
        # values are handled by the caller.
        has_offset = text.str.contains(_OFFSET, regex=True)
        out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us, UTC]")
        if has_offset.any():
            out[has_offset] = pd.to_datetime(
                text[has_offset], format=ISO, errors="coerce", utc=True
            ).astype("datetime64[us, UTC]")
        if (~has_offset).any():
            # utc=True: read as UTC like the naive ones, should pandas still find an
            # offset the pattern above does not (a mix of both would stop it).
            naive = pd.to_datetime(text[~has_offset], format=ISO, errors="coerce", utc=True)
            out[~has_offset] = naive.astype("datetime64[us, UTC]")
        return out
    return pd.to_datetime(text, format=fmt, errors="coerce")


def _localize(naive: pd.Series, tz: str) -> tuple[pd.Series, int, int]:
    """Naive wall times in ``tz`` to UTC, counting DST oddities."""
    index = pd.DatetimeIndex(naive.astype("datetime64[us]"))
    first = index.tz_localize(
        tz, ambiguous=np.ones(len(index), bool), nonexistent=pd.Timedelta(hours=1)
    )
    second = index.tz_localize(
        tz, ambiguous=np.zeros(len(index), bool), nonexistent=pd.Timedelta(hours=1)
    )
    missing = index.tz_localize(tz, ambiguous=np.ones(len(index), bool), nonexistent="NaT")
    ambiguous = int((np.asarray(first != second) & np.asarray(index.notna())).sum())
    nonexistent = int((np.asarray(missing.isna()) & np.asarray(index.notna())).sum())
    return pd.Series(first.tz_convert("UTC"), index=naive.index), ambiguous, nonexistent


def parse_times(values: pd.Series, *, timezone: str, fmt: str | None = None) -> ParsedTimes:
    """Parse one column of timestamps to UTC microseconds.

    Args:
        values: text, datetime objects, or a datetime64 column (naive or aware).
        timezone: the zone naive values are in (an IANA name).
        fmt: a strftime pattern or ``ISO8601``; detected when None.

    Example:
        >>> p = parse_times(pd.Series(["27-10-2024 02:30"]), timezone="Europe/Amsterdam")
        >>> p.ambiguous, pd.Timestamp(int(p.micros[0]), unit="us", tz="UTC").isoformat()
        (1, '2024-10-27T00:30:00+00:00')
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        aware = values.dt.tz_convert("UTC")
        return _finish(aware, values.isna().to_numpy(), "native", 0, 0)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        aware, amb, nonex = _localize(values, timezone)
        return _finish(aware, values.isna().to_numpy(), "native", amb, nonex)

    if isinstance(values.dtype, pd.StringDtype):
        is_native = np.zeros(len(values), dtype=bool)  # text only: nothing to check per value
    else:
        is_native = values.map(lambda v: isinstance(v, datetime | pd.Timestamp)).to_numpy(bool)
    text = values.where(~is_native).astype("string").str.strip()
    empty = (text.isna() | (text == "")).to_numpy() & ~is_native
    used = fmt
    if used is None:
        used, _ = detect_format(text[~empty & ~is_native])
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    ambiguous = nonexistent = 0
    if used is not None and (~empty & ~is_native).any():
        parsed = _to_datetime(text[~empty & ~is_native].astype(str), used)
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            aware_part = parsed
            naive_mask = ~text[~empty & ~is_native].str.contains(_OFFSET, regex=True)
            if used == ISO and naive_mask.any():
                # ISO values without an offset are wall times in the given zone.
                wall = parsed[naive_mask].dt.tz_localize(None)
                local, ambiguous, nonexistent = _localize(wall, timezone)
                aware_part = parsed.copy()
                aware_part[naive_mask] = local
            out[~empty & ~is_native] = aware_part
        else:
            local, ambiguous, nonexistent = _localize(parsed, timezone)
            out[~empty & ~is_native] = local
    if is_native.any():
        native = pd.Series(list(values[is_native]), index=values.index[is_native])
        stamps = pd.to_datetime(native, utc=False)
        if isinstance(stamps.dtype, pd.DatetimeTZDtype):
            out[is_native] = stamps.dt.tz_convert("UTC")
        else:
            local, amb, nonex = _localize(stamps, timezone)
            out[is_native] = local
            ambiguous += amb
            nonexistent += nonex
    result = _finish(out, empty, used or "unknown", ambiguous, nonexistent)
    if used == ISO:
        lengths = text[~empty & ~is_native].str.len()
        date_only = bool(len(lengths) and (lengths <= 10).all() and not is_native.any())
        result = replace(result, date_only=date_only)
    return result


def _finish(
    aware: pd.Series,
    empty: np.ndarray,
    fmt: str,
    ambiguous: int,
    nonexistent: int,
) -> ParsedTimes:
    utc = aware.astype("datetime64[us, UTC]")
    valid = utc.notna().to_numpy()
    naive = utc.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    micros = np.where(valid, (naive - _EPOCH).astype("int64"), 0)
    date_only = bool(fmt != "native" and fmt != ISO and "%H" not in fmt and "%I" not in fmt)
    return ParsedTimes(
        micros=micros.astype("int64"),
        valid=valid,
        empty=np.asarray(empty, bool),
        format=fmt,
        ambiguous=ambiguous,
        nonexistent=nonexistent,
        date_only=date_only,
    )
