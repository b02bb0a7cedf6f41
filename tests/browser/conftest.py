"""Browser tests: a real headless Chromium (Playwright) on the live server, the Celery worker and the sandbox.

One browser for all the browser tests; one context (cookies, downloads) per user. Each main page is checked
with axe-core and saved as a full-page screenshot in docs/screenshots/.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings as django_settings

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 900}
SCREENSHOTS = Path(django_settings.BASE_DIR) / "docs" / "screenshots"
# axe-core impacts that fail a test; "moderate" and "minor" ones are printed only.
BLOCKING_IMPACTS = ("serious", "critical")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Without Chromium: skipped locally (with the reason), failed in CI (CI=true); before any fixture starts."""
    if item.get_closest_marker("browser") is None or os.access(CHROMIUM, os.X_OK):
        return
    reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}: the browser tests must run in CI.", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for every browser test.

    Playwright's sync API keeps an asyncio loop marked as running in the main thread while it lives: the ORM
    calls of the tests (and the database flush after each) would be refused as "async unsafe" meanwhile.
    The flag is set only for that time, so the other tests keep Django's check.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def portal(live_server, settings, sandbox, celery_worker, faults):
    """The live server's address, its upstreams pointed at the sandbox (the worker's already are)."""
    settings.API_ENTREPRISE_BASE_URL = sandbox.base_url
    settings.BODACC_BASE_URL = f"{sandbox.base_url}/bodacc/api/explore/v2.1"
    settings.API_ENTREPRISE_TOKEN = "sandbox-token"
    settings.SITE_URL = live_server.url
    return live_server.url


@pytest.fixture
def new_page(browser):
    """`new_page()` opens a page in a fresh context (its own cookies: one per user); closed after the test.

    Every console message of a Content Security Policy violation fails the test: the pages must live without
    inline scripts, styles or handlers (passemarche/settings/base.py, CONTENT_SECURITY_POLICY).
    """
    contexts = []
    violations: list[str] = []

    def on_console(message) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            violations.append(f"{message.page.url if message.page else ''}: {message.text}")

    def open_page():
        context = browser.new_context(
            viewport=VIEWPORT, locale="fr-FR", timezone_id="Europe/Paris", accept_downloads=True
        )
        context.set_default_timeout(15_000)
        context.on("console", on_console)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    assert not violations, "Content Security Policy violations:\n" + "\n".join(violations)


@dataclass
class Audit:
    """axe-core on a page, and its screenshot; blocking violations are asserted at the end of the test."""

    blocking: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    def check(self, page, name: str, *, screenshot: str | None = None) -> None:
        from axe_playwright_python.sync_playwright import Axe

        page.wait_for_load_state("load")
        if screenshot:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{screenshot}.png"), full_page=True)
        results = Axe().run(page)
        self.pages.append(name)
        violations = results.response["violations"]
        print(f"axe [{name}] {page.url}: {len(violations)} violation(s)")
        for violation in violations:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
            line = (
                f"[{name}] {violation['id']} ({violation['impact']}): {violation['help']} — "
                f"{len(targets)} node(s): {'; '.join(targets[:8])}"
            )
            print(f"axe {line}")
            if violation["impact"] in BLOCKING_IMPACTS:
                self.blocking.append(line)

    def assert_clean(self) -> None:
        assert not self.blocking, "axe-core serious/critical violations:\n" + "\n".join(self.blocking)


@pytest.fixture
def audit():
    return Audit()
