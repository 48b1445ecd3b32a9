"""What a page sends when drawn again for another choice (dashboards.redraw)."""

from __future__ import annotations

import plotly.graph_objects as go
from dash import dcc, html

from dashboards.redraw import changes


def _page(cases: str, fig: go.Figure, note: str, *, note_id: str | None = "note") -> html.Div:
    return html.Div(
        [
            html.Div(
                [html.Div([html.Div("Zaken"), html.Div(cases)], id="kpi-cases")],
                className="cards",
            ),
            html.Section(
                [html.H2("Doorlooptijd"), dcc.Graph(figure=fig, id="histogram")],
                id="panel-hist",
            ),
            html.P(note, id=note_id) if note_id else html.P(note),
        ]
    )


def test_the_same_tree_sends_nothing() -> None:
    fig = go.Figure(go.Bar(y=[1, 2]))
    assert changes(_page("10", fig, "a"), _page("10", fig, "a")) == {}


def test_a_new_figure_and_numbers_are_set_in_place() -> None:
    before = _page("10", go.Figure(go.Bar(y=[1, 2])), "a")
    new_fig = go.Figure(go.Bar(y=[3, 4]))
    found = changes(before, _page("12", new_fig, "b"))
    assert found is not None
    assert set(found) == {"kpi-cases", "histogram", "note"}
    assert found["histogram"] == ("histogram", {"figure": new_fig})
    assert found["note"][1] == {"children": "b"}
    # The card's children differ in a place without an id: the card gets them anew.
    ident, props = found["kpi-cases"]
    assert ident == "kpi-cases"
    assert [c.children for c in props["children"]] == ["Zaken", "12"]


def test_a_difference_no_id_addresses_sends_the_tree_whole() -> None:
    fig = go.Figure()
    assert changes(_page("1", fig, "a", note_id=None), _page("1", fig, "b", note_id=None)) is None
    # Another kind of component, or another number of children.
    assert changes(html.Div([html.P("x")]), html.Div([html.Span("x")])) is None
    assert changes([html.P("x")], [html.P("x"), html.P("y")]) is None


def test_another_kind_of_child_under_an_id_replaces_that_id_s_children() -> None:
    before = html.Section([html.H2("t"), dcc.Graph(id="g")], id="panel")
    after = html.Section([html.H2("t"), html.P("no measures")], id="panel")
    found = changes(before, after)
    assert found is not None
    assert list(found) == ["panel"]
    assert found["panel"][1]["children"][1].children == "no measures"


def test_a_dropped_property_is_unset_and_the_rest_still_set() -> None:
    fig = go.Figure()
    before = html.Div([dcc.Graph(id="g", figure=go.Figure(), style={"display": "none"})])
    after = html.Div([dcc.Graph(id="g", figure=fig)])
    assert changes(before, after) == {"g": ("g", {"style": None, "figure": fig})}
    # Without an id anywhere above it, the tree goes whole.
    assert changes(html.Div(style={"color": "red"}), html.Div()) is None


def test_an_id_with_a_dot_is_not_set_in_place() -> None:
    """The browser would read ``criterion-art.2`` as property ``2`` of ``criterion-art``:
    the enclosing component's children are set instead."""
    before = html.Tr([html.Td("1", id="criterion-art.2")], id="row")
    after = html.Tr([html.Td("2", id="criterion-art.2")], id="row")
    found = changes(before, after)
    assert found is not None
    assert list(found) == ["row"]
    assert changes(html.Td("1", id="a.b"), html.Td("2", id="a.b")) is None


def test_values_are_compared_by_value_where_certain_and_by_identity_otherwise() -> None:
    rows = [{"case": "1", "days": 3.0}]
    same_rows = changes(html.Div(id="t", title="x"), html.Div(id="t", title="x"))
    assert same_rows == {}
    found = changes(
        dcc.Store(id="s", data={"rows": rows}), dcc.Store(id="s", data={"rows": list(rows)})
    )
    assert found == {}
    # 1 and True are equal in Python, but not the same value for the browser.
    assert changes(dcc.Store(id="s", data=1), dcc.Store(id="s", data=True)) == {
        "s": ("s", {"data": True})
    }


def test_pattern_matching_ids_are_kept_as_dicts() -> None:
    ident = {"type": "figure-svg", "graph": "g"}
    found = changes(html.Button("SVG", id=ident), html.Button("PNG", id=ident))
    assert found is not None
    ((shown_id, props),) = found.values()
    assert shown_id == ident
    assert props == {"children": "PNG"}
