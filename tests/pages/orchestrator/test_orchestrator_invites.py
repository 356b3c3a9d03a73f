"""Accepting a team invitation: the page the invitation email links to, with and without a connection."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.urls import reverse

from tests.support.helpers import connected_user, dashboard_user, unique, watch_secret
from tests.support.orchestrator_cast import as_user, person

pytestmark = pytest.mark.django_db

ACCEPT = "/invites/accept/"


def _invite(cast, email: str, role: str = "member") -> dict:
    """The owner invites an address with no Nexical account yet: an email with a link goes out."""
    invitation = cast.api(cast.owner).post(
        f"/teams/{cast.team['id']}/invites", {"email": email, "role": role}
    )
    outbox = httpx.get(
        f"{cast.sandbox.url}/_sandbox/nexical/outbox",
        headers={"Authorization": f"Bearer {cast.sandbox.admin_token}"},
    ).json()["messages"]
    mail = next(message for message in reversed(outbox) if message["to"] == email)
    watch_secret(mail["inviteToken"])
    return {"invitation": invitation["invitation"], "mail": mail, "token": mail["inviteToken"]}


def _invitee(cast, email: str):
    """The invitee signs up on Nexical with the invited address and connects the dashboard to it."""
    return connected_user(cast.sandbox, email=email)


def _member_emails(cast) -> set[str]:
    members = cast.api(cast.owner).get(f"/teams/{cast.team['id']}/members")["members"]
    return {member["email"] for member in members}


def test_it_links_the_invitation_email_to_this_page(cast):
    sent = _invite(cast, f"{unique('new')}@example.com")
    links = [word for word in sent["mail"]["body"].split() if "://" in word]
    assert len(links) == 1
    link = urlsplit(links[0])
    assert link.path == reverse("orchestrator:invite_accept") == ACCEPT
    assert parse_qs(link.query) == {"token": [sent["token"]]}


def test_it_sends_a_signed_out_invitee_to_sign_in_and_back(client, cast):
    sent = _invite(cast, f"{unique('new')}@example.com")
    response = client.get(ACCEPT, {"token": sent["token"]})
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert parse_qs(urlsplit(response.url).query)["next"] == [f"{ACCEPT}?token={sent['token']}"]


def test_it_keeps_the_invitation_and_asks_to_connect_first_without_a_connection(client, cast):
    email = f"{unique('new')}@example.com"
    sent = _invite(cast, email)
    client.force_login(dashboard_user())

    moved = client.get(ACCEPT, {"token": sent["token"]})
    assert moved.status_code == 302
    assert moved.url == ACCEPT  # the token leaves the address bar and the history
    page = client.get(ACCEPT).content.decode()
    assert 'id="invite-connect-first"' in page
    assert f'href="{reverse("connections:connections")}?next=/invites/accept/#nexical"' in page
    assert "Your invitation is kept" in page
    assert sent["token"] not in page

    # Connecting is done on the connections page (its own tests); here the user just has it now.
    user, _ = _invitee(cast, email)
    client.force_login(user)
    session = client.session
    session["nexical_invite_token"] = sent["token"]  # what the visit above left in the session
    session.save()
    # Once connected, the teams page (where Nexical's pages start) points back to the invitation.
    assert 'id="invitation-waiting"' in client.get(reverse("orchestrator:team_list")).content.decode()
    page = client.get(ACCEPT).content.decode()
    assert 'id="invite-ready"' in page
    assert sent["token"] not in page
    response = client.post(ACCEPT, {"accept": "1"})
    assert response.status_code == 302
    assert response.url == reverse("orchestrator:team_detail", args=[cast.team["id"]])
    assert email in _member_emails(cast)
    assert "nexical_invite_token" not in client.session
    assert f"You joined {cast.team['name']}." in client.get(response.url).content.decode()
    assert 'id="invitation-waiting"' not in client.get(reverse("orchestrator:team_list")).content.decode()


def test_it_accepts_from_the_link_in_one_click_when_connected(client, cast):
    email = f"{unique('new')}@example.com"
    sent = _invite(cast, email, role="admin")
    user, _ = _invitee(cast, email)
    client.force_login(user)
    client.get(ACCEPT, {"token": sent["token"]})
    response = client.post(ACCEPT, {"accept": "1"})
    assert response.status_code == 302
    members = cast.api(cast.owner).get(f"/teams/{cast.team['id']}/members")["members"]
    assert {m["email"]: m["role"] for m in members}[email] == "admin"


def test_it_accepts_a_pasted_token(client, cast):
    email = f"{unique('new')}@example.com"
    sent = _invite(cast, email)
    user, _ = _invitee(cast, email)
    client.force_login(user)
    assert 'name="token"' in client.get(ACCEPT).content.decode()
    response = client.post(ACCEPT, {"token": sent["token"], "accept": "1"})
    assert response.status_code == 302
    assert email in _member_emails(cast)


def test_it_refuses_someone_elses_invitation_to_an_outsider(client, cast):
    email = f"{unique('new')}@example.com"
    sent = _invite(cast, email)
    response = as_user(client, cast.outsider).post(ACCEPT, {"token": sent["token"], "accept": "1"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "sent to another email address" in page
    assert cast.outsider.email in page
    assert cast.outsider.email not in _member_emails(cast)
    assert email not in _member_emails(cast)


def test_it_tells_a_member_opening_an_invitation_again(client, cast):
    email = f"{unique('new')}@example.com"
    sent = _invite(cast, email)
    user, _ = _invitee(cast, email)
    client.force_login(user)
    assert client.post(ACCEPT, {"token": sent["token"], "accept": "1"}).status_code == 302
    again = client.post(ACCEPT, {"token": sent["token"], "accept": "1"})
    assert again.status_code == 400
    assert "accepted" in again.content.decode()


@pytest.mark.parametrize(
    ("spoil", "sentence"),
    [
        ("revoke", "does not exist or was revoked"),
        ("expire", "has expired"),
        ("unknown", "does not exist or was revoked"),
    ],
)
def test_it_says_why_a_dead_invitation_fails(client, cast, spoil, sentence):
    email = f"{unique('new')}@example.com"
    sent = _invite(cast, email)
    invite_id = sent["invitation"]["id"]
    token = sent["token"]
    if spoil == "revoke":
        cast.api(cast.owner).http.delete(f"/teams/{cast.team['id']}/invites/{invite_id}").raise_for_status()
    elif spoil == "expire":
        httpx.post(
            f"{cast.sandbox.url}/_sandbox/nexical/invites/{invite_id}/expire",
            headers={"Authorization": f"Bearer {cast.sandbox.admin_token}"},
        ).raise_for_status()
    else:
        token = "nxi_" + "x" * 32
    user, _ = _invitee(cast, email)
    client.force_login(user)
    response = client.post(ACCEPT, {"token": token, "accept": "1"})
    assert response.status_code == 400
    assert sentence in response.content.decode()
    assert email not in _member_emails(cast)


def test_it_asks_for_the_token_when_there_is_none(client, sandbox):
    response = as_user(client, person(sandbox)).post(ACCEPT, {"accept": "1"})
    assert response.status_code == 400
    assert "Paste the token from your invitation email" in response.content.decode()


def test_an_invitation_accepted_with_htmx_puts_the_team_in_the_address_bar(client, cast):
    email = f"{unique('new')}@example.com"
    sent = _invite(cast, email)
    user, _ = _invitee(cast, email)
    client.force_login(user)
    htmx = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{ACCEPT}"}
    response = client.post(ACCEPT, {"token": sent["token"], "accept": "1"}, headers=htmx)
    # The browser loads the team's page: a reload shows the team, not the empty form at /invites/accept/.
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("orchestrator:team_detail", args=[cast.team["id"]])
    assert email in _member_emails(cast)
