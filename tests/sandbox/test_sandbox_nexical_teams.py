"""The Nexical emulator's teams, members and invitations, for owner / admin / member / outsider."""

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.nexical_types import (
    Invitation,
    Member,
    Team,
    admin,
    api_error,
    client,
    many,
    new_person,
    new_world,
    one,
    success,
)

ADA = "nx_demo_ada_0000000000000001"
GRACE = "nx_demo_grace_00000000000002"
LINUS = "nx_demo_linus_00000000000003"


def _outbox(sandbox) -> list[dict]:
    response = httpx.get(
        f"{sandbox.url}/_sandbox/nexical/outbox", headers={"Authorization": f"Bearer {sandbox.admin_token}"}
    )
    assert response.status_code == 200
    return response.json()["messages"]


def test_it_seeds_the_demo_teams_with_roles(sandbox):
    ada_teams = {t.slug: t for t in many(client(sandbox, ADA).get("/teams"), "teams", Team)}
    assert ada_teams["acme-rockets"].role == "owner"
    assert ada_teams["globex-research"].role == "member"
    linus_teams = many(client(sandbox, LINUS).get("/teams"), "teams", Team)
    assert [(t.slug, t.role) for t in linus_teams] == [("acme-rockets", "member")]
    grace = {t.slug: t.role for t in many(client(sandbox, GRACE).get("/teams"), "teams", Team)}
    assert grace == {"acme-rockets": "admin", "globex-research": "owner"}
    acme = ada_teams["acme-rockets"]
    invites = many(client(sandbox, ADA).get(f"/teams/{acme.id}/invites"), "invites", Invitation)
    assert any(i.email == "new.hire@example.com" and i.status == "pending" for i in invites)


def test_it_shows_system_users_every_team_without_a_role(sandbox):
    person = new_person(sandbox)
    mine = one(person.api.post("/teams", json={"name": "Mine", "slug": "sys-view-team"}), 201, "team", Team)
    teams = {t.id: t for t in many(admin(sandbox).get("/teams"), "teams", Team)}
    assert mine.id in teams
    assert teams[mine.id].role is None
    assert "role" not in next(t for t in admin(sandbox).get("/teams").json()["teams"] if t["id"] == mine.id)


def test_it_creates_teams_and_refuses_duplicate_or_bad_slugs(sandbox):
    api = new_person(sandbox).api
    team = one(api.post("/teams", json={"name": "Équipe 東京", "slug": "equipe-tokyo"}), 201, "team", Team)
    assert (team.name, team.role, team.billingPlan) == ("Équipe 東京", "owner", "free")
    api_error(api.post("/teams", json={"name": "Again", "slug": "equipe-tokyo"}), 409, "conflict")
    error = api_error(api.post("/teams", json={"name": "", "slug": "Bad Slug"}), 400, "validation_error")
    assert set(error.details) == {"name", "slug"}
    error = api_error(
        api.post("/teams", json={"name": 5, "slug": "ok", "plan": "pro"}), 400, "validation_error"
    )
    assert set(error.details) == {"name", "plan"}
    api_error(api.post("/teams", json={"slug": "missing-name"}), 400, "validation_error")


def test_it_shows_a_team_to_members_only(sandbox):
    world = new_world(sandbox)
    path = f"/teams/{world.team.id}"
    assert one(world.member.api.get(path), 200, "team", Team).role == "member"
    assert one(world.admin.api.get(path), 200, "team", Team).role == "admin"
    api_error(world.outsider.api.get(path), 404, "not_found")
    api_error(world.owner.api.get("/teams/999999"), 404, "not_found")
    assert one(admin(sandbox).get(path), 200, "team", Team).id == world.team.id


def test_it_lets_admins_update_and_only_owners_delete(sandbox):
    world = new_world(sandbox)
    path = f"/teams/{world.team.id}"
    api_error(world.member.api.put(path, json={"name": "Nope"}), 403, "forbidden")
    api_error(world.outsider.api.put(path, json={"name": "Nope"}), 404, "not_found")
    team = one(world.admin.api.put(path, json={"name": "Renamed ✓"}), 200, "team", Team)
    assert team.name == "Renamed ✓"
    api_error(world.admin.api.put(path, json={"slug": "acme-rockets"}), 409, "conflict")
    api_error(world.admin.api.put(path, json={"slug": 12}), 400, "validation_error")
    api_error(world.admin.api.delete(path), 403, "forbidden")
    api_error(world.outsider.api.delete(path), 404, "not_found")
    success(world.owner.api.delete(path))
    api_error(world.owner.api.get(path), 404, "not_found")
    api_error(world.owner.api.get(f"{world.project_path}"), 404, "not_found")


def test_it_adds_known_users_at_once_and_mails_strangers(sandbox):
    world = new_world(sandbox)
    invites = f"/teams/{world.team.id}/invites"
    known = new_person(sandbox, "known")
    body = {"email": known.user.email.upper(), "role": "admin"}
    added = one(world.admin.api.post(invites, json=body), 201, "invitation", Invitation)
    assert (added.status, added.role, added.email) == ("accepted", "admin", known.user.email)
    assert added.acceptedAt is not None
    assert one(known.api.get(f"/teams/{world.team.id}"), 200, "team", Team).role == "admin"
    api_error(world.admin.api.post(invites, json={"email": known.user.email}), 409, "conflict")

    stranger = "Stranger.Person@Example.com"
    pending = one(world.admin.api.post(invites, json={"email": stranger}), 201, "invitation", Invitation)
    assert (pending.status, pending.role, pending.email) == ("pending", "member", stranger.lower())
    assert pending.acceptedAt is None
    api_error(world.admin.api.post(invites, json={"email": stranger.lower()}), 409, "conflict")
    mail = [m for m in _outbox(sandbox) if m["to"] == stranger.lower()]
    assert len(mail) == 1
    assert mail[0]["inviteToken"] not in world.admin.api.get(invites).text


def test_it_validates_invites_and_checks_roles(sandbox):
    world = new_world(sandbox)
    invites = f"/teams/{world.team.id}/invites"
    api_error(world.member.api.post(invites, json={"email": "x@example.com"}), 403, "forbidden")
    api_error(world.member.api.get(invites), 403, "forbidden")
    api_error(world.outsider.api.post(invites, json={"email": "x@example.com"}), 404, "not_found")
    bad = {"email": "nope", "role": "owner"}
    error = api_error(world.admin.api.post(invites, json=bad), 400, "validation_error")
    assert set(error.details) == {"email", "role"}


def test_it_accepts_invites_by_token_for_the_invited_email_only(sandbox):
    world = new_world(sandbox)
    invites = f"/teams/{world.team.id}/invites"
    email = f"late.{world.team.id}@example.com"
    invitation = one(world.owner.api.post(invites, json={"email": email}), 201, "invitation", Invitation)
    token = next(m["inviteToken"] for m in _outbox(sandbox) if m["to"] == email)

    # The vendor's team module's codes (contract §5).
    api_error(world.outsider.api.post("/invites/accept", json={"token": token}), 403, "email_mismatch")
    api_error(world.outsider.api.post("/invites/accept", json={"token": "nxi_wrong"}), 404, "not_found")
    api_error(world.outsider.api.post("/invites/accept", json={}), 400, "validation_error")
    invitee = _person_with_email(sandbox, email)
    response = invitee.post("/invites/accept", json={"token": token})
    assert response.status_code == 200, response.text
    assert Team.model_validate(response.json()["team"]).role == "member"
    assert Member.model_validate(response.json()["member"]).email == email
    api_error(invitee.post("/invites/accept", json={"token": token}), 409, "conflict")
    listed = many(world.owner.api.get(invites), "invites", Invitation)
    assert next(i for i in listed if i.id == invitation.id).status == "accepted"


def _person_with_email(sandbox, email: str) -> httpx.Client:
    response = httpx.post(
        f"{sandbox.url}/_sandbox/nexical/users",
        json={"email": email},
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
    )
    assert response.status_code == 201
    return client(sandbox, response.json()["token"])


def _expire(sandbox, invitation_id: int) -> None:
    response = httpx.post(
        f"{sandbox.url}/_sandbox/nexical/invites/{invitation_id}/expire",
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
    )
    assert response.status_code == 200, response.text


def test_it_refuses_expired_invites_with_the_expired_code(sandbox):
    world = new_world(sandbox)
    invites = f"/teams/{world.team.id}/invites"
    email = f"slow.{world.team.id}@example.com"
    invitation = one(world.owner.api.post(invites, json={"email": email}), 201, "invitation", Invitation)
    token = next(m["inviteToken"] for m in _outbox(sandbox) if m["to"] == email)
    _expire(sandbox, invitation.id)

    invitee = _person_with_email(sandbox, email)
    api_error(invitee.post("/invites/accept", json={"token": token}), 409, "expired")
    # The refusal does not roll the expiry back: the list shows it too, and a new invite may be sent
    # (the invitee has an account by now, so it adds them at once).
    listed = many(world.owner.api.get(invites), "invites", Invitation)
    assert next(i for i in listed if i.id == invitation.id).status == "expired"
    again = one(world.owner.api.post(invites, json={"email": email}), 201, "invitation", Invitation)
    assert again.status == "accepted"


def test_it_keeps_one_open_invite_per_email_under_concurrent_requests(sandbox):
    world = new_world(sandbox)
    invites = f"/teams/{world.team.id}/invites"
    email = f"rush.{world.team.id}@example.com"

    def send(_: int) -> int:
        return world.owner.api.post(invites, json={"email": email}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(send, range(8)))
    assert statuses == [201] + [409] * 7
    listed = many(world.owner.api.get(invites), "invites", Invitation)
    assert [i.status for i in listed if i.email == email] == ["pending"]


def test_it_revokes_pending_invites(sandbox):
    world = new_world(sandbox)
    invites = f"/teams/{world.team.id}/invites"
    invitation = one(
        world.owner.api.post(invites, json={"email": "gone@example.com"}), 201, "invitation", Invitation
    )
    api_error(world.member.api.delete(f"{invites}/{invitation.id}"), 403, "forbidden")
    success(world.admin.api.delete(f"{invites}/{invitation.id}"))
    api_error(world.admin.api.delete(f"{invites}/{invitation.id}"), 409, "conflict")
    api_error(world.admin.api.delete(f"{invites}/999999"), 404, "not_found")
    listed = many(world.owner.api.get(invites), "invites", Invitation)
    assert listed[0].id == invitation.id and listed[0].status == "revoked"
    # A revoked invitation no longer blocks a new one.
    again = one(
        world.owner.api.post(invites, json={"email": "gone@example.com"}), 201, "invitation", Invitation
    )
    assert again.status == "pending"


def test_it_lists_members_and_lets_the_owner_change_roles(sandbox):
    world = new_world(sandbox)
    members_path = f"/teams/{world.team.id}/members"
    members = many(world.member.api.get(members_path), "members", Member)
    assert {m.userId: m.role for m in members} == {
        world.owner.user.id: "owner",
        world.admin.user.id: "admin",
        world.member.user.id: "member",
    }
    api_error(world.outsider.api.get(members_path), 404, "not_found")
    target = f"{members_path}/{world.member.user.id}"
    api_error(world.admin.api.put(target, json={"role": "admin"}), 403, "forbidden")
    api_error(world.owner.api.put(target, json={"role": "owner"}), 400, "validation_error")
    member = one(world.owner.api.put(target, json={"role": "admin"}), 200, "member", Member)
    assert member.role == "admin"
    api_error(
        world.owner.api.put(f"{members_path}/{world.owner.user.id}", json={"role": "member"}),
        403,
        "forbidden",
    )
    api_error(
        world.owner.api.put(f"{members_path}/{world.outsider.user.id}", json={"role": "member"}),
        404,
        "not_found",
    )


def test_it_applies_the_member_removal_rules(sandbox):
    world = new_world(sandbox)
    members = f"/teams/{world.team.id}/members"
    second_admin = new_person(sandbox, "admin2")
    world.owner.api.post(
        f"/teams/{world.team.id}/invites", json={"email": second_admin.user.email, "role": "admin"}
    )

    # A member may remove no one else; an admin may not remove another admin; nobody removes the owner.
    api_error(world.member.api.delete(f"{members}/{world.admin.user.id}"), 403, "forbidden")
    api_error(world.admin.api.delete(f"{members}/{second_admin.user.id}"), 403, "forbidden")
    api_error(world.admin.api.delete(f"{members}/{world.owner.user.id}"), 403, "forbidden")
    api_error(world.owner.api.delete(f"{members}/{world.owner.user.id}"), 403, "forbidden")
    api_error(world.outsider.api.delete(f"{members}/{world.member.user.id}"), 404, "not_found")
    api_error(world.owner.api.delete(f"{members}/{world.outsider.user.id}"), 404, "not_found")
    api_error(world.owner.api.delete(f"{members}/not-a-uuid"), 404, "not_found")

    success(world.owner.api.delete(f"{members}/{second_admin.user.id}"))
    success(world.admin.api.delete(f"{members}/{world.member.user.id}"))
    api_error(world.member.api.get(f"/teams/{world.team.id}"), 404, "not_found")
    # Anyone may leave.
    success(world.admin.api.delete(f"{members}/{world.admin.user.id}"))
    remaining = many(world.owner.api.get(members), "members", Member)
    assert [m.userId for m in remaining] == [world.owner.user.id]
