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


@pytest.fixture(autouse=True, scope="session")
def _no_secret_in_any_log():
    """Fail the run if a secret handed out during it (tests.leak_check registers every one) appears in
    any log record: every logger at its usual level, the ones that can carry a secret at DEBUG."""
    from tests.leak_check import WATCHED_SECRETS, find_leaks, recording_logs, watch_secret, watching_responses
    from tests.sandbox_process import ADMIN_TOKEN

    watch_secret(ADMIN_TOKEN)  # every sandbox the tests start shares it
    with watching_responses(), recording_logs() as recorder:
        yield recorder
    leaks = find_leaks(recorder.lines, WATCHED_SECRETS)
    if leaks:
        pytest.fail(
            f"{len(leaks)} captured log record(s) contain a secret handed out during the run "
            f"({len(recorder.lines)} distinct records checked against {len(WATCHED_SECRETS)} secrets):\n"
            + "\n".join(leaks[:20]),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def sandbox():
    """One sandbox for the whole run, quiet by default (no simulated activity, no rate limits)."""
    from tests.helpers import watch_secret

    server = start_sandbox(seed=True)
    watch_secret(server.admin_token)
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


@pytest.fixture
def cast(sandbox):
    """A team in the live sandbox with an owner, an admin, a member and an outsider."""
    from tests.orchestrator_cast import make_cast

    return make_cast(sandbox)
