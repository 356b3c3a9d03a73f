"""Fixtures shared by every test: a live sandbox over real HTTP, and the dashboard pointed at it."""

import os
import shutil
from pathlib import Path

import pytest
from django.test.utils import override_settings

from tests.sandbox_process import start_sandbox


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Real hashing costs ~0.3 s per sign-in; the tests sign in hundreds of times."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(scope="session")
def sandbox():
    """One sandbox for the whole run, quiet by default (no simulated activity, no rate limits)."""
    server = start_sandbox(seed=True)
    override = override_settings(NEXICAL_API_URL=server.nexical_url, NEXUSTOKEN_API_URL=server.nexustoken_url)
    override.enable()
    yield server
    override.disable()
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_knobs(request):
    """Every test starts with the sandbox's knobs at their defaults, and leaves them so."""
    if "sandbox" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("sandbox")
    server.reset_knobs()
    yield
    server.reset_knobs()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def chromium_path() -> str | None:
    """Debian's Chromium where present; None lets Playwright use its own download."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser(monkeypatch_module):
    """One Chromium per test module: Playwright's sync API keeps an event loop running in this
    thread for as long as it lives, which would stop pytest-asyncio's tests in later modules."""
    from playwright.sync_api import sync_playwright

    # The ORM calls the tests make between browser steps are still plain synchronous calls.
    monkeypatch_module.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.fixture
def shoot(tmp_path):
    """Screenshot the page for the README: into docs/screenshots with UPDATE_SCREENSHOTS=1
    (`make screenshots`), else into the test's temporary folder so a test run leaves git clean."""
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path

    def take(page, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar would otherwise cover the middle
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
