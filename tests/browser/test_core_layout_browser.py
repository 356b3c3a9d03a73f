"""The layout in a real browser: in-page (htmx) actions leave no errors in the console."""

import pytest

from tests.support.helpers import connected_user, sign_in

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_it_logs_no_htmx_error_on_in_page_actions(live_server, page, sandbox):
    user, _ = connected_user(sandbox)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    sign_in(page, live_server.url, user)
    page.goto(f"{live_server.url}/settings/profile/")
    assert page.locator("main > .messages").count() == 1  # the out-of-band target is always there

    # Twice: the first answer must leave a target for the second one's out-of-band swap.
    for name in ("Grace Hopper", "Ada Lovelace"):
        page.get_by_label("Full name").fill(name)
        page.get_by_role("button", name="Save profile").click()
        page.locator("#profile-name").get_by_text(name).wait_for()
        page.get_by_text("Profile saved.").wait_for()
        assert page.locator("main > .messages").count() == 1

    assert page.url == f"{live_server.url}/settings/profile/"  # in place, no page load
    assert not [text for text in console if "htmx" in text.lower() or "error" in text.lower()], console
