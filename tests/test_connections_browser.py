"""In a real browser: sign in, paste a Nexical token, see who it belongs to (htmx swaps the card)."""

import pytest

from tests.helpers import PASSWORD, dashboard_user, new_nexical_user


@pytest.mark.django_db(transaction=True)
def test_it_connects_nexical_in_the_browser(live_server, page, sandbox, shoot):
    user = dashboard_user()
    upstream = new_nexical_user(sandbox, full_name="Margaret Hamilton")

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
