"""Percentiles in both plans (the engine's aggregate, sorted distinct values): numpy's
linear interpolation, per group (to the last bits of a double)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knelpunt.engine.backends import open_backend
from knelpunt.engine.definitions import Percentiles, aggregate_with_quantiles

_QUANTILES = {"low": 0.0, "median": 0.5, "p90": 0.9, "top": 1.0}


@st.composite
def _rows(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    # Few distinct values, so that ties and single-value groups are common; null groups
    # and null values too.
    value = st.one_of(st.none(), st.sampled_from([0.0, 1.5, 2.0, 7.25, 1e6, -3.0]))
    return draw(
        st.lists(
            st.tuples(st.sampled_from(["a", "b", None]), st.integers(0, 2), value, value),
            min_size=1,
            max_size=40,
        )
    )


@pytest.mark.parametrize("percentiles", ["aggregate", "sorted"])
@given(rows=_rows())
@settings(max_examples=30, deadline=None)
def test_quantiles_as_numpy(percentiles: Percentiles, rows: list[tuple[Any, ...]]) -> None:
    frame = pd.DataFrame(rows, columns=["g", "h", "x", "y"]).astype({"x": float, "y": float})
    with open_backend("duckdb") as backend:
        table = backend._register(pa.Table.from_pandas(frame, preserve_index=False))
        found = backend.run(
            aggregate_with_quantiles(
                table,
                ["g", "h"],
                {"n": table.count()},
                {"x": table.x, "y": table.y},
                _QUANTILES,
                percentiles=percentiles,
            )
        ).to_pandas()
    assert len(found) == len(frame.groupby(["g", "h"], dropna=False))
    for (g, h), part in frame.groupby(["g", "h"], dropna=False):
        row = found[found["g"].isna() if pd.isna(g) else found["g"] == g]
        row = row[row["h"] == h].iloc[0]
        assert row["n"] == len(part)
        for column in ("x", "y"):
            values = part[column].dropna().to_numpy()
            for label, q in _QUANTILES.items():
                got = row[f"{column}_{label}"]
                if len(values) == 0:
                    assert pd.isna(got)
                else:
                    # numpy interpolates from the upper end past the middle: last bits.
                    assert got == pytest.approx(np.quantile(values, q), rel=1e-12, abs=1e-12)
