"""The Connection admin: staff see who is connected, and cannot add a connection by hand."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    admin = get_user_model().objects.create_superuser("root-admin", "root@example.com", "pw-not-used-here")
    client.force_login(admin)
    return admin


def test_connections_cannot_be_added_in_the_admin(client, staff):
    """A row without a verified secret would only break the pages that use it."""
    assert client.get("/admin/accounts/connection/add/").status_code == 403
    changelist = client.get("/admin/accounts/connection/")
    assert changelist.status_code == 200
    assert b"/admin/accounts/connection/add/" not in changelist.content
