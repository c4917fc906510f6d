"""Browser fixtures for report tests (and, later, the web console's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests import browser


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless system Chromium for the whole session."""
    if not browser.chromium_available():
        pytest.skip(browser.MISSING)
    with browser.launch() as running:
        yield running


@pytest.fixture
def chromium_page(chromium: Browser) -> Iterator[Page]:
    """A fresh page of the session's Chromium, 1280 pixels wide."""
    with browser.new_page(chromium) as page:
        yield page
