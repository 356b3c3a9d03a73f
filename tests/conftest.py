"""Fixtures shared by every test: a live sandbox over real HTTP, and the dashboard pointed at it."""

import logging
import os
import shutil
import uuid
from pathlib import Path

import pytest
from django.test.utils import override_settings

from tests.sandbox_process import RUN_ENV, drop_templates, start_sandbox


def pytest_configure(config):
    """Name the run, so its sandboxes (one per xdist worker, which inherit the name) share the
    databases they copy theirs from."""
    if not hasattr(config, "workerinput"):
        os.environ.setdefault(RUN_ENV, uuid.uuid4().hex[:12])


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput") and os.environ.get(RUN_ENV):
        drop_templates(os.environ.pop(RUN_ENV))


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Real hashing costs ~0.3 s per sign-in; the tests sign in hundreds of times."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True, scope="session")
def _short_waits():
    """Waits meant for real upstreams: every injected 5xx would otherwise cost 0.2 + 0.4 s of
    backoff, and every polled task 0.2 s of spacing (the sandbox's rate limits are off)."""
    with override_settings(UPSTREAM_RETRY_BACKOFF=0.01, TASK_POLL_SPACING=0.01):
        yield


class _RecordEverything(logging.Handler):
    """Keeps every log record of the run, formatted as it was emitted, with the test that emitted it.

    Identical lines are kept once (most DEBUG lines of httpcore repeat), which keeps a whole run's
    worth in memory cheap.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: dict[str, str] = {}  # formatted record -> the first test that logged it

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted may still hold a secret in its parts
            text = f"{record.levelname} {record.name}: {record.msg!r} % {record.args!r}"
        self.lines.setdefault(text, os.environ.get("PYTEST_CURRENT_TEST", "(outside a test)"))


def _leaks(lines: dict[str, str], secrets: set[str]) -> list[str]:
    """One sentence per (secret, record) found, the secret itself replaced so the report leaks nothing."""
    text = "\n".join(lines)
    found = []
    for secret in secrets:
        if secret not in text:  # one scan of the whole run per secret; records only on a hit
            continue
        for line, test in lines.items():
            if secret in line:
                shown = line.replace(secret, f"[{secret[:4]}… REGISTERED SECRET]")
                found.append(f"  during {test}:\n    {shown[:500]}")
    return found


@pytest.fixture(autouse=True, scope="session")
def _no_secret_in_any_log():
    """Capture every log record of the run (all loggers, DEBUG included) and fail the run if a secret
    the test helpers handed out (tests.helpers.watch_secret) appears in any of them."""
    from tests.helpers import WATCHED_SECRETS

    handler = _RecordEverything()
    root = logging.getLogger()
    loggers = [root] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    levels = {logger: logger.level for logger in loggers}
    usual = {logger.name: logger.getEffectiveLevel() for logger in loggers}

    def as_usual(record: logging.LogRecord) -> bool:
        """The console shows what it showed before the levels were lowered, no DEBUG flood."""
        name = record.name
        while name not in usual and "." in name:
            name = name.rsplit(".", 1)[0]
        return record.levelno >= usual.get(name, usual["root"])

    consoles = [
        h
        for h in root.handlers
        if isinstance(h, logging.StreamHandler) and not type(h).__module__.startswith("_pytest")
    ]
    for console in consoles:
        console.addFilter(as_usual)
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    # Loggers that do not propagate would bypass a handler on the root alone.
    detached = [logger for logger in loggers if not logger.propagate]
    root.addHandler(handler)
    for logger in detached:
        logger.addHandler(handler)
    yield
    root.removeHandler(handler)
    for logger in detached:
        logger.removeHandler(handler)
    for logger, level in levels.items():
        logger.setLevel(level)
    for console in consoles:
        console.removeFilter(as_usual)

    leaks = _leaks(handler.lines, WATCHED_SECRETS)
    if leaks:
        pytest.fail(
            f"{len(leaks)} captured log record(s) contain a secret handed out by the test helpers "
            f"({len(handler.lines)} distinct records checked against {len(WATCHED_SECRETS)} secrets):\n"
            + "\n".join(leaks[:20]),
            pytrace=False,
        )


@pytest.fixture(scope="session")
def sandbox():
    """One sandbox for the whole run (for each xdist worker), quiet by default (no simulated
    activity, no rate limits)."""
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


@pytest.fixture(scope="module")
def _cast_users(sandbox):
    """The Nexical users who play the casts of one module (each test's cast has its own team)."""
    from tests.orchestrator_cast import cast_users

    return cast_users(sandbox)


@pytest.fixture
def cast(sandbox, _cast_users):
    """A team in the live sandbox with an owner, an admin, a member and an outsider: a new team and
    new dashboard users for each test, played by the module's Nexical users."""
    from tests.orchestrator_cast import make_cast

    return make_cast(sandbox, _cast_users)


@pytest.fixture
def own_cast(sandbox):
    """A cast played by Nexical users of its own, for a test that spoils them (revokes their tokens)."""
    from tests.orchestrator_cast import make_cast

    return make_cast(sandbox)
