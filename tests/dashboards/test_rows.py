"""The rows a served grid asks for: AG Grid's sort and filter models and the search,
applied on the server (no browser)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from dashboards.rows import BLOCK, MOST, query_rows, rows_block, text_columns


@pytest.fixture(name="cases")
def _cases() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_id": [1, 1, 2, 2, 2],
            "case_id": ["C001", "C002", "c010", "X-7", None],
            "events": [5, 12, 12, 3, 8],
            "days": [1.5, 20.0, 7.25, float("nan"), 3.0],
        }
    )


def ids(frame: pd.DataFrame) -> list[Any]:
    """The case ids, in order; a blank one as None."""
    return [None if pd.isna(v) else v for v in frame["case_id"]]


def text(kind: str, value: Any = None) -> dict[str, Any]:
    return {"filterType": "text", "type": kind, "filter": value}


def number(kind: str, value: Any = None, to: Any = None) -> dict[str, Any]:
    return {"filterType": "number", "type": kind, "filter": value, "filterTo": to}


class TestFilters:
    """Each text and number filter keeps the rows AG Grid's own filter would keep."""

    @pytest.mark.parametrize(
        ("column", "model", "kept"),
        [
            ("case_id", text("contains", "c0"), ["C001", "C002", "c010"]),  # any case
            ("case_id", text("notContains", "c0"), ["X-7", None]),  # a blank passes
            ("case_id", text("equals", "c001"), ["C001"]),
            ("case_id", text("notEqual", "c001"), ["C002", "c010", "X-7", None]),
            ("case_id", text("startsWith", "X"), ["X-7"]),
            ("case_id", text("endsWith", "10"), ["c010"]),
            ("case_id", text("blank"), [None]),
            ("case_id", text("notBlank"), ["C001", "C002", "c010", "X-7"]),
            ("events", number("equals", 12), ["C002", "c010"]),
            ("events", number("notEqual", 12), ["C001", "X-7", None]),
            ("events", number("greaterThan", 8), ["C002", "c010"]),
            ("events", number("greaterThanOrEqual", 8), ["C002", "c010", None]),
            ("events", number("lessThan", 5), ["X-7"]),
            ("events", number("lessThanOrEqual", 5), ["C001", "X-7"]),
            ("events", number("inRange", 3, 8), ["C001"]),  # both ends excluded
            ("events", number("inRange", 8, 3), ["C001"]),  # the ends in either order
            ("events", number("equals", "12"), ["C002", "c010"]),  # a number as text
            ("days", number("blank"), ["X-7"]),
            ("days", number("greaterThan", 2), ["C002", "c010", None]),  # NaN never passes
            ("source_id", text("equals", "2"), ["c010", "X-7", None]),  # text on a number
        ],
    )
    def test_one_condition(
        self, cases: pd.DataFrame, column: str, model: dict[str, Any], kept: list[Any]
    ) -> None:
        assert ids(query_rows(cases, filter_model={column: model})) == kept

    def test_conditions_joined_by_and_or_or(self, cases: pd.DataFrame) -> None:
        both = {
            "filterType": "number",
            "operator": "AND",
            "conditions": [number("greaterThan", 3), number("lessThan", 12)],
        }
        either = {
            "filterType": "text",
            "operator": "OR",
            "conditions": [text("equals", "x-7"), text("endsWith", "2")],
        }
        assert ids(query_rows(cases, filter_model={"events": both})) == ["C001", None]
        assert ids(query_rows(cases, filter_model={"case_id": either})) == ["C002", "X-7"]

    def test_filters_on_several_columns_all_apply(self, cases: pd.DataFrame) -> None:
        model = {"events": number("equals", 12), "case_id": text("startsWith", "c00")}
        assert ids(query_rows(cases, filter_model=model)) == ["C002"]


class TestWhatIsNotUnderstoodIsIgnored:
    """A filter the server cannot read narrows nothing, rather than narrowing by a guess;
    the filters beside it still apply."""

    @pytest.mark.parametrize(
        "model",
        [
            {"filterType": "date", "type": "equals", "dateFrom": "2024-01-01"},
            {"filterType": "set", "values": ["C001"]},
            {"type": "contains", "filter": "C"},  # no filter type
            text("matchesRegex", "C.*"),
            text("contains", None),  # no value
            text("contains", ["C001"]),
            number("greaterThan", "many"),
            number("greaterThan", True),
            number("inRange", 3),  # no upper end
            number("between", 3, 8),
            {"filterType": "number", "operator": "XOR", "conditions": [number("equals", 5)]},
            {"filterType": "number", "operator": "AND", "conditions": ["equals 5"]},
            "events > 3",
        ],
    )
    def test_an_unknown_filter(self, cases: pd.DataFrame, model: Any) -> None:
        found = query_rows(cases, filter_model={"events": model, "source_id": number("equals", 2)})
        assert ids(found) == ["c010", "X-7", None]

    def test_an_unknown_column(self, cases: pd.DataFrame) -> None:
        assert len(query_rows(cases, filter_model={"owner": text("equals", "me")})) == 5

    @pytest.mark.parametrize(
        "sort",
        [
            [{"colId": "owner", "sort": "asc"}],
            [{"colId": "events", "sort": "up"}],
            [{"colId": "events"}],
            ["events"],
            [],
            None,
        ],
    )
    def test_an_unknown_sort_keeps_the_order(self, cases: pd.DataFrame, sort: Any) -> None:
        assert ids(query_rows(cases, sort_model=sort)) == ids(cases)


class TestSortAndSearch:
    """Sorting is stable, first entry first; the search is on the server."""

    def test_sort_by_a_number_column_both_ways(self, cases: pd.DataFrame) -> None:
        up = query_rows(cases, sort_model=[{"colId": "days", "sort": "asc"}])
        down = query_rows(cases, sort_model=[{"colId": "days", "sort": "desc"}])
        assert ids(up) == ["C001", None, "c010", "C002", "X-7"]  # a blank last
        assert ids(down) == ["C002", "c010", None, "C001", "X-7"]

    def test_ties_keep_the_order_or_the_next_sort(self, cases: pd.DataFrame) -> None:
        tied = [{"colId": "events", "sort": "desc"}]
        assert ids(query_rows(cases, sort_model=tied)) == ["C002", "c010", None, "C001", "X-7"]
        second = [*tied, {"colId": "case_id", "sort": "desc"}]
        assert ids(query_rows(cases, sort_model=second))[:2] == ["c010", "C002"]

    def test_the_search_looks_in_every_text_column_for_every_word(
        self, cases: pd.DataFrame
    ) -> None:
        assert text_columns(cases) == ["case_id"]
        assert ids(query_rows(cases, search="c0")) == ["C001", "C002", "c010"]
        assert ids(query_rows(cases, search=" 01  C ")) == ["C001", "c010"]  # both words
        assert ids(query_rows(cases, search="12")) == []  # not in the numbers
        assert ids(query_rows(cases, search="2", search_columns=["case_id"])) == ["C002"]

    def test_the_table_is_left_as_it_was(self, cases: pd.DataFrame) -> None:
        before = cases.copy()
        query_rows(
            cases,
            sort_model=[{"colId": "days", "sort": "desc"}],
            filter_model={"events": number("greaterThan", 3)},
            search="c",
        )
        pd.testing.assert_frame_equal(cases, before)


class TestBlocks:
    """A request gets its block of the matching rows and how many match."""

    def test_a_block_after_sort_filter_and_search(self, cases: pd.DataFrame) -> None:
        request = {
            "startRow": 1,
            "endRow": 3,
            "sortModel": [{"colId": "days", "sort": "desc"}],
            "filterModel": {"events": number("greaterThan", 3)},
        }
        answer = rows_block(cases, request, search="c")
        assert answer["rowCount"] == 3  # C002, c010, C001 match
        assert [row["case_id"] for row in answer["rowData"]] == ["c010", "C001"]
        assert answer["rowData"][0] == {
            "source_id": 2,
            "case_id": "c010",
            "events": 12,
            "days": 7.25,
        }

    @pytest.mark.parametrize(
        ("request_", "shown"),
        [
            (None, 5),  # no request yet: the first block
            ({"startRow": "x", "endRow": None, "sortModel": "days"}, 5),
            ({"startRow": -3, "endRow": 2}, 2),
            ({"startRow": 4, "endRow": 100}, 1),
            ({"startRow": 9, "endRow": 100}, 0),
        ],
    )
    def test_odd_requests(self, cases: pd.DataFrame, request_: Any, shown: int) -> None:
        answer = rows_block(cases, request_)
        assert (len(answer["rowData"]), answer["rowCount"]) == (shown, 5)

    def test_no_request_gets_more_than_the_most(self) -> None:
        many = pd.DataFrame({"n": range(3 * MOST)})
        assert len(rows_block(many, {"startRow": 0, "endRow": 3 * MOST})["rowData"]) == MOST
        assert len(rows_block(many, {})["rowData"]) == BLOCK
