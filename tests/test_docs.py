"""The pages in docs/ stay true: the commands they name exist, their links lead
somewhere, and the researcher's five-line example runs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer

from knelpunt.cli import app
from knelpunt.testing import make_demo_csv

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
PAGES = sorted(DOCS.rglob("*.md"))

# A command: 'knelpunt' at the start of code or after a path ('.venv/bin/knelpunt'),
# then its name and, for a group such as 'profile', the sub-command.
_COMMAND = re.compile(r"(?:^|(?<=[\s/]))knelpunt((?: [a-z][a-z-]*){1,2})(.*)")
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
_FENCE = re.compile(r"^\s*(```+|~~~+)\s*(\S*)")
_SPAN = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _commands() -> dict[str, set[str]]:
    """Every command as 'name' or 'group sub', with its option names."""
    root: Any = typer.main.get_command(app)
    found: dict[str, set[str]] = {}

    def options(command: Any) -> set[str]:
        names = {"--help"}
        for param in command.params:
            names |= {o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")}
        return names

    for name, command in root.commands.items():
        found[name] = options(command)
        for sub, inner in getattr(command, "commands", {}).items():
            found[f"{name} {sub}"] = options(inner)
    return found


def _code(text: str) -> Iterator[tuple[int, str]]:
    """Pieces of code with their line number: shell and other non-Python fenced lines,
    and inline code spans (Python is left out: 'import knelpunt as kp' is no command)."""
    fence: str | None = None
    language = ""
    for number, line in enumerate(text.splitlines(), start=1):
        opened = _FENCE.match(line)
        if opened and fence is None:
            fence, language = opened.group(1), opened.group(2)
            continue
        if opened and fence is not None and opened.group(1).startswith(fence):
            fence = None
            continue
        if fence is not None:
            if language not in ("python", "py", "pycon"):
                yield number, line.split(" #", 1)[0]
            continue
        for span in _SPAN.findall(line):
            yield number, span


def _mentions(text: str) -> Iterator[tuple[int, str, list[str]]]:
    """Each 'knelpunt COMMAND ...' in code: line, the words after 'knelpunt', options."""
    for number, code in _code(text):
        if code.lstrip().startswith(("import ", "from ")):
            continue
        for match in _COMMAND.finditer(code):
            yield number, match.group(1).strip(), _OPTION.findall(match.group(2))


def _resolve(words: str, known: dict[str, set[str]]) -> str | None:
    """The command the words after 'knelpunt' name ('profile draft', 'ingest'), if any."""
    parts = words.split()
    for name in (" ".join(parts[:2]), parts[0]):
        if name in known:
            return name
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_command_and_option_named_in_the_docs_exists(page: Path) -> None:
    known = _commands()
    wrong = []
    for number, words, opts in _mentions(page.read_text(encoding="utf-8")):
        name = _resolve(words, known)
        if name is None:
            wrong.append(f"line {number}: 'knelpunt {words}' is not a command")
            continue
        wrong += [
            f"line {number}: 'knelpunt {name}' has no {o}" for o in opts if o not in known[name]
        ]
    assert wrong == []


def test_the_command_check_finds_the_commands() -> None:
    """The check above sees the consultant's commands (a change in how the pages write
    commands would otherwise let it pass without checking anything)."""
    known = _commands()
    text = (DOCS / "getting-started" / "consultant.md").read_text(encoding="utf-8")
    named = {_resolve(words, known) for _, words, _ in _mentions(text)}
    expected = {"mapping", "ingest", "profile draft", "profile check", "blockers", "criteria"}
    assert expected | {"compare", "report"} <= named


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    found = set()
    fence = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            fence = not fence
        elif not fence and (heading := re.match(r"#{1,6} (.+)", line)):
            found.add(_slug(heading.group(1)))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    broken = []
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z][a-z+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif not linked.is_relative_to(REPO):
            broken.append(f"{target}: outside the repository")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    assert broken == []


def test_the_researchers_five_line_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fenced block after the five-line marker in researcher.md, on a small log."""
    text = (DOCS / "getting-started" / "researcher.md").read_text(encoding="utf-8")
    after = text.split("<!-- five-line example", 1)[1]
    block = re.search(r"```python\n(.*?)```", after, re.DOTALL)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 5
    monkeypatch.chdir(tmp_path)
    make_demo_csv(tmp_path / "export.csv", cases=40)
    namespace: dict[str, Any] = {}
    exec("\n".join(lines[:-1]), namespace)
    try:
        ranked = eval(lines[-1], namespace)
    finally:
        namespace["store"].close()
    assert isinstance(ranked, pd.DataFrame)
    assert len(ranked) > 0
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert set(ranked["category"]) <= {"protocol", "system", "steering", "client", "unclassified"}


def test_the_readme_shows_the_same_five_lines_the_docs_run() -> None:
    """The README's five-line example is the researcher page's, which the test above runs."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    page = (REPO / "docs" / "getting-started" / "researcher.md").read_text(encoding="utf-8")
    block = page.split("<!-- five-line example", 1)[1].split("```python\n", 1)[1].split("```")[0]
    assert len(block.strip().splitlines()) == 5
    assert f"```python\n{block}```" in readme
