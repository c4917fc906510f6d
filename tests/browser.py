"""A real browser for tests: Debian's Chromium driven by Playwright, with no network.

Playwright's own browser download does not work here, so tests launch the system Chromium
(``./dev setup`` installs it when run as root). The flags keep Chromium from reaching out
to Google's services, which on a closed network makes it hang.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, Request, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
MISSING = f"{CHROMIUM} is absent: install Debian's chromium (./dev setup does it as root)"


def chromium_available() -> bool:
    """Whether the system Chromium the tests drive is installed."""
    return CHROMIUM.is_file()


@contextmanager
def launch() -> Iterator[Browser]:
    """Start the system Chromium headless; close it and Playwright on leaving."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(ARGS))
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def new_page(browser: Browser, *, width: int = 1280, height: int = 900) -> Iterator[Page]:
    """A page in a fresh context (no cookies or cache shared with other tests)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        yield context.new_page()
    finally:
        context.close()


def record_requests(page: Page) -> list[str]:
    """Start recording the URL of every request the page makes; returns the growing list."""
    urls: list[str] = []

    def seen(request: Request) -> None:
        urls.append(request.url)

    page.on("request", seen)
    return urls
