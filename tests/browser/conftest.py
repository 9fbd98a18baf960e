"""Playwright (Python) driving Debian's Chromium against pytest-django's live server."""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run beside one
# unless told it is fine (the ORM calls here are the test's own, not inside the loop).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOT_DIR = Path(
    os.environ.get("MENDIAN_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots")
)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (bin/test does).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _context(browser, viewport, **kwargs):
    context = browser.new_context(viewport=viewport, locale="zh-CN", **kwargs)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture
def phone_page(browser):
    context = _context(browser, PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop_page(browser):
    context = _context(browser, DESKTOP)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def new_page(browser):
    """Factory for extra pages (another user in the same test), closed at the end."""
    contexts = []

    def make(viewport=PHONE, **kwargs):
        context = _context(browser, viewport, **kwargs)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    """screenshot(page, "name") saves var/screenshots/name.png (full page) for people to look at."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, full_page: bool = True):
        path = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
