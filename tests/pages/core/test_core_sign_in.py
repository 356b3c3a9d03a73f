"""Sign-in around every page: htmx requests after the session ended, caching of signed-in pages,
the sign-in page for someone already signed in."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.urls import reverse

from tests.support.helpers import PASSWORD, connected_user, dashboard_user

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/teams/?page=2"}


def test_it_sends_an_htmx_request_without_a_session_to_the_sign_in_page_as_a_full_page(client):
    response = client.post(reverse("connections:connections"), {"nexical_remove": ""}, headers=HTMX)
    # Not the sign-in page drawn inside the page: htmx is told to load it in the window.
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/teams/%3Fpage%3D2"
    assert b"<form" not in response.content


def test_it_keeps_the_plain_sign_in_redirect_without_htmx(client):
    response = client.get(reverse("orchestrator:team_list"))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/teams/"
    assert "HX-Redirect" not in response


def test_it_leaves_other_htmx_redirects_alone(client):
    client.force_login(dashboard_user())
    response = client.post(reverse("connections:connections"), {"nexical_device_cancel": ""})
    assert response.status_code == 302
    htmx = client.post(reverse("connections:connections"), {"nexical_device_cancel": ""}, headers=HTMX)
    assert htmx.status_code == 200
    assert "HX-Redirect" not in htmx


@pytest.mark.parametrize(
    "name",
    [
        "home:home",
        "orchestrator:team_list",
        "orchestrator:profile",
        "orchestrator:api_tokens",
        "connections:connections",
    ],
)
def test_it_keeps_signed_in_pages_out_of_every_cache(client, sandbox, name):
    user, _ = connected_user(sandbox)
    client.force_login(user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_it_leaves_the_caching_of_anonymous_responses_to_the_view(client, settings):
    settings.UPSTREAM_GET_RETRIES = 0
    response = client.get(reverse("home:healthz"))
    assert "Cache-Control" not in response


def test_it_sends_a_signed_in_visitor_of_the_sign_in_page_on(client):
    client.force_login(dashboard_user())
    assert client.get(reverse("login"))["Location"] == reverse("home:home")
    onward = client.get(reverse("login") + "?next=/settings/connections/")
    assert onward.status_code == 302
    assert onward["Location"] == "/settings/connections/"


def test_it_still_signs_in_from_the_sign_in_page(client):
    user = dashboard_user()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home:home")
    assert client.get(reverse("home:home")).status_code == 200


def test_a_signed_in_session_reads_its_user_back_and_signs_out_one_made_inactive(client):
    user = dashboard_user()
    client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert client.session[BACKEND_SESSION_KEY] == "dashboard.core.backends.UserBackend"
    home = client.get(reverse("home:home"))
    assert home.status_code == 200 and home.wsgi_request.user == user
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert client.get(reverse("home:home"))["Location"] == "/accounts/login/?next=/"


def test_a_session_signed_in_through_djangos_model_backend_stays_signed_in(client):
    # Sessions from before the dashboard's backend replaced Django's name Django's.
    user = dashboard_user()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    stored = Session.objects.get(pk=client.cookies["sessionid"].value).get_decoded()
    assert stored[BACKEND_SESSION_KEY] == "django.contrib.auth.backends.ModelBackend"
    home = client.get(reverse("home:home"))
    assert home.status_code == 200 and home.wsgi_request.user == user
