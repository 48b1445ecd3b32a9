"""Store rows to pm4py-style DataFrames and back."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pandas as pd
import polars as pl

from knelpunt.schema import (
    ACTIVITY_KEY,
    CASE_ID_KEY,
    LIFECYCLE_KEY,
    POSITION_KEY,
    RESOURCE_KEY,
    SOURCE_KEY,
    TIMESTAMP_KEY,
)

__all__ = ["to_pm4py_frame"]


def _attributes(texts: pd.Series) -> pd.DataFrame:
    present = texts.notna()
    if not present.any():
        return pd.DataFrame(index=texts.index)
    try:
        decoded = (
            # As objects first: pandas' string dtype keeps NaN where None was asked for,
            # which polars refuses in a String series.
            pl.Series(texts.astype(object).where(present, None).tolist(), dtype=pl.String)
            .str.json_decode(infer_schema_length=None)
            .struct.unnest()
            .to_pandas()
        )
    except (pl.exceptions.PolarsError, TypeError, ValueError):
        # Mixed types under one key: decode row by row.
        decoded = pd.DataFrame.from_records(
            [json.loads(t) if isinstance(t, str) else {} for t in texts]
        )
    decoded.index = texts.index
    return decoded


def to_pm4py_frame(batches: Iterable[pd.DataFrame], *, positions: bool = True) -> pd.DataFrame:
    """Store batches as one DataFrame in pm4py's columns, attributes expanded.

    Timestamps are timezone-aware UTC; lifecycle and resource columns are
    present only when some event has them. With ``positions``, the store's
    position and source id are kept as ``knelpunt:position`` and
    ``knelpunt:source`` so every row can be traced back.
    """
    frames = [b for b in batches if not b.empty]
    if not frames:
        return pd.DataFrame(
            {
                CASE_ID_KEY: pd.Series(dtype="object"),
                ACTIVITY_KEY: pd.Series(dtype="object"),
                TIMESTAMP_KEY: pd.Series(dtype="datetime64[us, UTC]"),
            }
        )
    rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    out = pd.DataFrame(
        {
            CASE_ID_KEY: rows["case_id"].to_numpy(),
            ACTIVITY_KEY: rows["activity"].to_numpy(),
            TIMESTAMP_KEY: pd.to_datetime(rows["time_us"].to_numpy(), unit="us", utc=True),
        }
    )
    if rows["lifecycle"].notna().any():
        out[LIFECYCLE_KEY] = rows["lifecycle"].to_numpy()
    if rows["resource"].notna().any():
        out[RESOURCE_KEY] = rows["resource"].to_numpy()
    attributes = _attributes(rows["attributes"].reset_index(drop=True))
    for column in attributes.columns:
        if column not in out.columns:
            out[column] = attributes[column].to_numpy()
    if positions:
        out[POSITION_KEY] = rows["position"].to_numpy()
        out[SOURCE_KEY] = rows["source_id"].to_numpy()
    return out
