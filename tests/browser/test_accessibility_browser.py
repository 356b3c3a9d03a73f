"""Every signed-out page on a desktop and on a phone (at 390 and at 320 px): axe-core finds no WCAG 2.2
AA violation (nor any best-practice one), and at 320 px none is wider than the window. The signed-in
pages have a file per device (test_accessibility_{desktop,phone}_browser.py); what they share is in
tests/support/accessibility.py."""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.test import override_settings

from tests.support.accessibility import DESKTOP, PHONE, SIGNED_OUT_PAGES, checks, report, visit_all

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [DESKTOP, PHONE])
@override_settings(SIGNUP_OPEN=True)
def test_every_signed_out_page_has_no_axe_violation(live_server, browser, width):
    found = visit_all(browser, live_server.url, width, SIGNED_OUT_PAGES, checks(Axe(), width))
    assert not found, report(found, width)
