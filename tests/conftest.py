"""Fixtures shared by every test: a live sandbox over real HTTP, and the dashboard pointed at it."""

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import respx.mocks
from django.test.utils import override_settings

from tests.support.sandbox_process import RUN_ENV, drop_templates, start_sandbox

# respx fakes answers by default inside httpcore, which the upstream clients no longer use
# (dashboard/services/transport.py): it fakes them at httpx's client instead, before any transport.
respx.mocks.DEFAULT_MOCKER = respx.mocks.HTTPXMocker.name


def pytest_configure(config):
    """Name the run, so its sandboxes (one per xdist worker, which inherit the name) share the
    databases they copy theirs from."""
    if not hasattr(config, "workerinput"):
        os.environ.setdefault(RUN_ENV, uuid.uuid4().hex[:12])
    _sqlite_test_database_in_a_file()


def _sqlite_test_database_in_a_file():
    """On SQLite, the test database is a file (one per xdist worker: pytest-django appends _gw0…), as
    in production, not Django's in-memory default. Every thread then has its own connection: the
    request threads of a live server, uvicorn's, the live watcher's. In memory they must share the
    test's one connection, and two threads using it at once fail ("bad parameter or other API
    misuse") or wait on each other's transactions. Nothing waits for the disk: a test rolls back,
    and the file is dropped at the end."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return
    database.setdefault("TEST", {})["NAME"] = str(_test_database(os.environ[RUN_ENV]))
    database["OPTIONS"]["init_command"] += ";PRAGMA synchronous=OFF"  # Django skips empty statements


def _test_database(run: str) -> Path:
    return Path(tempfile.gettempdir()) / f"nexus-dashboard-test-{run}.sqlite3"


def pytest_unconfigure(config):
    if not hasattr(config, "workerinput") and os.environ.get(RUN_ENV):
        run = os.environ.pop(RUN_ENV)
        drop_templates(run)
        # Django drops the test databases; SQLite leaves their -wal and -shm files when threads of the
        # workers still held connections as they ended.
        database = _test_database(run)
        for leftover in database.parent.glob(f"{database.name}*"):
            leftover.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, and at the end of the run, on PostgreSQL, every other session
    on the test database ended before it is dropped. Threads of this process still hold connections
    there (the request threads dashboard.core.request_threads keeps, asgiref's executors, the pool),
    which made dropping it fail with a warning ("is being accessed by other users")."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        connection = connections["default"]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Real hashing costs ~0.3 s per sign-in; the tests sign in hundreds of times."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True, scope="session")
def _strict_audit():
    """A caller that hands record() a detail key looking like a secret fails its test (production
    drops the key with a warning instead)."""
    with override_settings(AUDIT_STRICT=True):
        yield


@pytest.fixture(autouse=True, scope="session")
def _one_tls_context():
    """Every httpx client the tests make shares one TLS context. Each new client reads the CA bundle
    (about 30 ms of CPU), and the helpers make hundreds (`httpx.post` makes one per call): that was
    a third of the workers' CPU. They all talk plain HTTP to the sandbox anyway. (The dashboard's and
    the sandbox's own clients share one already: dashboard.services.http.tls_context.)"""
    from httpx._transports import default

    # The transport module's own name for it (not re-exported, hence the ignore) is the one to replace.
    shared, create = default.create_ssl_context(), default.create_ssl_context  # type: ignore[attr-defined]

    def create_once(verify=True, cert=None, trust_env=True):
        return shared if verify is True and cert is None and trust_env else create(verify, cert, trust_env)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(default, "create_ssl_context", create_once)
        yield


@pytest.fixture(autouse=True, scope="session")
def _short_waits():
    """Waits meant for real upstreams: every injected 5xx would otherwise cost 0.2 + 0.4 s of
    backoff, and every polled task 0.2 s of spacing (the sandbox's rate limits are off)."""
    with override_settings(UPSTREAM_RETRY_BACKOFF=0.01, TASK_POLL_SPACING=0.01):
        yield


@pytest.fixture(autouse=True, scope="session")
def _no_secret_in_any_log():
    """Fail the run if a secret handed out during it (tests.support.leak_check registers every one) appears in
    any log record: every logger at its usual level, the ones that can carry a secret at DEBUG."""
    from tests.support.leak_check import (
        WATCHED_SECRETS,
        find_leaks,
        recording_logs,
        watch_secret,
        watching_responses,
    )
    from tests.support.sandbox_process import ADMIN_TOKEN

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
    """One sandbox for the whole run (for each xdist worker), quiet by default (no simulated
    activity, no rate limits)."""
    from tests.support.helpers import watch_secret

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


@pytest.fixture(autouse=True)
def _closed_breakers():
    """An upstream that one test made time out is not treated as down in the next: every test
    starts and ends with every circuit breaker of this process closed and forgotten."""
    from dashboard.services import breaker

    breaker.reset()
    yield
    breaker.reset()


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
        new_context = browser.new_context

        def calm_context(**options):
            # As a person who asked for less motion (Playwright emulates "no-preference" otherwise):
            # no endless animation (the running badge's pulse, a spinner) redrawn at every frame in
            # every open page, which cost more CPU than the rest of a page with live tabs; and no
            # check (axe's contrast, a screenshot) lands halfway through a fade.
            return new_context(**{"reduced_motion": "reduce", **options})

        browser.new_context = calm_context  # type: ignore[method-assign]  # every context, however made
        yield browser
        browser.close()


ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
REVIEW_SCREENSHOTS = ROOT / "test-results" / "screenshots"  # git-ignored


@pytest.fixture
def shoot():
    """Screenshot the page, only when refreshing them (UPDATE_SCREENSHOTS=1, as `make screenshots`
    sets): a full-page screenshot costs a test up to a second, and an ordinary run looks at none.
    The README's pictures go to docs/screenshots; the others (phone widths, pages without
    JavaScript) are for a person to look over, in test-results/screenshots."""
    if os.environ.get("UPDATE_SCREENSHOTS") != "1":
        return lambda page, name: None
    readme = (ROOT / "README.md").read_text()

    def take(page, name: str) -> None:
        folder = SCREENSHOTS if f"screenshots/{name}.png" in readme else REVIEW_SCREENSHOTS
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
    from tests.support.orchestrator_cast import cast_users

    return cast_users(sandbox)


@pytest.fixture
def cast(sandbox, _cast_users):
    """A team in the live sandbox with an owner, an admin, a member and an outsider: a new team and
    new dashboard users for each test, played by the module's Nexical users."""
    from tests.support.orchestrator_cast import make_cast

    return make_cast(sandbox, _cast_users)


@pytest.fixture
def own_cast(sandbox):
    """A cast played by Nexical users of its own, for a test that spoils them (revokes their tokens)."""
    from tests.support.orchestrator_cast import make_cast

    return make_cast(sandbox)
