"""Invitations on the team page: several addresses at once, each with its own result, and resending."""

import html

import pytest
from django.urls import reverse

from dashboard.audit.models import AuditEntry
from tests.support.helpers import unique
from tests.support.orchestrator_cast import as_user, person

pytestmark = pytest.mark.django_db


def team_url(cast) -> str:
    return reverse("orchestrator:team_detail", args=[cast.team["id"]])


def invites(cast) -> dict[str, dict]:
    listed = cast.api(cast.owner).get(f"/teams/{cast.team['id']}/invites")["invites"]
    return {invite["email"]: invite for invite in listed if invite["status"] == "pending"}


def test_it_invites_several_addresses_and_says_how_each_went(client, cast):
    fresh, pending = f"{unique('new')}@example.com", f"{unique('waiting')}@example.com"
    cast.api(cast.owner).post(f"/teams/{cast.team['id']}/invites", {"email": pending})
    has_account = person(cast.sandbox)
    typed = (
        f"{fresh.upper()}, {cast.member.email}\nnot-an-address ; {pending}\n\n{has_account.email}\n{fresh}"
    )
    response = as_user(client, cast.admin).post(
        team_url(cast), {"emails": typed, "role": "member", "invite_many": "1"}
    )
    assert response.status_code == 302
    page = html.unescape(client.get(team_url(cast)).content.decode())
    assert f"{fresh}: invitation sent as member." in page
    assert f"{cast.member.email}: already a member of the team." in page
    assert "not-an-address: not an email address, nothing sent." in page
    assert f"{pending}: already invited; resend that invitation instead." in page
    assert f"{has_account.email}: had an account and joined as member." in page
    assert page.count(f"{fresh}: invitation sent") == 1  # the same address twice is asked once
    assert fresh in invites(cast)
    results = dict(AuditEntry.objects.filter(action="team.invite.create").values_list("target", "result"))
    assert results == {
        fresh: "done",
        has_account.email: "done",
        cast.member.email: "refused",
        pending: "refused",
    }


def test_it_works_without_js_and_with_htmx_alike(client, cast):
    address = f"{unique('htmx')}@example.com"
    response = as_user(client, cast.admin).post(
        team_url(cast),
        {"emails": address, "role": "admin", "invite_many": "1"},
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{team_url(cast)}"},
    )
    assert response.status_code == 302  # htmx follows it and swaps the fresh body in
    assert invites(cast)[address]["role"] == "admin"


def test_a_member_s_bulk_invite_is_refused_upstream_address_by_address(client, cast):
    addresses = [f"{unique('m')}@example.com" for _ in range(2)]
    as_user(client, cast.member).post(
        team_url(cast), {"emails": "\n".join(addresses), "role": "member", "invite_many": "1"}
    )
    page = html.unescape(client.get(team_url(cast)).content.decode())
    for address in addresses:
        assert f"{address}: refused by Nexical:" in page
    assert AuditEntry.objects.filter(action="team.invite.create", result="refused").count() == 2


def test_the_list_is_checked_before_anything_is_sent(client, cast):
    too_many = " ".join(f"p{n}@example.com" for n in range(51))
    for typed, sentence in (
        (too_many, "That is 51 addresses: invite at most 50 at once."),
        (" ,\n", "Enter at least one"),
    ):
        response = as_user(client, cast.admin).post(
            team_url(cast), {"emails": typed, "role": "member", "invite_many": "1"}
        )
        assert response.status_code == 400
        assert sentence in response.content.decode()
    assert not AuditEntry.objects.exclude(action__startswith="signin.").exists()  # signing in is a row


def test_an_admin_resends_an_invitation(client, cast):
    email = f"{unique('again')}@example.com"
    first = cast.api(cast.owner).post(f"/teams/{cast.team['id']}/invites", {"email": email, "role": "admin"})
    old_id = first["invitation"]["id"]
    page = as_user(client, cast.admin).get(team_url(cast)).content.decode()
    assert 'name="resend_invite"' in page
    response = client.post(team_url(cast), {"id": old_id, "resend_invite": "1"})
    assert response.status_code == 302
    renewed = invites(cast)[email]
    assert renewed["id"] != old_id and renewed["role"] == "admin"
    assert f"Invitation to {email} sent again, with a new 7-day link." in html.unescape(
        client.get(team_url(cast)).content.decode()
    )
    entry = AuditEntry.objects.get(action="team.invite.resend")
    assert (entry.result, entry.target, entry.team_id) == ("done", email, cast.team["id"])

    stale = client.post(team_url(cast), {"id": old_id, "resend_invite": "1"})
    assert stale.status_code == 400
    assert "That invitation is no longer pending. Reload the page." in stale.content.decode()
    assert AuditEntry.objects.filter(action="team.invite.resend").count() == 1
