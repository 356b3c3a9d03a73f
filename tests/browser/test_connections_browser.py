"""In a real browser: sign in, paste a Nexical token, see who it belongs to (htmx swaps the card)."""

import pytest

from dashboard.accounts.models import Connection
from tests.pages.connections.test_connections_nexustoken import connect
from tests.support.helpers import (
    PASSWORD,
    connected_user,
    dashboard_user,
    new_nexical_user,
    new_nexustoken_account,
    sign_in,
)

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_it_connects_nexical_in_the_browser(live_server, page, sandbox, shoot):
    user = dashboard_user()
    upstream = new_nexical_user(sandbox, full_name="Margaret Hamilton")

    # Through the sign-in form, the one browser test that does: the others are given a session.
    page.goto(f"{live_server.url}/settings/connections/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/settings/connections/")

    card = page.locator("#nexical")
    card.get_by_label("API token").fill(upstream["token"])
    card.get_by_role("button", name="Check and connect").click()

    # htmx replaced the card in place: no page load, the other card is untouched.
    connected = page.locator("#nexical")
    connected.get_by_text("Nexical connected as Margaret Hamilton.").wait_for()
    assert page.url == f"{live_server.url}/settings/connections/"
    assert connected.get_by_text(upstream["user"]["email"]).is_visible()
    assert connected.get_by_text("Connected", exact=True).is_visible()
    assert upstream["token"] not in page.content()

    shoot(page, "connections")


def _sign_in(page, live_server, user) -> None:
    sign_in(page, live_server.url, user)
    page.goto(f"{live_server.url}/settings/connections/")


@pytest.mark.django_db(transaction=True)
def test_it_asks_before_rotating_the_key_without_javascript(live_server, browser, sandbox, tmp_path):
    user = dashboard_user()
    account = new_nexustoken_account(sandbox)
    connect(user, account)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, live_server, user)
        card = page.locator("#nexustoken")
        card.get_by_role("link", name="Rotate the key").click()
        # A page load, not a script: the same page with the question open, nothing rotated yet.
        page.wait_for_url("**/settings/connections/?confirm=nexustoken_rotate")
        dialog = page.get_by_role("dialog", name="Rotate your NexusToken API key?")
        assert dialog.is_visible()
        assert Connection.objects.get(user=user).secret == account["api_key"]

        dialog.get_by_role("button", name="Rotate the key").click()
        page.locator("#nexustoken-new-key").wait_for()
        new_key = page.locator("#nexustoken-new-key").inner_text()
        assert new_key != account["api_key"]
        assert Connection.objects.get(user=user).secret == new_key
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_it_lays_out_the_connections_page(live_server, browser, sandbox, shoot, width):
    user, _ = connected_user(sandbox)
    connect(user, new_nexustoken_account(sandbox))
    context = browser.new_context(viewport={"width": width, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        _sign_in(page, live_server, user)
        page.locator("#nexustoken").get_by_text("credits available").wait_for()
        # Nothing runs out of the window sideways, on a phone either.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.locator("#nexustoken").get_by_role("link", name="Rotate the key").click()
        dialog = page.get_by_role("dialog", name="Rotate your NexusToken API key?")
        dialog.wait_for()
        assert page.url.endswith("/settings/connections/")  # JS opened the dialog: no page load
        shoot(page, f"connections-rotate-{width}")
        dialog.get_by_role("link", name="Cancel").click()
        assert not dialog.is_visible()
        shoot(page, f"connections-{width}")
    finally:
        context.close()
