"""What to send the browser when a page is drawn again for another choice.

A page drawn anew (a source chosen, a profile changed) mostly has the same
components as before with other values: other figures, other numbers. Sending
the whole tree again makes the browser throw away and rebuild every component,
Plotly figures included (a new ``Plotly.newPlot`` for each). :func:`changes`
instead finds, in the new tree, the properties of components with an ``id``
that differ from the tree the browser shows (a property the new tree no longer
has becomes ``None``); the page callback sends just those, and the browser sets
them (``assets/shell.js``), so a figure is updated in place (``Plotly.react``)
and the rest stays as it is.

Where two trees differ in a place no ``id`` can address (another kind of
component, a text without an id), the nearest enclosing component with an
``id`` gets its ``children`` anew; where there is none, or where an id holds a
``.`` (which the browser would read as a property), the tree is sent whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash.development.base_component import Component

__all__ = ["Changes", "changes"]

# Component id (a string, or a pattern-matching dict as JSON) -> (id, props to set).
Changes = dict[str, tuple[Any, dict[str, Any]]]

_PLAIN = (str, int, float, bool, type(None))


class _ApartError(Exception):
    """The trees differ where no id addresses the difference."""


def changes(shown: Any, new: Any) -> Changes | None:
    """The properties to set so that the browser, showing ``shown``, shows ``new``;
    ``None`` when ``new`` must be sent whole.

    Values are compared by equality where that is cheap and certain (text,
    numbers, lists and dicts of them) and otherwise by identity: a figure built
    again counts as changed, one kept in a cache and sent again does not.
    """
    found: Changes = {}
    try:
        _children(shown, new, found)
    except _ApartError:
        return None
    return found


def _key(component_id: Any) -> str:
    if isinstance(component_id, Mapping):
        return repr(sorted(component_id.items()))
    return str(component_id)


def _children(shown: Any, new: Any, found: Changes) -> None:
    """Children: the same shape, element by element, or :class:`_ApartError`."""
    if isinstance(shown, Component) and isinstance(new, Component):
        _component(shown, new, found)
    elif isinstance(shown, (list, tuple)) and isinstance(new, (list, tuple)):
        if len(shown) != len(new):
            raise _ApartError
        for a, b in zip(shown, new, strict=True):
            _children(a, b, found)
    elif not _same(shown, new):
        raise _ApartError


def _component(shown: Component, new: Component, found: Changes) -> None:
    a = shown.to_plotly_json()
    b = new.to_plotly_json()
    ident = b["props"].get("id")
    if (a["type"], a["namespace"]) != (b["type"], b["namespace"]) or _key(
        a["props"].get("id")
    ) != _key(ident):
        raise _ApartError
    old_props: dict[str, Any] = a["props"]
    new_props: dict[str, Any] = b["props"]
    setting: dict[str, Any] = {}
    for name in old_props.keys() - new_props.keys():  # dropped: unset in place
        if ident is None:
            raise _ApartError
        setting[name] = None
    for name, value in new_props.items():
        if name in ("id", "children"):
            continue
        if name not in old_props or not _same(old_props[name], value):
            if ident is None:
                raise _ApartError
            setting[name] = value
    if "children" in new_props or "children" in old_props:
        inner: Changes = {}
        try:
            _children(old_props.get("children"), new_props.get("children"), inner)
        except _ApartError:
            if ident is None:
                raise
            setting["children"] = new_props.get("children")
        else:
            found.update(inner)
    if setting:
        if isinstance(ident, str) and "." in ident:
            raise _ApartError  # the browser would read "a.b" as property b of a
        found[_key(ident)] = (ident, setting)


def _same(a: Any, b: Any) -> bool:
    """Equal for certain, cheaply; a figure or an array only when it is the same object."""
    if a is b:
        return True
    if isinstance(a, Component) or isinstance(b, Component):
        return False
    if isinstance(a, _PLAIN) and isinstance(b, _PLAIN):
        return type(a) is type(b) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, str) or isinstance(b, str):
        return False
    if isinstance(a, Sequence) and isinstance(b, Sequence) and len(a) == len(b):
        return all(_same(x, y) for x, y in zip(a, b, strict=True))
    return False
