"""Process models: discovered with pm4py's inductive miner, read from and written to files.

A model is knelpunt's own frozen record (:class:`ProcessModel`): a Petri net
(places, labelled or silent transitions, arcs, initial and final marking) and,
when it was discovered, the process tree it came from. pm4py does the work;
its objects never leave this module and :mod:`knelpunt.mining.conformance`.

* :func:`discover_model` runs the inductive miner on the *variants* of an
  :class:`~knelpunt.mining.projection.EventTable` (one trace per variant with
  its count), which is what pm4py does inside as well, so a 20M-event log
  costs no more than its variants. ``noise`` > 0 is the infrequent variant
  (IMf), as in ProM; 0 is the plain inductive miner, whose model replays
  every case.
* :func:`read_model` reads a protocol drawn in a BPMN modeller (``.bpmn``) or a
  Petri net (``.pnml``), after checking the XML is safe and well-formed.
* :func:`export_model` writes BPMN 2.0 with diagram layout (shapes and
  edges, laid out by Graphviz), which Camunda Modeler, bpmn.io and Signavio
  open, or PNML. Files are written whole or not at all.

By default a model is of activity *completions*: events with another
lifecycle transition (start, schedule) are left out, as a protocol counts
each activity once. ``lifecycles=None`` keeps every event, as pm4py does.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import warnings
import xml.parsers.expat
from collections import Counter
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Final, Protocol
from xml.etree import ElementTree

import pandas as pd

from knelpunt.errors import ModelError, UnsafeInputError, UnsupportedFormatError
from knelpunt.mining.filters import filter_events
from knelpunt.mining.maps import list_variants
from knelpunt.mining.projection import EventTable

__all__ = [
    "COMPLETIONS",
    "PetriNet",
    "ProcessModel",
    "ProcessTree",
    "Transition",
    "discover_model",
    "export_model",
    "quiet_pm4py",
    "read_model",
]

COMPLETIONS: Final = ("complete",)
_MAX_MODEL_BYTES: Final = 50 * 1024 * 1024
_OPERATORS: Final = {
    "->": "sequence",
    "X": "xor",
    "+": "parallel",
    "*": "loop",
    "O": "or",
    "<>": "interleaving",
}
_SYMBOLS: Final = {word: symbol for symbol, word in _OPERATORS.items()}
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Transition:
    """A Petri net transition: ``label`` is the activity, None for a silent step."""

    name: str
    label: str | None


@dataclass(frozen=True, slots=True)
class PetriNet:
    """A labelled Petri net with its initial and final marking.

    Attributes:
        places: place names (``p0``, ``p1``, ...).
        transitions: the transitions (names ``t0``, ``t1``, ...).
        arcs: (source, target, weight), from a place to a transition or back.
        initial, final: place name → tokens.
    """

    places: tuple[str, ...]
    transitions: tuple[Transition, ...]
    arcs: tuple[tuple[str, str, int], ...]
    initial: Mapping[str, int]
    final: Mapping[str, int]

    @property
    def activities(self) -> frozenset[str]:
        """The labels of the visible transitions."""
        return frozenset(t.label for t in self.transitions if t.label is not None)


@dataclass(frozen=True, slots=True)
class ProcessTree:
    """A block-structured model: a leaf (``operator`` None) or an operator node.

    Attributes:
        operator: ``sequence``, ``xor``, ``parallel``, ``loop``, ``or``,
            ``interleaving``, or None for a leaf.
        label: a leaf's activity, None for a silent leaf (tau).
        children: an operator's children, in order.
    """

    operator: str | None
    label: str | None = None
    children: tuple[ProcessTree, ...] = ()

    def __str__(self) -> str:
        if self.operator is None:
            return "tau" if self.label is None else repr(self.label)
        inner = ", ".join(str(child) for child in self.children)
        return f"{_SYMBOLS[self.operator]}( {inner} )"


@dataclass(frozen=True, slots=True)
class ProcessModel:
    """A process model: a Petri net, the tree it came from (if discovered), its origin.

    Attributes:
        net: the Petri net, used for conformance.
        tree: the process tree when discovered, else None.
        origin: where the model comes from, in words.
    """

    net: PetriNet
    tree: ProcessTree | None
    origin: str

    @property
    def activities(self) -> frozenset[str]:
        """The activities the model knows."""
        return self.net.activities

    def to_frame(self) -> pd.DataFrame:
        """One row per transition of the net: its ``label`` (None when silent)."""
        return pd.DataFrame(
            {"transition": [t.name for t in self.net.transitions],
             "label": [t.label for t in self.net.transitions]}
        )  # fmt: skip

    def _repr_html_(self) -> str:
        return (
            f"<p>{escape(self.origin)}: {len(self.net.places)} places, "
            f"{len(self.net.transitions)} transitions, {len(self.activities)} activities</p>"
        )


def traces(
    table: EventTable, *, lifecycles: Collection[str] | None = COMPLETIONS
) -> tuple[EventTable, pd.DataFrame]:
    """The table as it is modelled (completions by default) and its variants.

    The variants are :func:`~knelpunt.mining.maps.list_variants` of the
    modelled table, so their numbers match a variant list of that table.
    """
    used = table if lifecycles is None else filter_events(table, lifecycles=lifecycles)
    return used, list_variants(used)


def _counts(variants: pd.DataFrame) -> Counter[tuple[str, ...]]:
    counts: Counter[tuple[str, ...]] = Counter()
    for activities, cases in zip(variants["activities"], variants["cases"], strict=True):
        counts[tuple(str(a) for a in activities)] += int(cases)
    return counts


class HasVariants(Protocol):
    """Anything carrying a variants frame, as :class:`knelpunt.RelationalResult` does."""

    @property
    def variants(self) -> pd.DataFrame:
        """One row per variant: ``activities`` (a tuple) and ``cases``."""
        ...


def discover_model(
    table: EventTable | HasVariants | pd.DataFrame,
    *,
    noise: float = 0.2,
    lifecycles: Collection[str] | None = COMPLETIONS,
) -> ProcessModel:
    """A process model of the events, by pm4py's inductive miner on their variants.

    The miner only needs each variant and its number of cases, so the variants may
    also be computed elsewhere: by :func:`knelpunt.compute_relational` on Spark for a
    log of hundreds of millions of events, whose variants fit in memory. Then this
    step costs what the variants cost, not the events.

    Args:
        table: the events (filter first with :func:`~knelpunt.filter_events` to
            model, e.g., the variants covering 80% of the cases); or the variants
            with their counts: a :class:`~knelpunt.RelationalResult` or a frame with
            the columns ``activities`` (a sequence of activity names) and ``cases``.
        noise: the infrequent-behaviour threshold of IMf (0 <= noise < 1); 0 is
            the plain inductive miner, whose model fits every case.
        lifecycles: model only events with these lifecycle transitions (and
            events without one); None models every event. For event tables only:
            variants computed elsewhere are modelled as they are (the engines count
            every event, so compute them on completions to model completions).

    Raises:
        ModelError: the table has no events to model, ``noise`` is outside 0-1, or a
            variants frame lacks ``activities`` or ``cases``.

    Example:
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=5, seed=1), name="demo")
        ...     model = kp.discover_model(kp.load_events(store), noise=0.0)
        >>> str(model.tree)[:34]
        "->( 'Melding ontvangen', 'Keukenta"
    """
    if not 0.0 <= noise < 1.0:
        raise ModelError(f"noise must be at least 0 and below 1, not {noise}.")
    filters: tuple[str, ...] = ()
    if isinstance(table, EventTable):
        used, variants = traces(table, lifecycles=lifecycles)
        filters = used.filters
    else:
        variants = given_variants(table)
    counts = _counts(variants)
    if not counts:
        raise ModelError(
            "There are no events to model"
            + (f" (after the filters: {'; '.join(filters)})" if filters else "")
            + ". Record a log first, or widen the filters."
        )
    from pm4py.algo.discovery.inductive.dtypes.im_ds import IMDataStructureUVCL
    from pm4py.algo.discovery.inductive.variants.im import IMUVCL
    from pm4py.algo.discovery.inductive.variants.imf import IMFUVCL
    from pm4py.objects.process_tree.utils import generic

    parameters: dict[str, Any] = {"noise_threshold": noise}
    miner = IMFUVCL(parameters) if noise > 0 else IMUVCL(parameters)
    with quiet_pm4py():
        found = miner.apply(IMDataStructureUVCL(counts), parameters)
        found = generic.fold(found)
        generic.tree_sort(found)
        tree = _tree_from_pm4py(found)
        net = _net_from_tree(tree)
    cases = sum(counts.values())
    name = "inductive miner" + (f", infrequent (noise {noise:g})" if noise > 0 else "")
    return ProcessModel(
        net=net,
        tree=tree,
        origin=f"{name} on {_plural(len(counts), 'variant')} of {_plural(cases, 'case')}",
    )


def given_variants(given: HasVariants | pd.DataFrame) -> pd.DataFrame:
    """The variants frame of a result of the engines, or the frame itself, checked."""
    frame = given if isinstance(given, pd.DataFrame) else getattr(given, "variants", None)
    if not isinstance(frame, pd.DataFrame):
        raise ModelError(
            "Pass an event table (kp.load_events), a result of kp.compute_relational, or "
            f"its variants frame, not a {type(given).__name__}."
        )
    missing = [c for c in ("activities", "cases") if c not in frame.columns]
    if missing:
        raise ModelError(
            f"The variants have no column {missing[0]!r} (columns: "
            f"{', '.join(map(str, frame.columns))}). Pass kp.compute_relational(...).variants "
            "or kp.list_variants(...): one row per variant, its activities and its cases."
        )
    if (frame["cases"] < 0).any():
        raise ModelError("A variant has a negative number of cases; count cases from 0 up.")
    return frame


def read_model(path: str | Path) -> ProcessModel:
    """A model from a BPMN 2.0 file (``.bpmn``) or a Petri net (``.pnml``).

    Task names become activities with their white space tidied (modellers
    wrap long names over lines); they must match the log's activity names.

    Raises:
        ModelError: the file is missing, not well-formed XML (with line and
            column), not BPMN/PNML, or has no tasks.
        UnsafeInputError: the XML declares a DTD or entities.
        UnsupportedFormatError: another suffix.

    Example:
        >>> import pathlib, tempfile
        >>> import knelpunt as kp
        >>> protocol = '''<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">
        ...   <process id="wmo">
        ...     <startEvent id="s"/>
        ...     <task id="a" name="Melding ontvangen"/>
        ...     <userTask id="b" name="Keukentafelgesprek"/>
        ...     <endEvent id="e"/>
        ...     <sequenceFlow id="f1" sourceRef="s" targetRef="a"/>
        ...     <sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
        ...     <sequenceFlow id="f3" sourceRef="b" targetRef="e"/>
        ...   </process>
        ... </definitions>'''
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = pathlib.Path(folder) / "protocol.bpmn"
        ...     _ = path.write_text(protocol, encoding="utf-8")
        ...     model = kp.read_model(path)
        >>> sorted(model.activities), model.origin
        (['Keukentafelgesprek', 'Melding ontvangen'], 'protocol.bpmn')
    """
    path = Path(path)
    kind = _kind(
        path,
        "knelpunt reads process models from .bpmn (BPMN 2.0) or .pnml (Petri net) files; "
        "export the protocol from your modeller as BPMN 2.0 XML.",
    )
    data = _read_xml(path)
    net = _read_bpmn(path, data) if kind == ".bpmn" else _read_pnml(path, data)
    if not net.activities:
        raise ModelError(
            f"{path.name}: the model has no named tasks or transitions, so nothing in a log "
            "can match it. Give each task the activity name the log uses."
        )
    return ProcessModel(net=net, tree=None, origin=path.name)


def export_model(model: ProcessModel, path: str | Path) -> Path:
    """Write the model as BPMN 2.0 with diagram layout (``.bpmn``) or as PNML (``.pnml``).

    Raises:
        UnsupportedFormatError: another suffix.
        ModelError: Graphviz (needed to lay out BPMN diagrams) is not installed.

    Example:
        >>> import pathlib, tempfile
        >>> import knelpunt as kp
        >>> from knelpunt.testing import make_log
        >>> with kp.open_store(":memory:") as store:
        ...     _ = kp.ingest_log(store, make_log(cases=5, seed=1), name="demo")
        ...     model = kp.discover_model(kp.load_events(store), noise=0.0)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     written = kp.export_model(model, pathlib.Path(folder) / "model.pnml")
        ...     kp.read_model(written).activities == model.activities
        True
    """
    path = Path(path)
    kind = _kind(
        path,
        "knelpunt writes process models as .bpmn (BPMN 2.0, opens in Camunda Modeler, "
        "bpmn.io, Signavio) or .pnml (Petri net, opens in ProM, WoPeD).",
    )
    import pm4py

    net, initial, final = to_pm4py(model.net)
    with tempfile.TemporaryDirectory(dir=path.parent) as folder, quiet_pm4py():
        draft = Path(folder) / f"draft{kind}"
        if kind == ".pnml":
            pm4py.write_pnml(net, initial, final, str(draft))
        else:
            if shutil.which("dot") is None:
                raise ModelError(
                    "Writing BPMN needs Graphviz's 'dot' program to lay out the diagram; install "
                    "it (Debian/Ubuntu: apt-get install graphviz; `make test` does) and retry, "
                    "or export as .pnml."
                )
            if model.tree is not None:
                diagram = pm4py.convert_to_bpmn(_tree_to_pm4py(model.tree))
            else:
                diagram = pm4py.convert_to_bpmn(net, initial, final)
            pm4py.write_bpmn(diagram, str(draft), auto_layout=True)
        os.replace(draft, path)
    return path


def _kind(path: Path, advice: str) -> str:
    """The model file's suffix, .bpmn or .pnml; anything else is refused with ``advice``."""
    kind = path.suffix.lower()
    if kind not in (".bpmn", ".pnml"):
        raise UnsupportedFormatError(f"{path.name}: {advice}")
    return kind


# -- pm4py conversions -------------------------------------------------------


def _tree_from_pm4py(node: Any) -> ProcessTree:
    if node.operator is None:
        return ProcessTree(operator=None, label=node.label)
    return ProcessTree(
        operator=_OPERATORS[node.operator.value],
        children=tuple(_tree_from_pm4py(child) for child in node.children),
    )


def _tree_to_pm4py(tree: ProcessTree, parent: Any = None) -> Any:
    from pm4py.objects.process_tree.obj import Operator
    from pm4py.objects.process_tree.obj import ProcessTree as Pm4pyTree

    if tree.operator is None:
        return Pm4pyTree(parent=parent, label=tree.label)
    node = Pm4pyTree(operator=Operator(_SYMBOLS[tree.operator]), parent=parent)
    node.children = [_tree_to_pm4py(child, node) for child in tree.children]
    return node


def _net_from_tree(tree: ProcessTree) -> PetriNet:
    from pm4py.objects.conversion.process_tree import converter

    return _net_from_pm4py(*converter.apply(_tree_to_pm4py(tree)))


def _net_from_pm4py(net: Any, initial: Any, final: Any) -> PetriNet:
    places = sorted(net.places, key=lambda p: str(p.name))
    transitions = sorted(
        net.transitions, key=lambda t: (t.label is None, str(t.label), str(t.name))
    )
    names: dict[Any, str] = {p: f"p{i}" for i, p in enumerate(places)}
    names.update({t: f"t{i}" for i, t in enumerate(transitions)})
    arcs = sorted((names[arc.source], names[arc.target], int(arc.weight)) for arc in net.arcs)
    return PetriNet(
        places=tuple(names[p] for p in places),
        transitions=tuple(
            Transition(names[t], None if t.label is None else _tidy(t.label)) for t in transitions
        ),
        arcs=tuple(arcs),
        initial={names[p]: int(n) for p, n in initial.items()},
        final={names[p]: int(n) for p, n in final.items()},
    )


def to_pm4py(model: PetriNet) -> tuple[Any, Any, Any]:
    """pm4py's (net, initial marking, final marking) for a net."""
    from pm4py.objects.petri_net.obj import Marking
    from pm4py.objects.petri_net.obj import PetriNet as Pm4pyNet
    from pm4py.objects.petri_net.utils.petri_utils import add_arc_from_to

    net = Pm4pyNet("knelpunt")
    nodes: dict[str, Any] = {}
    for name in model.places:
        nodes[name] = Pm4pyNet.Place(name)
        net.places.add(nodes[name])
    for transition in model.transitions:
        nodes[transition.name] = Pm4pyNet.Transition(transition.name, transition.label)
        net.transitions.add(nodes[transition.name])
    for source, target, weight in model.arcs:
        add_arc_from_to(nodes[source], nodes[target], net, weight=weight)
    initial = Marking({nodes[p]: n for p, n in model.initial.items()})
    final = Marking({nodes[p]: n for p, n in model.final.items()})
    return net, initial, final


@contextlib.contextmanager
def quiet_pm4py() -> Iterator[None]:
    """Keep pm4py's internal deprecation notices (NumPy matrices, pandas) from users."""
    with warnings.catch_warnings():
        for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
            warnings.simplefilter("ignore", category)
        yield


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _tidy(label: str) -> str:
    return _SPACE.sub(" ", str(label)).strip()


# -- reading files ------------------------------------------------------------


def _read_xml(path: Path) -> bytes:
    """The file's bytes, once they are known to be safe, well-formed XML."""
    try:
        size = path.stat().st_size
        if size > _MAX_MODEL_BYTES:
            raise ModelError(
                f"{path.name}: {size / 1e6:.0f} MB is far larger than any process model; "
                "check that this is the right file."
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{path}: no such file; check the path.") from None
    except IsADirectoryError:
        raise ModelError(f"{path}: this is a folder; give the model file itself.") from None
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    # Parsed with defusedxml, which refuses any DTD whatever the encoding (a byte search
    # for "<!DOCTYPE" misses one in UTF-16); a file that is not well-formed is
    # diagnosed below with its line and column.
    try:
        fromstring(data, forbid_dtd=True)
        unsafe = False
    except DefusedXmlException:
        unsafe = True
    except ParseError:
        unsafe = b"<!DOCTYPE" in data or b"<!ENTITY" in data
    if unsafe:
        raise UnsafeInputError(
            f"{path.name}: the XML declares a DTD or entities (<!DOCTYPE/<!ENTITY>). Process "
            "models never need them and they can hide entity bombs or references to other "
            "files, so knelpunt refuses them. Remove the <!DOCTYPE ...> block and try again."
        )
    parser = xml.parsers.expat.ParserCreate()
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as error:
        raise ModelError(
            f"{path.name}, line {error.lineno}, column {error.offset + 1}: the XML is not "
            f"well-formed ({xml.parsers.expat.ErrorString(error.code)}). Export the model "
            "again from its modeller."
        ) from None
    return data


def _read_bpmn(path: Path, data: bytes) -> PetriNet:
    if b"http://www.omg.org/spec/BPMN/20100524/MODEL" not in data:
        raise ModelError(
            f"{path.name}: this is not BPMN 2.0 XML (the BPMN model namespace "
            "http://www.omg.org/spec/BPMN/20100524/MODEL is missing). Export the protocol "
            "from your modeller as BPMN 2.0."
        )
    from pm4py.objects.bpmn.importer.variants.lxml import import_from_string
    from pm4py.objects.conversion.bpmn import converter

    # Modellers wrap long names over lines; pm4py would glue the words together.
    root = ElementTree.fromstring(data)
    for element in root.iter():
        if "name" in element.attrib:
            element.set("name", _tidy(element.attrib["name"]))
    try:
        with quiet_pm4py():
            diagram = import_from_string(ElementTree.tostring(root, encoding="utf-8"))
            return _net_from_pm4py(*converter.apply(diagram))
    except Exception as error:  # pm4py raises plain exceptions on odd models
        raise ModelError(
            f"{path.name}: the BPMN model cannot be turned into a Petri net ({error}). knelpunt "
            "reads tasks, start and end events, exclusive, parallel and inclusive gateways and "
            "sequence flows; check that every element is connected."
        ) from error


def _read_pnml(path: Path, data: bytes) -> PetriNet:
    from pm4py.objects.petri_net.importer.variants.pnml import import_net_from_string
    from pm4py.objects.petri_net.utils.final_marking import discover_final_marking

    try:
        with quiet_pm4py():
            net, initial, final = import_net_from_string(data)
    except Exception as error:  # pm4py raises plain exceptions on odd nets
        raise ModelError(
            f"{path.name}: the PNML cannot be read as a Petri net ({error}). Export it again "
            "from ProM or WoPeD."
        ) from error
    if not initial:
        raise ModelError(
            f"{path.name}: the Petri net has no initial marking; mark the start place with a "
            "token in the modeller and export again."
        )
    if not final:
        with quiet_pm4py():
            final = discover_final_marking(net)
    return _net_from_pm4py(net, initial, final)
