"""The report link of the dashboard, end to end in headless Chromium: it downloads
the report of the visitor's choice, which opens offline with every figure drawn and
no console errors."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

import knelpunt as kp
from tests.dashboards.conftest import SCREENSHOTS, Page, Served

pytestmark = pytest.mark.slow


def test_the_report_link_downloads_the_report_of_the_choice(
    page: Page, browser: Any, demo_store: str, tmp_path: Path
) -> None:
    with kp.open_store(demo_store) as store:
        second = kp.list_sources(store)[1]
        cases = kp.load_events(store, sources=[second.source_id]).n_cases
    shown = page.open("/", "#kpi-cases")
    option = shown.get_by_role("option", name=re.compile(f"^{second.source_id}: "))
    for attempt in range(3):  # the menu opened before its options arrived: open it again
        shown.click("#sources")
        try:
            option.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            shown.keyboard.press("Escape")
            if attempt == 2:
                raise
    option.click()
    shown.keyboard.press("Escape")
    shown.get_by_role("radio", name="EN", exact=True).check()
    link = shown.locator("#report-link")
    link.wait_for(state="visible")
    shown.wait_for_function(
        f"() => document.querySelector('#report-link').href.includes('sources={second.source_id}')"
        " && document.querySelector('#report-link').href.includes('lang=en')"
    )
    shown.wait_for_selector("#report-link:text('Report (HTML)')", timeout=30_000)
    with shown.expect_download(timeout=120_000) as caught:
        link.click()
    download = caught.value
    assert re.fullmatch(r"knelpunt-\d{4}-\d{2}-\d{2}\.html", download.suggested_filename)
    saved = tmp_path / "report.html"
    download.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert '<html lang="en">' in html
    assert second.name in html
    number = f"{cases:,}"
    assert f"{number} cases with" in html  # the chosen source only

    # Opened from disk, offline: every figure draws, the map is there, nothing fails.
    report = browser.new_page()
    errors: list[str] = []
    report.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    report.on("pageerror", lambda e: errors.append(str(e)))
    report.route(re.compile(r"^https?://"), lambda route: route.abort())  # nothing from outside
    report.goto(saved.as_uri())
    figures = len(set(re.findall(r'id="(figure-\d+)"', html)))
    assert figures >= 4
    report.wait_for_function(
        f"() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= {figures}",
        timeout=30_000,
    )
    assert report.locator("svg.process-map g.activity").count() > 5
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    report.set_viewport_size({"width": 1200, "height": 1400})
    report.screenshot(path=str(SCREENSHOTS / "rapport.png"))
    report.close()
    assert errors == [], f"report console errors: {errors}"


def test_a_report_that_cannot_be_made_answers_with_a_reference(served: Served) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{served.url}/rapport.html?lang=en&sources=x")
    assert caught.value.code == 400
    body = caught.value.read().decode("utf-8")
    assert "are not source numbers" in body
    assert "Reference for the administrator" in body
    assert "Traceback" not in body
    # A source that is not in the store is refused, not reported empty.
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{served.url}/rapport.html?lang=nl&sources=1,999")
    assert caught.value.code == 400
    assert "niet in de opslag" in caught.value.read().decode("utf-8")
