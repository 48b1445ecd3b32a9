"""A real dashboard on a real store, served on 127.0.0.1, driven by Debian's Chromium
through Playwright (``scripts/setup-system.sh`` installs the ``chromium`` package)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

import knelpunt as kp
from dashboards import create_app
from dashboards.browser import CHROMIUM, CHROMIUM_ARGS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


class Served:
    """The dashboard served in a thread of the test process.

    One per test process: Dash hands the callbacks its pages register to the first
    app that serves a request, so a second app in the same process would draw its
    pages with none (a server process holds one app, so this is a test's limit, not
    the dashboard's). The browser tests therefore share one module and one app."""

    made = 0

    def __init__(self, store: str) -> None:
        Served.made += 1
        if Served.made > 1:
            raise RuntimeError(
                "a second dashboard app in this test process would get no callbacks: put "
                "the browser test in tests/dashboards/test_browser.py"
            )
        self.app = create_app(store)
        self.server = make_server("127.0.0.1", 0, self.app.server, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Two simulated sources: a quarter of the baseline team and of the waiting list."""
    path = str(tmp_path_factory.mktemp("dash") / "knelpunt.db")
    with kp.open_store(path) as store:
        kp.simulate_scenario(store, "baseline", overrides=["days=90"])
        kp.simulate_scenario(store, "waiting-list", overrides=["days=90"])
    return path


@pytest.fixture(scope="module")
def served(demo_store: str) -> Iterator[Served]:
    found = Served(demo_store)
    yield found
    found.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run 'bash scripts/setup-system.sh' (it installs Debian's "
            "chromium package), or 'make test', which runs it."
        )
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        yield found
        found.close()


class Page:
    """A browser page that records console errors and uncaught exceptions."""

    def __init__(self, browser: Any, base: str, *, width: int = 1366) -> None:
        self.base = base
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, path: str, ready: str) -> Any:
        self.page.goto(self.base + path)
        self.page.wait_for_selector(ready, timeout=60_000)
        return self.page

    def shoot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_timeout(500)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.page.close()


@pytest.fixture
def page(browser: Any, served: Served) -> Iterator[Page]:
    found = Page(browser, served.url)
    yield found
    errors = list(found.errors)
    found.close()
    assert errors == [], f"browser console errors: {errors}"
