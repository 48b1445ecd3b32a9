"""The labels: the same keys in Dutch and English, and every key the pages use exists."""

from __future__ import annotations

import re
from pathlib import Path

from dashboards.i18n import labels, t

DASHBOARDS = Path(__file__).resolve().parents[2] / "dashboards"


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    dutch, english = labels("nl"), labels("en")
    assert set(dutch) == set(english)
    for key in dutch:
        assert set(re.findall(r"{(\w+)}", dutch[key])) == set(
            re.findall(r"{(\w+)}", english[key])
        ), key


def test_every_literal_key_in_the_pages_exists() -> None:
    """Keys written out in the code (``t(lang, "nav.map")``) are all defined; keys built
    from a value (``f"category.{c}"``) are checked by the pages' own tests."""
    used = set()
    for path in DASHBOARDS.rglob("*.py"):
        used |= set(re.findall(r"""\bt\(\s*\w+,\s*["']([\w.]+)["']""", path.read_text()))
    assert used, "no label keys found: the pattern no longer matches the code"
    assert used <= set(labels("nl")), sorted(used - set(labels("nl")))


def test_dutch_is_the_default_and_values_are_filled_in() -> None:
    assert t("fr", "nav.map") == "Proceskaart"
    assert t("en", "kpi.days", value="3.5") == "3.5 days"


def test_every_category_and_cause_has_a_label() -> None:
    """Keys built from a value: the blocker categories and the waiting causes."""
    from dashboards.components import CATEGORIES
    from knelpunt.analysis.waiting import CAUSES

    for lang in ("nl", "en"):
        for category in CATEGORIES:
            assert t(lang, f"category.{category}")
        for cause in (*CAUSES, "undetermined"):
            assert t(lang, f"cause.{cause}")
        for status in ("appeared", "disappeared", "changed", "same", "new", "gone", "worse",
                       "better"):  # fmt: skip
            assert t(lang, f"status.{status}")


def test_every_kind_of_personal_data_and_choice_has_a_label() -> None:
    """Keys built from a value: the upload wizard's kinds of personal data and choices."""
    from knelpunt.ingest.personal import KINDS
    from knelpunt.privacy import ACTIONS

    for lang in ("nl", "en"):
        for kind in (*KINDS, "case_id", "resource", "chosen"):
            assert t(lang, f"upload.privacy.kind.{kind}") != f"upload.privacy.kind.{kind}"
        for action in ACTIONS:
            assert t(lang, f"upload.privacy.action.{action}") != f"upload.privacy.action.{action}"
