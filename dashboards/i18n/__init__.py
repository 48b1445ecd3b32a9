"""The dashboard's labels: ``nl.yaml`` (the default) and ``en.yaml``, one key each."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final, Literal

import yaml

Lang = Literal["nl", "en"]
LANGUAGES: Final[tuple[Lang, ...]] = ("nl", "en")
_FOLDER: Final = Path(__file__).resolve().parent


@cache
def labels(lang: Lang) -> dict[str, str]:
    """Every label of a language, by key."""
    with (_FOLDER / f"{lang}.yaml").open(encoding="utf-8") as handle:
        found = yaml.safe_load(handle)
    return {str(k): str(v) for k, v in found.items()}


def language(value: object) -> Lang:
    """``"en"`` when asked for English, else Dutch."""
    return "en" if value == "en" else "nl"


def t(lang: object, key: str, **values: object) -> str:
    """The label ``key`` in ``lang``, with ``values`` filled in."""
    text = labels(language(lang))[key]
    return text.format(**values) if values else text
