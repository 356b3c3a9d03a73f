"""Every signed-out page at a desktop, a phone and the narrowest phone width: axe-core finds no WCAG 2.2
AA violation (nor any best-practice one), and at 320 px none is wider than the window. The signed-in
pages have a file per width (test_accessibility_<width>_browser.py); what they share is in
tests/support/accessibility.py."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.test import override_settings

from tests.support.accessibility import (
    SIGNED_OUT_PAGES,
    WIDTHS,
    axe_problems,
    overflow_problems,
    report,
    visit_all,
)

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", WIDTHS)
@override_settings(SIGNUP_OPEN=True)
def test_every_signed_out_page_has_no_axe_violation(live_server, browser, width):
    axe = Axe()

    def check(page, name: str) -> list[str]:
        problems = axe_problems(page, axe, name)
        return problems + overflow_problems(page) if width == 320 else problems

    found = visit_all(browser, live_server.url, width, SIGNED_OUT_PAGES, check)
    assert not found, report(found, width)
