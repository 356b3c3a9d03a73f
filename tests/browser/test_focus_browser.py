"""Keyboard focus in a real browser: the user menu is a disclosure (Escape closes it and goes back to
its button, tabbing away closes it), focus goes to the errors after an htmx answer that has some and
to the result after one that succeeds, and a dialog gives focus back to what opened it."""

import pytest

from tests.support.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED = "document.activeElement"


def focused(page, script: str):
    return page.evaluate(f"(() => {{ const e = {FOCUSED}; return {script}; }})()")


def test_focus_follows_the_person_through_menus_forms_and_dialogs(browser, live_server, cast):
    context = browser.new_context(viewport={"width": 390, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server.url, cast.owner.user)
        page.goto(f"{live_server.url}/settings/tokens/")
        menu, summary = page.locator("details.usermenu"), page.locator("details.usermenu > summary")
        assert page.locator("[role=menu], [role=menuitem]").count() == 0  # a disclosure, not an ARIA menu

        # The menu: Enter opens it, Escape closes it and leaves focus on its button.
        summary.focus()
        page.keyboard.press("Enter")
        assert menu.evaluate("e => e.open")
        page.keyboard.press("Tab")
        assert focused(page, "e.textContent.trim()") == "Connections"
        page.keyboard.press("Escape")
        assert not menu.evaluate("e => e.open")
        assert focused(page, "e.matches('details.usermenu > summary')")
        # Tabbing past its last item closes it.
        page.keyboard.press("Enter")
        for _ in range(page.locator(".usermenu-panel a, .usermenu-panel button").count()):
            page.keyboard.press("Tab")
        assert focused(page, "e.textContent.trim()") == "Sign out"
        page.keyboard.press("Tab")
        assert not menu.evaluate("e => e.open")

        # An answer with errors: focus goes to them, not to <body>.
        page.get_by_label("Name", exact=True).fill("laptop")
        page.get_by_role("button", name="Generate token").click()
        page.get_by_text("Token “laptop” created").wait_for()
        page.get_by_label("Name", exact=True).fill("laptop")  # taken now
        page.get_by_role("button", name="Generate token").click()
        page.get_by_text("You already have a token named").wait_for()
        # htmx settles a moment after the swap: wait for that event's effect, not for time.
        page.wait_for_function("() => document.activeElement.getAttribute('aria-invalid') === 'true'")
        assert focused(page, "e.id") == "token_name"

        # A successful answer: focus lands on what it says, never on <body>.
        page.goto(f"{live_server.url}/settings/profile/")
        page.get_by_label("Full name").fill("Grace Hopper")
        page.get_by_role("button", name="Save profile").click()
        page.get_by_text("Profile saved.").wait_for()
        page.wait_for_function("() => document.activeElement !== document.body")
        assert focused(page, "e.textContent.trim()") in ("Profile saved.", "Save profile")

        # A dialog gives focus back to its opener.
        page.goto(f"{live_server.url}/teams/{cast.team['id']}/")
        opener = page.get_by_role("link", name="Delete team…")
        opener.focus()
        page.keyboard.press("Enter")
        dialog = page.get_by_role("dialog")
        dialog.wait_for()
        page.keyboard.press("Escape")
        dialog.wait_for(state="hidden")
        assert focused(page, "e.textContent.trim()") == "Delete team…"
        dialog_opener = page.locator("[data-dialog-open]").first
        dialog_opener.focus()
        page.keyboard.press("Enter")
        page.locator("dialog[open]").get_by_role("link", name="Cancel").click()
        assert focused(page, "e.hasAttribute('data-dialog-open')")
    finally:
        context.close()
