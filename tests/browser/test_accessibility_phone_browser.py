"""Every signed-in page on a phone: at 390 px axe-core finds no WCAG 2.2 AA violation (nor any
best-practice one); at 320 px (the narrowest phone) nothing is wider than the window and axe's geometry
rules still pass. The pages and checks: tests/support/accessibility.py."""

import pytest

from tests.support.accessibility import PHONE, report, scene, signed_in_problems  # noqa: F401 (scene: a fixture)

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_every_signed_in_page_passes(live_server, browser, scene, shoot):  # noqa: F811
    found = signed_in_problems(live_server, browser, scene, shoot, PHONE)
    assert not found, report(found, PHONE)
