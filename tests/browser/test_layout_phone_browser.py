"""The layout on a phone and a desktop, in a real browser: no signed-in page is wider than the window,
the main nav stays reachable, and a long button label stays inside its box."""

import pytest

from tests.pages.connections.test_connections_nexustoken import connect
from tests.support.helpers import dashboard_user, new_nexustoken_account, sign_in

pytestmark = pytest.mark.browser

PAGES = ("/", "/teams/", "/tasks/", "/credits/", "/deployments/", "/notifications/")


def _sign_in(browser, live_server, user, width: int, *, check_signed_out: bool = False):
    context = browser.new_context(viewport={"width": width, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    if check_signed_out:
        page.goto(f"{live_server.url}/accounts/login/")
        assert _width(page) <= width  # signed out, the bar holds the brand and two links
        assert page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign in").is_visible()
    sign_in(page, live_server.url, user)
    page.goto(f"{live_server.url}/")
    return context, page


def _width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390, 1280])
def test_it_fits_every_signed_in_page_in_the_window(live_server, browser, sandbox, cast, shoot, width):
    user = cast.owner.user
    connect(user, new_nexustoken_account(sandbox))
    context, page = _sign_in(browser, live_server, user, width, check_signed_out=True)
    try:
        for path in (*PAGES, f"/teams/{cast.team['id']}/"):
            page.goto(f"{live_server.url}{path}")
            page.locator("main h1").first.wait_for()
            assert _width(page) <= width, f"{path} is {_width(page)} px wide in a {width} px window"
            nav = page.get_by_role("navigation", name="Main")
            for name in ("Teams", "Deployments", "Tasks", "Credits"):
                assert nav.get_by_role("link", name=name, exact=True).is_visible()
            assert page.locator("#bell").is_visible()
            assert page.locator(".usermenu summary").is_visible()
            shoot(page, f"layout{path.replace('/', '-').rstrip('-') or '-home'}-{width}")
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_nav_on_the_brand_row_at_desktop_width(live_server, browser, sandbox, cast):
    context, page = _sign_in(browser, live_server, cast.owner.user, 1280)
    try:
        brand = page.locator(".brand").bounding_box()
        nav = page.get_by_role("navigation", name="Main").bounding_box()
        assert abs((brand["y"] + brand["height"] / 2) - (nav["y"] + nav["height"] / 2)) < 4
        assert page.locator(".topbar").bounding_box()["height"] <= 57
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_it_puts_the_main_nav_in_its_own_row_on_a_phone(live_server, browser, sandbox, cast):
    context, page = _sign_in(browser, live_server, cast.owner.user, 390)
    try:
        brand = page.locator(".brand").bounding_box()
        nav = page.get_by_role("navigation", name="Main").bounding_box()
        assert nav["y"] >= brand["y"] + brand["height"]
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Credits").click()
        page.wait_for_url(f"{live_server.url}/credits/")
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_connect_button_inside_its_box_on_a_phone(live_server, browser, sandbox):
    user = dashboard_user()  # no connection: /tasks/ asks to connect NexusToken
    context, page = _sign_in(browser, live_server, user, 390)
    try:
        page.goto(f"{live_server.url}/tasks/")
        button = page.get_by_role("link", name="Connect NexusToken")
        box, outer = button.bounding_box(), page.locator("#page-body").bounding_box()
        assert box["x"] >= outer["x"] and box["x"] + box["width"] <= outer["x"] + outer["width"]
        assert button.evaluate("e => e.scrollWidth <= e.clientWidth")
        assert _width(page) <= 390
        button.click()
        page.wait_for_url(f"{live_server.url}/settings/connections/?next=/tasks/#nexustoken")
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
def test_it_applies_the_whole_stylesheet(live_server, browser, sandbox, cast):
    """One unclosed rule once swallowed every rule after it (the deployment filters, the bell's colour)."""
    context, page = _sign_in(browser, live_server, cast.owner.user, 1280)
    try:
        page.goto(f"{live_server.url}/deployments/")
        assert page.locator("#deployment-filters").evaluate("e => getComputedStyle(e).display") == "flex"
        bell = page.locator("#bell").evaluate("e => getComputedStyle(e).color")
        nav = page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks")
        assert bell == nav.evaluate("e => getComputedStyle(e).color")  # muted like the nav, not link blue
    finally:
        context.close()
