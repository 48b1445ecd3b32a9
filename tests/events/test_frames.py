"""Store rows to pm4py frames: attributes are decoded in one vectorised pass."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from knelpunt import frames


def _rows(attributes: list[str | None]) -> pd.DataFrame:
    n = len(attributes)
    return pd.DataFrame(
        {
            "position": range(1, n + 1),
            "source_id": [1] * n,
            "case_id": [f"c{i}" for i in range(n)],
            "activity": ["A"] * n,
            "time_us": [1_700_000_000_000_000 + i for i in range(n)],
            "lifecycle": [None] * n,
            "resource": [None] * n,
            # pandas' string dtype, as the store's reader gives: missing is NaN.
            "attributes": pd.Series(attributes, dtype="str"),
        }
    )


def test_attributes_with_gaps_are_decoded_without_a_row_by_row_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The row-by-row fallback is for mixed types under one key only; events without
    # attributes beside events with them must not send a million rows through it.
    def refuse(_text: str) -> object:
        raise AssertionError("attributes decoded row by row")

    monkeypatch.setattr(frames.json, "loads", refuse)
    out = frames.to_pm4py_frame([_rows(['{"org:group": "Wmo", "cost": 1.5}', None, None])])
    assert out["org:group"].tolist()[0] == "Wmo"
    assert out["cost"].tolist()[0] == 1.5
    assert out["org:group"].isna().tolist() == [False, True, True]


def test_mixed_types_under_one_key_still_decode() -> None:
    # A number under a key that elsewhere holds an object: no common type, so the
    # values are decoded one by one and kept as they were written.
    texts = [json.dumps({"x": {"a": 1}}), json.dumps({"x": 1}), None]
    out = frames.to_pm4py_frame([_rows(texts)])
    assert out["x"].tolist()[:2] == [{"a": 1}, 1]
