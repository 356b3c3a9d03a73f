"""In a real browser: the invitation page sends the user to connect Nexical, and connecting brings
them back to the invitation, with htmx (the card's form posts `next`) and without JavaScript."""

import re

import pytest

from dashboard.accounts.models import Connection, Service
from tests.support.helpers import dashboard_user, new_nexical_user, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("javascript", [True, False])
def test_it_comes_back_to_the_invitation_after_connecting(live_server, browser, sandbox, javascript):
    user = dashboard_user()
    upstream = new_nexical_user(sandbox, full_name="Katherine Johnson")
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": 390, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server.url, user)
        page.goto(f"{live_server.url}/invites/accept/")
        page.get_by_role("link", name="Connect Nexical").click()
        page.wait_for_url(f"{live_server.url}/settings/connections/?next=/invites/accept/#nexical")

        card = page.locator("#nexical")
        card.get_by_label("API token").fill(upstream["token"])
        card.get_by_role("button", name="Check and connect").click()

        # A redirect keeps the fragment of the address it answered (#nexical) when it has none of its own.
        page.wait_for_url(re.compile(rf"^{re.escape(live_server.url)}/invites/accept/(#nexical)?$"))
        page.get_by_text("Nexical connected as Katherine Johnson.").wait_for()
        assert page.locator("#invite-connect-first").count() == 0  # the page now offers to accept
        assert Connection.objects.get(user=user, service=Service.NEXICAL).secret == upstream["token"]
    finally:
        context.close()
