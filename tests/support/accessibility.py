"""What the accessibility tests share: the pages (a new page is one line in PAGES), the demo-like scene
they are seen in, and the axe and reflow checks. The signed-in tests are one file per device
(tests/browser/test_accessibility_{desktop,phone}_browser.py), so that the suite's workers run them
side by side.

One browser context per device visits every page in a loop and collects what it finds, so one failure
lists every page's problems at once. The phone visit checks each page at 390 px, then narrows the
window to 320 px (the narrowest phone) for what the width changes.
"""

import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.accounts.connections import save_connection
from dashboard.accounts.models import Service
from dashboard.channels.models import Channel, Delivery, DeliveryStatus, Event, Kind
from dashboard.nexustoken.models import Purchase, Status, Task
from tests.support.credits_cast import SUCCESS_CARD, pay
from tests.support.helpers import PASSWORD, new_nexustoken_account, sign_in, unique, watch_secret
from tests.support.orchestrator_cast import Cast, make_cast, upstream_user
from tests.support.tasks_cast import task_fields
from tests.support.tracking_helpers import Branch
from tests.support.two_factor import code_from_uri

DESKTOP, PHONE, NARROWEST = 1280, 390, 320
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

# Rules switched off, each with its reason. Empty: every rule of the tags above runs.
DISABLED_RULES: dict[str, str] = {}
# The stylesheet has no breakpoint between 320 and 390 px (its narrowest is 560 px), so at 320 px a page
# has the same rules and colours as at 390 and only what depends on the boxes' geometry can change:
# targets squeezed together, a region that now scrolls, content wider than the window (the reflow
# check). Running every rule again there cost a quarter of the accessibility tests' time for nothing.
GEOMETRY_RULES = ["target-size", "scrollable-region-focusable"]

# The README's phone screenshots, taken on the way at 390 px (only with UPDATE_SCREENSHOTS=1).
PHONE_SHOTS = {"team": "team-390", "job": "job-390", "task form": "task-form-390", "credits": "credits-390"}


# --- steps: what a person does on a page to reach a state worth checking ---------------------------


def choose_a_starter(page, scene: "Scene") -> None:
    """The task form filled by a task type's starter (empty fields only: no dialog asks)."""
    page.get_by_label("Task type").select_option("text_classification")
    page.locator("#starter-summary").filter(has_text=re.compile(r"\S")).wait_for()


def start_two_factor(page, scene: "Scene") -> None:
    """Settings > Security at "Set up two-factor": the QR code, the otpauth:// address and the key."""
    page.get_by_role("button", name="Set up two-factor").click()
    page.locator("#totp-uri").wait_for()
    watch_secret(page.locator("#totp-key").inner_text())


def turn_on_two_factor(page, scene: "Scene") -> None:
    """Two-factor confirmed with the app's code: the ten recovery codes, shown this once."""
    start_two_factor(page, scene)
    uri = page.locator("#totp-uri").inner_text()
    page.get_by_label("Code from the app").fill(code_from_uri(uri))
    page.get_by_role("button", name="Turn on two-factor").click()
    for code in page.locator("#recovery-codes-list").inner_text().split():
        watch_secret(code)


# No htmx request or swap under way, and no CSS transition running (the fades of .htmx-swapping).
SETTLED = """() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')
    && !document.getAnimations().some((animation) => animation instanceof CSSTransition)"""


def add_a_webhook_channel(page, scene: "Scene") -> None:
    """A generic webhook channel added: its signing secret, shown this once."""
    page.get_by_text("Add a channel").click()
    page.fill("#channel_name", "Deploy bot")
    page.check("input[name=kind][value=webhook]")
    page.fill("#channel_url", "http://127.0.0.1:9/deploys")
    page.click("button[name=create]")
    watch_secret(page.locator("#new-secret-value").inner_text())


def password_only(page, scene: "Scene") -> None:
    """Another browser of the same user (two-factor on by now): the right password leads to the
    second step, where the session is half signed in and reaches nothing else."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
    page.context.clear_cookies()
    page.goto(f"{origin}/accounts/login/")
    page.get_by_label("Username").fill(scene.cast.owner.user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/two-factor/**")


type Step = Callable[[Any, "Scene"], None]

# Every page of README's pages table: (name, path template) or (name, path template, step). Signed-in
# paths are filled from the Scene. The security steps come last, in this order: two-factor is off,
# then set up, then on (the second step needs it on).
SIGNED_IN_PAGES: list[tuple[str, str] | tuple[str, str, Step]] = [
    ("home", "/"),
    ("teams", "/teams/"),
    ("team", "/teams/{team}/"),
    ("invite accept", "/invites/accept/"),
    ("project", "/teams/{team}/projects/{project}/"),
    ("branch", "/teams/{team}/projects/{project}/branches/{branch}/"),
    ("job", "/teams/{team}/projects/{project}/branches/{branch}/jobs/{job}/"),
    ("run again", "/teams/{team}/projects/{project}/branches/{branch}/jobs/{job}/run-again"),
    ("team audit log", "/teams/{team}/audit/"),
    ("channels", "/teams/{team}/channels/"),
    ("channel", "/teams/{team}/channels/{channel}/"),
    ("channels, a new secret", "/teams/{team}/channels/", add_a_webhook_channel),
    ("deployments", "/deployments/"),
    ("notifications", "/notifications/"),
    ("notification preferences", "/notifications/preferences/"),
    ("connections", "/settings/connections/"),
    ("api tokens", "/settings/tokens/"),
    ("profile", "/settings/profile/"),
    ("my audit log", "/settings/audit/"),
    ("device", "/device/"),
    ("system", "/system/"),
    ("tasks", "/tasks/"),
    ("task form", "/tasks/new/"),
    ("task form, a starter", "/tasks/new/", choose_a_starter),
    ("task", "/tasks/{task}/"),
    ("credits", "/credits/"),
    ("payment", "/credits/checkout/?session_id=cs_unknown"),
    ("purchases", "/credits/purchases/"),
    ("receipt", "/credits/purchases/{purchase}/receipt/"),
    ("usage", "/credits/usage/"),
    ("usage, 90 days", "/credits/usage/?range=90"),
    ("usage, a backwards range", "/credits/usage/?range=custom&start=2026-03-10&end=2026-03-01"),
    ("reputation", "/reputation/"),
    ("capabilities", "/capabilities/"),
    ("not found", "/no-such-page/"),
    ("security, two-factor off", "/settings/security/"),
    ("security, setting up", "/settings/security/", start_two_factor),
    ("security, recovery codes", "/settings/security/", turn_on_two_factor),
    ("security, two-factor on", "/settings/security/"),
    ("second step", "/accounts/two-factor/", password_only),  # signs this browser out: the last
]
SIGNED_OUT_PAGES = [
    ("sign in", "/accounts/login/"),
    ("sign up", "/accounts/signup/"),
    ("password reset", "/accounts/password_reset/"),
    ("password reset sent", "/accounts/password_reset/done/"),
    ("password reset link", "/accounts/reset/MQ/set-password/"),
    ("password reset complete", "/accounts/reset/done/"),
    ("not found", "/no-such-page/"),
]  # the "signed out" page follows a POST: the signed-in test ends there, through the user menu

# A wide element may overflow only if it scrolls on purpose and says so: a named, focusable region.
OVERFLOW_SCRIPT = """() => {
  const width = window.innerWidth;
  const said = e => e.closest('[role=region][aria-label][tabindex="0"]');
  const clipped = e => {  // inside a visually hidden element (.sr-only: a 1 px box that hides the rest)
    for (let a = e; a; a = a.parentElement) {
      if (a.getBoundingClientRect().width <= 1 && getComputedStyle(a).overflow === 'hidden') return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll('body *')].filter(e => {
    const box = e.getBoundingClientRect();
    return box.width > 0 && box.right > width + 1 && !said(e.parentElement || e);
  }).filter(e => !said(e) && !clipped(e));
  return {
    scrollWidth: document.documentElement.scrollWidth,
    width,
    wide: wide.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
      + (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\\s+/)[0] : '')),
  };
}"""


@dataclass
class Scene:
    cast: Cast
    ids: dict[str, object]

    def pages(self) -> list[tuple[str, str, Step | None]]:
        return [(name, path.format(**self.ids), *rest) for name, path, *rest in SIGNED_IN_PAGES]  # type: ignore[misc]


def demo_like_scene(sandbox) -> Scene:
    """A user like the demo one: a Nexical system account with a team (members, a pending invite,
    a notification channel with deliveries), a project with a branch and a job, an API token, and a
    NexusToken account with a posted task, a settled one, a paid purchase and a registered
    capability; signed in from a second browser too."""
    users = [upstream_user(sandbox, "system"), *(upstream_user(sandbox) for _ in range(3))]
    cast = make_cast(sandbox, users)
    owner = cast.api(cast.owner)
    newcomer = f"{unique('new')}@example.com"  # no Nexical account: a pending invitation
    owner.post(f"/teams/{cast.team['id']}/invites", {"email": newcomer, "role": "member"})
    owner.post("/auth/tokens", {"name": "ci", "scopes": ["read"]})
    project = cast.project()
    branch = cast.branch(project)
    job = cast.job(project, branch)
    tracked = Branch(cast, project, branch)
    tracked.track(cast.owner, job)  # on home and /deployments/, as if triggered from the dashboard
    account = new_nexustoken_account(sandbox)
    save_connection(
        cast.owner.user,
        Service.NEXUSTOKEN,
        secret=account["api_key"],
        webhook_secret=account["webhook_secret"],
        account_id=account["account_id"],
        account_label=account["email"],
    )
    client = Client()
    client.force_login(cast.owner.user)
    posted = client.post(reverse("nexustoken:task_new"), task_fields())
    assert posted.status_code == 302, posted.content.decode()[:2000]
    task = Task.objects.get(user=cast.owner.user)
    registered = client.post(
        "/capabilities/",
        {
            "name": "invoice_extraction",
            "category": "data",
            "input_mode": "text",
            "output_mode": "json",
            "price_nc": "12",
            "validation_mode": "deterministic",
            "description": "Totals and dates from invoices",
            "tags": "invoices",
            "register": "1",
        },
    )
    assert registered.status_code in (200, 302)
    channel = channel_with_deliveries(client, cast)
    purchase = paid_purchase(sandbox, client)
    Task.objects.create(  # settled a week ago: the usage page's charts and tables have a row
        user=cast.owner.user,
        task_id=str(uuid.uuid4()),
        task_type="text_classification",
        status=Status.SETTLED,
        budget=30,
        awarded_price=24,
        platform_fee=2,
        created_at=timezone.now() - timedelta(days=7, hours=1),
        settled_at=timezone.now() - timedelta(days=7),
    )
    elsewhere = Client(headers={"User-Agent": FIREFOX}, REMOTE_ADDR="198.51.100.23")
    elsewhere.force_login(cast.owner.user)
    elsewhere.get("/settings/profile/")  # a second row in Settings > Security's sessions
    httpx.get(sandbox.url, timeout=10)  # the sandbox is up before the browser starts
    ids = {"team": cast.team["id"], "project": project["id"], "branch": branch["id"], "job": job["id"]}
    more = {"task": task.task_id, "channel": channel.pk, "purchase": purchase.pk}
    return Scene(cast=cast, ids={**ids, **more})


FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def channel_with_deliveries(client: Client, cast: Cast) -> Channel:
    """A Slack channel added through the page (so the team's audit log has a row), with one delivery
    that arrived and one that failed for good."""
    added = client.post(
        reverse("orchestrator:team_channels", args=[cast.team["id"]]),
        {
            "name": "#deploys",
            "kind": Kind.SLACK,
            "url": "http://127.0.0.1:9/services/T000/B000/abc",
            "events": [Event.STARTED, Event.FAILED, Event.COMPLETED],
            "production_branch": "main",
            "create": "1",
        },
    )
    assert added.status_code in (200, 302), added.content.decode()[:2000]
    channel = Channel.objects.get(team_id=cast.team["id"])
    facts = {"team_id": cast.team["id"], "project_id": 1, "project_name": "shop", "branch_name": "main"}
    now = timezone.now()
    for job_id, event, status, code, error in (
        (9001, Event.FAILED, DeliveryStatus.FAILED, 500, "The receiver answered 500."),
        (9002, Event.COMPLETED, DeliveryStatus.SENT, 200, ""),
    ):
        Delivery.objects.create(
            channel=channel,
            event_id=job_id,
            event=event,
            facts=facts | {"job_id": job_id, "job_type": "deploy", "url": f"http://127.0.0.1/{job_id}/"},
            status=status,
            attempts=3 if status == DeliveryStatus.FAILED else 1,
            last_status_code=code,
            last_error=error,
            finished_at=now,
        )
    return channel


def paid_purchase(sandbox, client: Client) -> Purchase:
    """1,000 NC bought through the sandbox's Stripe checkout and recorded by the return page, as
    a person's purchase is; and an abandoned checkout beside it."""
    started = client.post(reverse("nexustoken:credits"), {"amount_credits": "1000", "checkout": "1"})
    assert started.status_code == 302, started.content.decode()[:2000]
    purchase = Purchase.objects.get(session_id=started["Location"].rsplit("/", 1)[-1])
    paid = pay(f"{sandbox.nexustoken_url}/checkout/{purchase.session_id}", SUCCESS_CARD)
    back = urlsplit(paid.headers["Location"])
    assert client.get(f"{back.path}?{back.query}").status_code == 200
    Purchase.objects.create(
        user=purchase.user, session_id=f"cs_gone_{uuid.uuid4().hex}", amount_credits=250, status="expired"
    )
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    return purchase


def axe_problems(page, axe: Axe, rules: list[str] | None = None) -> list[str]:
    """axe's violations: of every rule of TAGS, or of these rules only."""
    only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": TAGS}
    options = {
        "runOnly": only,
        "resultTypes": ["violations"],
        "rules": {rule: {"enabled": False} for rule in DISABLED_RULES},
    }
    results = axe.run(page, options=options)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + "; ".join(" ".join(node["target"]) for node in violation["nodes"][:4])
        for violation in results.response["violations"]
    ]


def overflow_problems(page) -> list[str]:
    measured = page.evaluate(OVERFLOW_SCRIPT)
    if measured["scrollWidth"] <= measured["width"] and not measured["wide"]:
        return []
    return [f"{measured['scrollWidth']} px wide in a {measured['width']} px window: {measured['wide']}"]


def checks(axe: Axe, width: int, shoot=None) -> Callable[[Any, str], list[str]]:
    """What is checked on each page at this device width: every axe rule; on a phone, at 320 px too,
    the geometry rules and the reflow check (see GEOMETRY_RULES)."""

    def check(page, name: str) -> list[str]:
        if shoot is not None and width == PHONE and name in PHONE_SHOTS:
            shoot(page, PHONE_SHOTS[name])
        problems = axe_problems(page, axe)
        if width == PHONE:
            page.set_viewport_size({"width": NARROWEST, "height": 800})
            narrow = axe_problems(page, axe, GEOMETRY_RULES) + overflow_problems(page)
            problems += [f"at {NARROWEST} px: {problem}" for problem in narrow]
            page.set_viewport_size({"width": PHONE, "height": 800})
        return problems

    return check


def visit_all(
    browser, base_url: str, width: int, pages, check, *, scene: Scene | None = None
) -> dict[str, list[str]]:
    """Open every page in one browser context of this width and collect what `check` finds."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    found: dict[str, list[str]] = {}
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        if scene is not None:
            sign_in(page, base_url, scene.cast.owner.user)
        for name, path, *step in pages:
            answer = page.goto(f"{base_url}{path}")
            if step:
                step[0](page, scene)
            page.locator("main").first.wait_for()
            # A step that posts through htmx dims the page body while it swaps (and fades it back):
            # audited then, the dimmed text fails the contrast check. Wait until it has settled.
            page.wait_for_function(SETTLED)
            problems = check(page, name)
            if answer is not None and answer.status >= 500:
                problems = [f"answered {answer.status}", *problems]
            if problems:
                found[f"{name} {path}"] = problems
    finally:
        context.close()
    return found


def report(found: dict[str, list[str]], width: int) -> str:
    at = f"{width} px (and {NARROWEST} px)" if width == PHONE else f"{width} px"
    lines = [f"{len(found)} page(s) at {at}:"]
    for where, problems in found.items():
        lines.append(f"  {where}")
        lines.extend(f"    - {problem}" for problem in problems)
    return "\n".join(lines)


@pytest.fixture
def scene(sandbox, live_server) -> Scene:
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one, where the
    # test client's async views refuse to run.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(demo_like_scene, sandbox).result()


def signed_in_problems(live_server, browser, scene: Scene, shoot, width: int) -> dict[str, list[str]]:
    """Every signed-in page at this device width (see checks)."""
    check = checks(Axe(), width, shoot)
    return visit_all(browser, live_server.url, width, scene.pages(), check, scene=scene)
