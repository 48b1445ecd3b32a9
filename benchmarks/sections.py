"""Replace one ``## ...`` section of benchmarks/RESULTS.md, or add it before
"## Reproduce"."""

from __future__ import annotations

from pathlib import Path
from typing import Final

RESULTS_MD: Final = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(section: str, text: str, path: Path = RESULTS_MD) -> None:
    """Put ``text`` (which starts with the heading ``section``) in place of that
    section; the whole heading line must match, so "## Blocker analysis on ..." is
    another section than "## Blocker analysis"."""
    current = path.read_text(encoding="utf-8")
    if f"\n{section}\n" in current:
        head, _, rest = current.partition(f"\n{section}\n")
        head += "\n"
        tail = rest[rest.find("\n## ") + 1 :] if "\n## " in rest else ""
        current = head + text + ("\n" + tail if tail else "")
    else:
        marker = "## Reproduce"
        head, _, rest = current.partition(marker)
        current = head + text + "\n" + marker + rest if rest else current + "\n" + text
    path.write_text(current, encoding="utf-8")
