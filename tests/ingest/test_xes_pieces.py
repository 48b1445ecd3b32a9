"""Large XES files are cut into pieces of whole traces and parsed in a helper process.

The cut must never change what is recorded: the same events, attributes and
numbering as parsing the file whole, on real logs and on generated ones.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import knelpunt as kp
from knelpunt.errors import MalformedFileError
from knelpunt.ingest import _xes_pieces, readers
from knelpunt.testing import make_log
from tests.conftest import shared_log
from tests.helpers import canonical, store_state


@pytest.fixture(name="cut_small")
def _cut_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send every XES file through the helper process, in pieces of 64 KiB."""
    monkeypatch.setattr(readers, "SPLIT_ABOVE", 0)
    monkeypatch.setattr(readers, "PIECE_BYTES", 64 << 10)


def _record(path: Path) -> list[tuple[object, ...]]:
    with kp.open_store(":memory:") as store:
        result = kp.ingest_log(store, path, duplicates="keep", privacy="off")
        lines = store.read_events()["line"].tolist()
        assert lines == list(range(1, result.added + 1))
        return canonical(store, result.source.source_id)


def _xes_file(tmp_path: Path, *, cases: int, gz: bool = True) -> Path:
    path = tmp_path / ("log.xes.gz" if gz else "log.xes")
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, make_log(cases=cases, seed=7), name="generated", privacy="off")
        kp.export_log(store, path)
    return path


@pytest.mark.real_logs
def test_real_log_in_pieces_equals_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """BPIC 2015 (1), cut into 64 KiB pieces, records exactly what a whole parse does."""
    path = shared_log("BPIC15_1.xes.gz")
    whole = _record(path)
    monkeypatch.setattr(readers, "SPLIT_ABOVE", 0)
    monkeypatch.setattr(readers, "PIECE_BYTES", 64 << 10)
    assert _record(path) == whole


def test_generated_log_in_pieces_equals_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain and gzipped XES, with case attributes, give the same events either way."""
    for gz in (True, False):
        path = _xes_file(tmp_path, cases=400, gz=gz)
        whole = _record(path)
        with monkeypatch.context() as patch:
            patch.setattr(readers, "SPLIT_ABOVE", 0)
            patch.setattr(readers, "PIECE_BYTES", 8 << 10)
            assert _record(path) == whole


@pytest.mark.usefixtures("cut_small")
@pytest.mark.parametrize("where", [0.02, 0.75], ids=["first piece", "far into the file"])
def test_broken_piece_names_line_and_leaves_store(tmp_path: Path, where: float) -> None:
    """Malformed XML in the first piece (parsed by the reader itself) or far into the file
    (parsed by the helper): the line in the whole file; nothing recorded."""
    path = _xes_file(tmp_path, cases=400, gz=False)
    text = path.read_text().splitlines(keepends=True)
    broken_line = int(len(text) * where)
    while "</event>" not in text[broken_line]:
        broken_line += 1
    text[broken_line] = text[broken_line].replace("</event>", "</evnt>")
    path.write_text("".join(text))
    with kp.open_store(":memory:") as store:
        kp.ingest_log(store, make_log(cases=2), name="before", privacy="off")
        before = store_state(store)
        with pytest.raises(MalformedFileError, match=rf"log\.xes, line {broken_line + 1}\b"):
            kp.ingest_log(store, path, privacy="off")
        assert store_state(store) == before


@pytest.mark.usefixtures("cut_small")
def test_truncated_large_gzip(tmp_path: Path) -> None:
    """A cut-off download of a large file is refused, not recorded up to the cut."""
    path = _xes_file(tmp_path, cases=400)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with kp.open_store(":memory:") as store, pytest.raises(MalformedFileError, match="truncated"):
        kp.ingest_log(store, path, privacy="off")


@pytest.mark.usefixtures("cut_small")
def test_comment_inside_traces_is_not_cut(tmp_path: Path) -> None:
    """A comment holding ``</trace>`` between traces: no cut inside it, every event kept."""
    path = _xes_file(tmp_path, cases=200, gz=False)
    expected = _record(path)
    text = path.read_text()
    middle = text.index("<trace", len(text) // 3)
    path.write_text(text[:middle] + "<!-- old: </trace> -->\n" + text[middle:])
    assert _record(path) == expected


def test_progress_estimates_the_total(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a known total, progress gets an estimate from the share of the file read."""
    monkeypatch.setattr(readers, "SPLIT_ABOVE", 0)
    monkeypatch.setattr(readers, "PIECE_BYTES", 16 << 10)
    path = _xes_file(tmp_path, cases=400)
    calls: list[tuple[int, int | None]] = []
    with kp.open_store(":memory:") as store:
        result = kp.ingest_log(store, path, progress=lambda *call: calls.append(call))
    assert calls[-1] == (result.added, result.added)
    assert all(total is None or total >= done for done, total in calls)


_TRACE = st.builds(
    lambda name, events: (
        f'<trace><string key="concept:name" value="{name}"/>'
        + "".join(f'<event><string key="concept:name" value="{e}"/></event>' for e in events)
        + "</trace>\n"
    ),
    st.text("abc<>&", min_size=1, max_size=5).map(
        lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    ),
    st.lists(st.sampled_from(["A", "B", "C"]), max_size=4),
)


@settings(max_examples=200, deadline=None)
@given(
    traces=st.lists(_TRACE, max_size=30),
    piece_bytes=st.integers(1, 400),
    block=st.integers(1, 300),
    gz=st.booleans(),
)
def test_pieces_hold_every_trace_once(
    traces: list[str], piece_bytes: int, block: int, gz: bool
) -> None:
    """Whatever the sizes: each piece is a whole log with the header, traces are kept in order."""
    header = '<?xml version="1.0"?>\n<!-- a <trace> in a comment -->\n<log xes.version="1.0">\n'
    document = (header + "".join(traces) + "</log>\n").encode()
    stream = io.BytesIO(gzip.compress(document) if gz else document)
    if gz:
        stream = gzip.GzipFile(fileobj=stream)  # type: ignore[assignment]
    pieces = list(_xes_pieces.iter_pieces(stream, piece_bytes=piece_bytes, block=block))
    assert pieces
    rebuilt = []
    for piece in pieces:
        assert piece.startswith(header.encode())
        assert piece.rstrip().endswith(b"</log>")
        rebuilt.append(piece[len(header) :].rstrip().removesuffix(b"</log>"))
    assert b"".join(rebuilt).strip() == "".join(traces).encode().strip()
