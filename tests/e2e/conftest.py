"""Browser fixtures: one headless Chromium per module, a fresh page per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser import CHROMIUM, LAUNCH_ARGS, open_page


@pytest.fixture(scope="module")
def browser() -> Iterator:
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    page = open_page(browser, live_server.url)
    yield page
    page.context.close()
