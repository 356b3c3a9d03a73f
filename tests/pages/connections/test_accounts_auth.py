"""Sign in, sign out, open sign-up behind a setting, password reset by email, the admin for staff."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.http import HttpRequest

from tests.support.helpers import PASSWORD, dashboard_user

pytestmark = pytest.mark.django_db


def test_it_signs_in_and_out(client):
    user = dashboard_user()
    page = client.get("/accounts/login/").content.decode()
    assert "Forgot your password?" in page
    assert "Create an account" not in page  # sign-up is closed by default

    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert user.username in client.get("/").content.decode()

    # Sign out is a POST; a GET must not sign anyone out.
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/").status_code == 302


def test_it_explains_a_wrong_password(client):
    user = dashboard_user()
    response = client.post("/accounts/login/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password." in response.content


def test_sign_up_is_a_404_when_closed(client, settings):
    settings.SIGNUP_OPEN = False
    assert client.get("/accounts/signup/").status_code == 404
    assert client.post("/accounts/signup/", {"username": "x"}).status_code == 404


def test_it_signs_up_when_open(client, settings):
    settings.SIGNUP_OPEN = True
    assert b"Create an account" in client.get("/accounts/login/").content
    data = {"username": "newcomer", "email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post("/accounts/signup/", data)
    assert response.status_code == 302
    assert response["Location"] == "/settings/connections/"
    assert get_user_model().objects.filter(username="newcomer", email="new@example.com").exists()
    assert b"newcomer" in client.get("/").content


def test_sign_up_explains_its_errors(client, settings):
    settings.SIGNUP_OPEN = True
    data = {"username": "", "email": "nope", "password1": "a", "password2": "b"}
    page = client.post("/accounts/signup/", data).content.decode()
    assert "This field is required." in page
    assert "Enter a valid email address." in page
    assert "The two password fields didn\u2019t match." in page


def test_it_resets_a_password_by_email(client):
    user = dashboard_user()
    response = client.post("/accounts/password_reset/", {"email": user.email})
    assert response.status_code == 302
    assert b"Check your email" in client.get(response["Location"]).content
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "Reset your Nexus Dashboard password"
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", message.body).group(1)

    form = client.get(link, follow=True)
    assert b"Choose a new password" in form.content
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-new-long-passphrase", "new_password2": "a-new-long-passphrase"},
    )
    assert response.status_code == 302
    assert client.login(request=HttpRequest(), username=user.username, password="a-new-long-passphrase")


def test_it_sends_no_mail_for_an_unknown_address(client):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_the_admin_is_for_staff_only(client):
    user = dashboard_user()
    client.force_login(user)
    assert client.get("/admin/").status_code == 302
    assert "Django admin" not in client.get("/").content.decode()

    user.is_staff = user.is_superuser = True
    user.save()
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/connection/").status_code == 200
    assert "Django admin" in client.get("/").content.decode()


def test_the_user_menu_links_to_settings(client):
    client.force_login(dashboard_user())
    page = client.get("/").content.decode()
    assert 'href="/settings/connections/"' in page
