"""The rows a grid asks for, found on the server: AG Grid's sort and filter models and
a search text applied to a table, for grids whose rows stay on the server and come a
block at a time (AG Grid's infinite row model; see ``served_grid`` in components.py).

Only what the grids here offer is understood: the text and number filters (one
condition, or several joined by AND or OR) and sorting on any column. Anything else
(a date or set filter, an unknown operator, a column the table does not have, a
number filter without a number) is ignored: the rows are then not narrowed by it,
rather than narrowed by a guess.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import pandas as pd
from pandas.api.types import is_numeric_dtype

__all__ = ["BLOCK", "MOST", "query_rows", "rows_block", "text_columns"]

# Rows in a block the grid asks for, and the most one request may have.
BLOCK: Final = 100
MOST: Final = 1_000

_COMPARE: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "equals": operator.eq,
    "greaterThan": operator.gt,
    "greaterThanOrEqual": operator.ge,
    "lessThan": operator.lt,
    "lessThanOrEqual": operator.le,
}


def text_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` that are not numbers: what a search looks in."""
    return [str(c) for c in frame.columns if not is_numeric_dtype(frame[c])]


def query_rows(
    frame: pd.DataFrame,
    *,
    sort_model: Sequence[Any] | None = None,
    filter_model: Mapping[str, Any] | None = None,
    search: str = "",
    search_columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The rows of ``frame`` that a grid with these models shows, in its order.

    Args:
        frame: the table, one row per grid row, its columns the grid's fields.
        sort_model: AG Grid's sort model, ``[{"colId": "days", "sort": "desc"}, ...]``,
            the first entry sorting first; ties keep the order of ``frame``.
        filter_model: AG Grid's filter model, by column:
            ``{"case_id": {"filterType": "text", "type": "contains", "filter": "12"}}``.
            Text filters ignore case, as AG Grid's do; the number filter's ``inRange``
            excludes both ends, as AG Grid's does by default.
        search: words that must each occur (in any case) in one of ``search_columns``.
        search_columns: where the search looks; by default every column that does not
            hold numbers (:func:`text_columns`).

    Returns:
        The matching rows, sorted; ``frame`` itself is left as it was.

    Example:
        >>> frame = pd.DataFrame({"case_id": ["a1", "b2", "a3"], "days": [5.0, 1.0, 3.0]})
        >>> query_rows(
        ...     frame,
        ...     sort_model=[{"colId": "days", "sort": "asc"}],
        ...     search="A",
        ... )["case_id"].tolist()
        ['a3', 'a1']
    """
    keep = pd.Series(True, index=frame.index)
    for column, model in (filter_model or {}).items():
        if column in frame.columns and isinstance(model, Mapping):
            kept = _filter(frame[column], model)
            if kept is not None:
                keep &= kept
    words = search.lower().split()
    if words:
        looked = [c for c in (search_columns or text_columns(frame)) if c in frame.columns]
        texts = [_lower(frame[c]) for c in looked]
        for word in words:
            anywhere = pd.Series(False, index=frame.index)
            for text in texts:
                anywhere |= text.str.contains(word, regex=False).fillna(False).astype(bool)
            keep &= anywhere
    rows = frame[keep] if not keep.all() else frame
    by: list[str] = []
    ascending: list[bool] = []
    for item in sort_model or ():
        if not isinstance(item, Mapping):
            continue
        field, direction = item.get("colId"), item.get("sort")
        if field in frame.columns and field not in by and direction in ("asc", "desc"):
            by.append(str(field))
            ascending.append(direction == "asc")
    if by:
        rows = rows.sort_values(by, ascending=ascending, kind="stable", na_position="last")
    return rows


def rows_block(
    frame: pd.DataFrame,
    request: Mapping[str, Any] | None,
    *,
    search: str = "",
    search_columns: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The answer to a grid's ``getRowsRequest``: the block of rows it asks for (from
    ``startRow`` up to ``endRow``, at most :data:`MOST`) after its sort and filter
    models and the search (:func:`query_rows`), with the number of rows that match.

    Example:
        >>> frame = pd.DataFrame({"case_id": ["a1", "b2", "a3"]})
        >>> rows_block(frame, {"startRow": 1, "endRow": 100, "sortModel": []})
        {'rowData': [{'case_id': 'b2'}, {'case_id': 'a3'}], 'rowCount': 3}
    """
    request = request or {}
    found = query_rows(
        frame,
        sort_model=request.get("sortModel") if isinstance(request.get("sortModel"), list) else None,
        filter_model=_mapping(request.get("filterModel")),
        search=search,
        search_columns=search_columns,
    )
    start = _whole(request.get("startRow"), 0)
    end = min(_whole(request.get("endRow"), start + BLOCK), start + MOST)
    return {"rowData": found.iloc[start:end].to_dict("records"), "rowCount": len(found)}


def _filter(values: pd.Series, model: Mapping[str, Any]) -> pd.Series | None:
    """The rows one column's filter keeps; None when the filter is not understood."""
    kind = model.get("filterType")
    conditions = model.get("conditions")
    if isinstance(conditions, list):
        join = model.get("operator", "AND")
        found = [_condition(values, kind, c) for c in conditions if isinstance(c, Mapping)]
        understood = [f for f in found if f is not None]
        if join not in ("AND", "OR") or not understood:
            return None
        combined = understood[0]
        for one in understood[1:]:
            combined = combined & one if join == "AND" else combined | one
        return combined
    return _condition(values, kind, model)


def _condition(values: pd.Series, kind: Any, model: Mapping[str, Any]) -> pd.Series | None:
    if kind == "text":
        return _text(values, model)
    if kind == "number":
        return _number(values, model)
    return None


def _text(values: pd.Series, model: Mapping[str, Any]) -> pd.Series | None:
    kind = model.get("type")
    text = _lower(values)
    blank = (text.isna() | (text.str.strip() == "")).fillna(True).astype(bool)
    if kind == "blank":
        return blank
    if kind == "notBlank":
        return ~blank
    given = model.get("filter")
    if not isinstance(given, str | int | float) or isinstance(given, bool):
        return None
    wanted = str(given).lower()
    tests: dict[str, Callable[[], Any]] = {
        "contains": lambda: text.str.contains(wanted, regex=False),
        "notContains": lambda: ~text.str.contains(wanted, regex=False),
        "equals": lambda: text == wanted,
        "notEqual": lambda: text != wanted,
        "startsWith": lambda: text.str.startswith(wanted),
        "endsWith": lambda: text.str.endswith(wanted),
    }
    if kind not in tests:
        return None
    # A blank value passes the negative tests only, as in AG Grid.
    return _flags(tests[kind](), blank=kind in ("notContains", "notEqual"))


def _number(values: pd.Series, model: Mapping[str, Any]) -> pd.Series | None:
    kind = model.get("type")
    numbers = pd.to_numeric(values, errors="coerce")
    if kind == "blank":
        return _flags(numbers.isna())
    if kind == "notBlank":
        return _flags(numbers.notna())
    wanted = _float(model.get("filter"))
    if wanted is None:
        return None
    if kind in _COMPARE:
        return _flags(_COMPARE[kind](numbers, wanted))
    if kind == "notEqual":
        return _flags(numbers != wanted) & _flags(numbers.notna())
    if kind == "inRange":
        other = _float(model.get("filterTo"))
        if other is None:
            return None
        low, high = sorted((wanted, other))
        return _flags(numbers > low) & _flags(numbers < high)
    return None


def _flags(found: Any, *, blank: bool = False) -> pd.Series:
    """Plain True/False per row, a missing answer (a blank value) as ``blank``."""
    return pd.Series(found).fillna(blank).astype(bool)


def _lower(values: pd.Series) -> pd.Series:
    return values.astype("string").str.lower()


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        found = float(value)
    except ValueError:
        return None
    return found if found == found else None  # not NaN


def _whole(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return max(int(value), 0)


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None
