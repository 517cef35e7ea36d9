"""Playwright for Python driving Debian's chromium, for the end-to-end tests of the dashboard.

Playwright's own browser download is never used: the tests launch /usr/bin/chromium. Without
it they are skipped, except in CI (CI=true), where a missing browser is a failure."""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def allow_orm_beside_playwright():
    """Playwright's sync API keeps an asyncio event loop running in the test thread while it
    is started, so Django would refuse every ORM call made there (fixtures, assertions on the
    database) with SynchronousOnlyOperation. Those calls never run concurrently with the
    loop's work, so allow them; only while these browser tests run, so that the rest of the
    suite keeps Django's check."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the browser tests.", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(allow_orm_beside_playwright):
    """One chromium per test module, closed (and Playwright's event loop with it) before the
    next module runs."""
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        _unavailable(f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Opens a page in a fresh browser context (no cookies), pointed at the live server;
    `new_page(java_script_enabled=False)` for one without JavaScript, `new_page(viewport=…)`
    for another screen size."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(**{"viewport": VIEWPORT, **options}, base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def screenshot(tmp_path):
    """Full-page screenshots: into docs/screenshots/ with UPDATE_SCREENSHOTS=1 (`make
    screenshots`), otherwise into the test's temporary folder, so a test run leaves the
    work tree clean."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path

    def save(page, name: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def task_worker(live_server):
    """A worker beside the live server: the imports run as tasks."""
    from tests.tasks import worker_thread

    with worker_thread() as worker:
        yield worker
