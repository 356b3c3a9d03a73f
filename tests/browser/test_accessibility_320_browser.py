"""Every signed-in page at 320 px (the narrowest phone): axe-core finds no WCAG 2.2 AA violation (nor any
best-practice one), and no page is wider than the window except inside a region that scrolls on purpose
and says so. The pages and checks: tests/support/accessibility.py."""

import pytest

from tests.support.accessibility import report, scene, signed_in_problems  # noqa: F401 (scene: a fixture)

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_every_signed_in_page_passes(live_server, browser, scene, shoot):  # noqa: F811
    found = signed_in_problems(live_server, browser, scene, shoot, 320)
    assert not found, report(found, 320)
