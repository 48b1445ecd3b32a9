"""What every fuzz test shares: the Hypothesis profiles, the property, the mutations.

Run by hand for longer (the figures in benchmarks/RESULTS.md came from this)::

    KNELPUNT_FUZZ=long .venv/bin/python -m pytest tests/fuzz -q
    KNELPUNT_FUZZ=long KNELPUNT_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/fuzz -k xes

The default profile (``ci``) runs a modest number of examples, so each test takes
a few seconds. Every example runs under a watchdog: one that hangs longer than
``HANG_SECONDS`` stops the whole run with the stacks of every thread (a hang in
C code, rustxes or a parser, would never return to let Hypothesis's deadline
act). The property: nothing escapes but knelpunt's own errors.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, Final

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from knelpunt.errors import KnelpuntError

HANG_SECONDS: Final = 60

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,  # a shared CI machine: slowness is not a hang (the watchdog is)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
)
settings.register_profile(
    "long",
    max_examples=int(os.environ.get("KNELPUNT_FUZZ_EXAMPLES", "3000")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate, Phase.target, Phase.shrink],  # no replay of old examples
    print_blob=True,
)
FUZZ = settings.get_profile(os.environ.get("KNELPUNT_FUZZ", "ci"))


@contextlib.contextmanager
def watchdog() -> Iterator[None]:
    """Stop the process with every thread's stack if the body runs too long."""
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True, file=sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def only_own_errors(call: Callable[[], Any]) -> Any:
    """Run ``call``; a :class:`KnelpuntError` is a fine answer, anything else fails."""
    with watchdog():
        try:
            return call()
        except KnelpuntError:
            return None


# -- mutations: valid files made slightly wrong ------------------------------------

_OPS: Final = ("flip", "insert", "delete", "duplicate", "truncate", "splice")
_INTERESTING: Final = [
    b"\x00", b"\xff", b"\xfe\xff", b'"', b"'", b";", b",", b"\t", b"\r", b"\n", b"\r\n",
    b"<", b">", b"&", b"&amp;", b"]]>", b"<!--", b"-->", b"<![CDATA[", b"</trace>",
    b"<trace>", b"</event>", b"<event>", b"</log>", b"=", b"-1", b"9" * 30, b"1e309",
    b"NaN", b"2024-02-30", b"0000-00-00T00:00:00", b"\xc3", b"\xe2\x80", b"PK\x03\x04",
    b"PAR1", b"\x1f\x8b", b"&#0;", b"&#x110000;", b"*", b"&a", b"!!python/object",
    b"{", b"}", b"[", b"]", b": ", b"- ", b"~", b"null",
]  # fmt: skip

mutations = st.lists(
    st.tuples(
        st.sampled_from(_OPS),
        st.floats(0, 1, allow_nan=False),
        st.one_of(st.sampled_from(_INTERESTING), st.binary(min_size=1, max_size=8)),
    ),
    min_size=1,
    max_size=6,
)


def mutate(data: bytes, ops: list[tuple[str, float, bytes]]) -> bytes:
    """``data`` with each operation applied at a relative position."""
    out = bytearray(data)
    for op, where, piece in ops:
        at = int(where * len(out))
        if op == "flip" and out:
            at = min(at, len(out) - 1)
            out[at] ^= piece[0] or 0xFF
        elif op == "insert":
            out[at:at] = piece
        elif op == "delete":
            del out[at : at + len(piece) * 4]
        elif op == "duplicate":
            out[at:at] = out[at : at + 64]
        elif op == "truncate":
            del out[max(at, 1) :]
        elif op == "splice":
            out[at : at + len(piece)] = piece
    return bytes(out)
