"""Raw rows to canonical events: map, parse, validate; every refused row keeps its reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import polars as pl

from knelpunt.errors import Issue
from knelpunt.ingest.mapping import ColumnMapping
from knelpunt.ingest.timestamps import ISO, ParsedTimes, parse_times
from knelpunt.schema import ROLE_KEY, TEAM_KEY

__all__ = ["Converted", "convert_chunk", "encode_rows"]

_SHOWN: Final = 80
_TIME_FIX: Final = (
    "Write it like 31-12-2024 14:05 or 2024-12-31T14:05:00+01:00, or give the format with "
    "--timestamp-format (timestamp_format= in Python)."
)


@dataclass(frozen=True, slots=True)
class Converted:
    """One chunk after conversion.

    Attributes:
        events: canonical event rows (see :data:`knelpunt.events.model.BATCH_COLUMNS`).
        rejects: refused rows: line, column, value, reason, raw (the row as JSON).
        issues: the same refusals as :class:`~knelpunt.errors.Issue` for messages.
        times: the parsed main timestamps (for the report's DST counts).
        starts: the parsed start timestamps, if mapped.
    """

    events: pd.DataFrame
    rejects: pd.DataFrame
    issues: list[Issue]
    times: ParsedTimes
    starts: ParsedTimes | None


def _as_text(series: pd.Series) -> pd.Series:
    """Values as stripped text; None where empty. Whole floats lose their '.0'."""
    if pd.api.types.is_float_dtype(series.dtype):
        whole = series.notna() & (series % 1 == 0)
        text = series.astype("string")
        text[whole] = series[whole].astype("int64").astype("string")
        out = text
    elif pd.api.types.is_datetime64_any_dtype(series.dtype):
        out = series.astype("string")
    else:
        out = series.astype("string").str.strip()
    return out.where(out.notna() & (out != ""), None).astype(object)


def encode_rows(
    frame: pd.DataFrame, *, naive_is_utc: bool, blank_is_null: bool
) -> list[str | None]:
    """Each row as a JSON object (None for a row without any value).

    Datetimes become ISO 8601 text (with ``+00:00`` when they are UTC);
    numbers and booleans keep their type; floats keep every digit.

    Example:
        >>> encode_rows(pd.DataFrame({"a": [1, None], "b": ["x", ""]}), naive_is_utc=True,
        ...             blank_is_null=True)
        ['{"a":1.0,"b":"x"}', None]
    """
    if frame.shape[1] == 0:
        return [None] * len(frame)
    data = frame.copy()
    data.columns = [str(c) for c in data.columns]
    for column in data.columns:
        if data[column].dtype == object:
            # Every value is looked at (object columns come from Excel or a DataFrame, not
            # from the large CSV and XES files): a column whose types change after its
            # first rows, or with an integer beyond 64 bits (Excel keeps any), would stop
            # the conversion below.
            values = data[column].dropna()
            kinds = set(values.map(type).unique())
            huge = int in kinds and any(
                isinstance(v, int) and not -(2**63) <= v < 2**63 for v in values
            )
            if huge or len(kinds) > 1 or (kinds and not kinds <= {str, bool, int, float}):
                data[column] = data[column].map(
                    lambda v: (
                        None
                        if v is None or (isinstance(v, float) and v != v)
                        else (v.isoformat() if hasattr(v, "isoformat") else str(v))
                    )
                )
    table = pl.from_pandas(data, nan_to_null=True)
    expressions = []
    for position, (name, dtype) in enumerate(table.schema.items()):
        # By position: pl.col reads "*" and "^...$" as patterns, and XES keys can be those.
        expr = pl.nth(position)
        if isinstance(dtype, pl.Datetime):
            if dtype.time_zone is not None:
                expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
                expressions.append(expr.dt.to_string("%Y-%m-%dT%H:%M:%S%.6f+00:00").alias(name))
            elif naive_is_utc:
                expressions.append(expr.dt.to_string("%Y-%m-%dT%H:%M:%S%.6f+00:00").alias(name))
            else:
                expressions.append(expr.dt.to_string("%Y-%m-%dT%H:%M:%S%.6f").alias(name))
        elif dtype == pl.String and blank_is_null:
            expressions.append(pl.when(expr == "").then(None).otherwise(expr).alias(name))
        elif dtype == pl.Object or dtype == pl.Null:
            expressions.append(expr.cast(pl.String).alias(name))
        else:
            expressions.append(expr.alias(name))
    prepared = table.select(expressions)
    # Drop nulls from each object: a missing attribute is absent, not null.
    encoded = prepared.select(
        pl.when(pl.all_horizontal(pl.all().is_null()))
        .then(None)
        .otherwise(pl.struct(pl.all()).struct.json_encode())
        .alias("json")
    )["json"].to_list()
    if not any(prepared.null_count().row(0)):
        return encoded  # no null to drop (the common case: skips a pass over the rows)
    return [None if text is None else _drop_nulls(text) for text in encoded]


def _drop_nulls(text: str) -> str:
    if ":null" not in text:
        return text
    import json

    return json.dumps(
        {k: v for k, v in json.loads(text).items() if v is not None},
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _holds_nul(values: pd.Series) -> np.ndarray | None:
    """Which text values hold a NUL character; None when none does (or no text)."""
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        found = values.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool)
    elif values.dtype == object:
        found = np.fromiter(
            (isinstance(v, str) and "\x00" in v for v in values), dtype=bool, count=len(values)
        )
    else:
        return None
    return found if found.any() else None


def convert_chunk(
    chunk: pd.DataFrame,
    lines: np.ndarray,
    *,
    mapping: ColumnMapping,
    timezone: str,
    file: str,
    unit: str,
    naive_is_utc: bool,
) -> Converted:
    """Convert one chunk of raw rows (see the module docstring)."""
    n = len(chunk)
    case = _as_text(chunk[mapping.case_id])
    activity = _as_text(chunk[mapping.activity])
    times = parse_times(chunk[mapping.timestamp], timezone=timezone, fmt=mapping.timestamp_format)
    starts = None
    if mapping.start_timestamp is not None:
        starts = parse_times(
            chunk[mapping.start_timestamp], timezone=timezone, fmt=mapping.timestamp_format
        )

    # The first problem of each row decides its reason.
    reason = np.full(n, None, dtype=object)
    column = np.full(n, None, dtype=object)
    fix = np.full(n, None, dtype=object)

    def refuse(mask: np.ndarray, col: str, why: str, how: str) -> None:
        new = mask & (reason == None)  # noqa: E711  (element-wise on an object array)
        reason[new] = why
        column[new] = col
        fix[new] = how

    refuse(
        case.isna().to_numpy(),
        mapping.case_id,
        "the case id is empty",
        "Fill in the case the row belongs to, or remove the row.",
    )
    refuse(
        activity.isna().to_numpy(),
        mapping.activity,
        "the activity is empty",
        "Fill in what happened, or remove the row.",
    )
    refuse(
        times.empty,
        mapping.timestamp,
        "the timestamp is empty",
        "Fill in when it happened, or remove the row.",
    )
    shown_format = "ISO 8601" if times.format == ISO else times.format
    refuse(
        ~times.valid & ~times.empty,
        mapping.timestamp,
        f"not a date and time in the column's format ({shown_format})",
        _TIME_FIX,
    )
    if starts is not None and mapping.start_timestamp is not None:
        refuse(
            ~starts.valid & ~starts.empty,
            mapping.start_timestamp,
            f"not a date and time in the column's format ({shown_format})",
            _TIME_FIX,
        )
        late = starts.valid & times.valid & (starts.micros > times.micros)
        refuse(
            late,
            mapping.start_timestamp,
            "the activity starts after it ends",
            "Correct the start or end time (are they swapped?).",
        )

    for name in chunk.columns:
        nul = _holds_nul(chunk[name])
        if nul is not None:
            refuse(
                nul,
                name,  # as the reader named it (Excel may name a column 2024)
                "the value holds a NUL character (byte 0), which no text value can keep",
                "Remove the character from the source file; it is usually left by a broken export.",
            )

    ok = reason == None  # noqa: E711
    mapped = set(mapping.columns().values())
    attribute_columns = [c for c in chunk.columns if c not in mapped]
    attributes_frame = chunk[attribute_columns]
    # Role and team ride along as attributes, under pm4py's names.
    if mapping.role is not None:
        attributes_frame = attributes_frame.assign(**{ROLE_KEY: chunk[mapping.role]})
    if mapping.team is not None:
        attributes_frame = attributes_frame.assign(**{TEAM_KEY: chunk[mapping.team]})
    attributes = encode_rows(
        attributes_frame.loc[ok], naive_is_utc=naive_is_utc, blank_is_null=True
    )
    lifecycle = (
        _as_text(chunk[mapping.lifecycle])[ok].to_numpy()
        if mapping.lifecycle is not None
        else np.full(int(ok.sum()), None, dtype=object)
    )
    resource = (
        _as_text(chunk[mapping.resource])[ok].to_numpy()
        if mapping.resource is not None
        else np.full(int(ok.sum()), None, dtype=object)
    )
    # Text stays in object columns: pandas would copy it into Arrow strings here, and
    # the store's driver wants Python strings back (twice the work for nothing).
    completes = pd.DataFrame(
        {
            "case_id": pd.Series(case[ok].to_numpy(), dtype=object),
            "activity": pd.Series(activity[ok].to_numpy(), dtype=object),
            "time_us": times.micros[ok],
            "lifecycle": pd.Series(lifecycle, dtype=object),
            "resource": pd.Series(resource, dtype=object),
            "attributes": pd.Series(np.asarray(attributes, dtype=object), dtype=object),
            "line": lines[ok],
            "idempotency_key": pd.Series([None] * int(ok.sum()), dtype=object),
        }
    )
    if starts is not None:
        # One row per activity with a start and an end becomes two events.
        has_start = starts.valid[ok]
        opened = completes.loc[has_start].assign(
            time_us=starts.micros[ok][has_start], lifecycle="start"
        )
        completes = completes.assign(lifecycle="complete")
        order = np.concatenate([np.flatnonzero(has_start) * 2, np.arange(len(completes)) * 2 + 1])
        events = pd.concat([opened, completes], ignore_index=True)
        events = events.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    else:
        events = completes

    bad = ~ok
    issues: list[Issue] = []
    rejects = pd.DataFrame(columns=["line", "column", "value", "reason", "raw"])
    if bad.any():
        raw_rows = encode_rows(chunk.loc[bad], naive_is_utc=naive_is_utc, blank_is_null=False)
        values = []
        for row_index, col in zip(np.flatnonzero(bad), column[bad], strict=True):
            value = chunk[col].iloc[row_index]
            shown = None if value is None or value != value else str(value)[:_SHOWN]
            # A NUL cannot be stored as text (PostgreSQL refuses it): shown as \x00.
            shown = shown.replace("\x00", "\\x00") if shown else shown
            values.append(shown if shown else None)
        rejects = pd.DataFrame(
            {
                "line": lines[bad],
                "column": column[bad],
                "value": values,
                "reason": reason[bad],
                "raw": raw_rows,
            }
        )
        for line, col, value, why, how in zip(
            lines[bad], column[bad], values, reason[bad], fix[bad], strict=True
        ):
            issues.append(Issue(file, f"{unit} {int(line)}", col, value, why, how, int(line)))
    return Converted(events, rejects, issues, times, starts)
