"""A page of the session's Chromium (tests/conftest.py starts it) for the report tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests import browser


@pytest.fixture
def chromium_page(chromium: Browser) -> Iterator[Page]:
    """A fresh page of the session's Chromium, 1280 pixels wide."""
    with browser.new_page(chromium) as page:
        yield page
