"""Journeys through the Nexical pages in a real browser, against the live sandbox.

Each screenshots the pages it crosses, for the README (`make screenshots` keeps them).
"""

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import expect

from dashboard.services import nexical
from dashboard.services.errors import DevicePending
from dashboard.services.nexical import NexicalAPI
from tests.support.helpers import sign_in, unique
from tests.support.live_helpers import poll_once
from tests.support.orchestrator_cast import Upstream, make_cast, person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def run_async(function, *args, **kwargs):
    """Run a service-layer coroutine in a thread of its own: Playwright's sync API keeps an event
    loop running in this one, where asyncio.run and async_to_sync both refuse to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, function(*args, **kwargs)).result()


def test_a_team_admin_manages_a_team_from_creation_to_deletion(page, live_server, sandbox, shoot):
    admin = person(sandbox)
    joiner = person(sandbox)  # has a Nexical account: joins at once
    newcomer = f"{unique('newcomer')}@example.com"  # has none: gets a pending invitation
    sign_in(page, live_server.url, admin.user)

    page.goto(f"{live_server.url}/teams/")
    suffix = unique("crew").split("-")[1]
    page.fill("#team_name", f"Launch Crew {suffix}")
    expect(page.locator("#team_slug")).to_have_value(f"launch-crew-{suffix}")
    page.click("button[name=create]")
    expect(page.locator("h1")).to_contain_text(f"Launch Crew {suffix}")

    page.fill("#team_name", f"Orbit Crew {suffix}")
    page.fill("#team_slug", f"orbit-crew-{suffix}")
    page.click("button[name=rename]")
    expect(page.locator(".alert-success", has_text="Team renamed.")).to_be_visible()
    expect(page.locator("h1")).to_contain_text(f"Orbit Crew {suffix}")

    page.fill("#invite_email", joiner.email)
    page.select_option("#invite_role", "member")
    page.click("button[name=invite]")
    expect(page.locator(f'tr[data-member="{joiner.email}"]')).to_be_visible()

    page.fill("#invite_email", newcomer)
    page.select_option("#invite_role", "admin")
    page.click("button[name=invite]")
    expect(page.locator(f'tr[data-invite="{newcomer}"]')).to_contain_text("admin")
    shoot(page, "team")

    page.locator(f'tr[data-invite="{newcomer}"] a[data-dialog-open]').click()
    page.locator(f'tr[data-invite="{newcomer}"] dialog button[name=revoke_invite]').click()
    expect(page.locator(".alert-success", has_text="Invitation revoked.")).to_be_visible()
    expect(page.locator(f'tr[data-invite="{newcomer}"]')).to_have_count(0)

    page.locator(f'tr[data-member="{joiner.email}"] a[data-dialog-open]').click()
    page.locator(f'tr[data-member="{joiner.email}"] dialog button[name=remove_member]').click()
    expect(page.locator(".alert-success", has_text="Member removed.")).to_be_visible()
    expect(page.locator(f'tr[data-member="{joiner.email}"]')).to_have_count(0)

    # The team's audit log: every action above, newest first, filtered in place.
    team_page = page.url
    page.click(".page-actions >> text=Audit log")
    rows = page.locator("#audit-table tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.first).to_have_attribute("data-action", "team.member.remove")
    expect(rows.last).to_have_attribute("data-action", "team.create")
    page.select_option("#audit_action", "team.invite.create")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"action=team\.invite\.create"))
    page.select_option("#audit_action", "")
    expect(rows).to_have_count(6)
    shoot(page, "audit")
    page.goto(team_page)

    page.click("text=Delete team…")
    dialog = page.locator("dialog#delete-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("#delete_confirm").fill("not-the-slug")
    dialog.locator("button[name=delete]").click()
    expect(page.locator("dialog#delete-dialog .field-error")).to_contain_text("exactly to confirm")
    page.locator("dialog#delete-dialog #delete_confirm").fill(f"orbit-crew-{suffix}")
    page.locator("dialog#delete-dialog button[name=delete]").click()
    expect(page).to_have_url(f"{live_server.url}/teams/")
    expect(page.locator(".alert-success", has_text="deleted")).to_be_visible()
    expect(page.get_by_role("link", name=f"Orbit Crew {suffix}")).to_have_count(0)


def test_a_manager_ships_a_branch_and_watches_the_deploy_finish(page, live_server, sandbox, shoot):
    manager = person(sandbox)
    slug = unique("shipyard")
    team = Upstream(sandbox, manager).post("/teams", {"name": "Shipyard", "slug": slug})["team"]
    sign_in(page, live_server.url, manager.user)

    page.goto(f"{live_server.url}/teams/{team['id']}/")
    page.click("text=New project")
    page.fill("#project_name", "Storefront")
    page.fill("#project_repo_url", "https://git.example.com/storefront.git")
    page.fill("#project_production_url", "https://shop.example.com")
    page.click("button[name=create_project]")
    expect(page.locator("h1")).to_contain_text("Storefront")

    for name in ("main", "staging"):
        page.fill("#branch_name", name)
        page.click("button[name=create_branch]")
        expect(page.locator(f'tr[data-branch="{name}"]')).to_be_visible()
    shoot(page, "project")

    page.click('tr[data-branch="main"] a')
    expect(page.locator("h1")).to_contain_text("main")
    page.fill("#job_type", "deploy")
    page.fill("#job_inputs", '{"ref": "main", "environment": "production", "fail": false}')
    page.click("button[name=create_job]")
    expect(page.locator("#job-status")).to_have_text("Pending")

    sandbox.set_knobs(simulate_worker=True, worker_speed=20)
    deadline = time.monotonic() + 120
    # The page updates itself (this server cannot stream, so it polls); the poller feeds it.
    while page.locator("#job-status").get_attribute("data-status") not in ("completed", "failed"):
        assert time.monotonic() < deadline, "the simulated worker did not finish the job in time"
        poll_once()
        page.wait_for_timeout(300)
    expect(page.locator("#job-status")).to_have_text("Completed")
    poll_once()  # the last fetch after the end completes the log
    expect(page.locator("#log-lines li").first).to_be_visible()
    expect(page.locator("#job-finished")).to_be_visible()
    shoot(page, "job")

    page.click("nav.breadcrumbs >> text=main")
    expect(page.locator("tr[data-job] .badge-completed")).to_be_visible()
    shoot(page, "branch")

    page.click("nav.breadcrumbs >> text=Teams")
    expect(page.get_by_role("link", name="Shipyard")).to_be_visible()
    shoot(page, "teams")


def test_a_developer_handles_tokens_profile_and_a_device_sign_in(page, live_server, sandbox, shoot):
    developer = person(sandbox)
    sign_in(page, live_server.url, developer.user)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    page.goto(f"{live_server.url}/settings/tokens/")
    page.fill("#token_name", "laptop-cli")
    page.click("button[name=generate]")
    secret = page.locator("#new-token-value")
    expect(secret).to_have_text(re.compile(r"^nx_"))
    raw = secret.inner_text().strip()
    page.click("button[data-copy=new-token-value]")
    expect(page.locator("button[data-copy=new-token-value]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == raw
    expect(page.locator('tr[data-token="laptop-cli"]')).to_contain_text(raw[:8])
    shoot(page, "tokens")

    page.locator('tr[data-token="laptop-cli"] a[data-dialog-open]').click()
    expect(page.locator('tr[data-token="laptop-cli"] dialog')).to_contain_text("Revoke laptop-cli?")
    page.locator('tr[data-token="laptop-cli"] dialog button[name=revoke]').click()
    expect(page.locator(".alert-success", has_text="Token revoked.")).to_be_visible()
    expect(page.locator('tr[data-token="laptop-cli"]')).to_have_count(0)
    assert (
        httpx.get(f"{sandbox.nexical_url}/users/me", headers={"Authorization": f"Bearer {raw}"}).status_code
        == 401
    )

    page.goto(f"{live_server.url}/settings/profile/")
    page.fill("#profile_full_name", "Margaret Hamilton")
    page.fill("#profile_avatar_url", "https://example.com/margaret.png")
    page.click("button[name=save]")
    expect(page.locator("#profile-name")).to_have_text("Margaret Hamilton")

    # The device side is the service layer's own device-flow client, as a CLI built on it would be.
    flow = run_async(nexical.device_code_request, client_id="nexical-cli", scope="deploy")
    page.goto(f"{live_server.url}/device/?user_code={flow.user_code}")
    expect(page.locator("#device_user_code")).to_have_value(flow.user_code)
    page.click("button[name=review]")
    expect(page.locator("#device-code")).to_have_text(flow.user_code)
    expect(page.locator("#device-client-id")).to_have_text("nexical-cli")
    expect(page.locator("#device-scope")).to_contain_text("deploy")
    shoot(page, "device")
    page.click("button[name=approve]")
    expect(page.locator("#device-result")).to_contain_text("nexical-cli")

    deadline = time.monotonic() + 30
    while True:
        try:
            token = run_async(
                nexical.device_token_poll, device_code=flow.device_code, client_id="nexical-cli"
            )
            break
        except DevicePending:
            assert time.monotonic() < deadline, "the device never got its token"
            page.wait_for_timeout(flow.interval * 1000)
    me = run_async(nexical.users_me, NexicalAPI(token=token.access_token))
    assert str(me.id) == developer.id


def test_it_confirms_removing_a_member_without_javascript(browser, live_server, sandbox, shoot):
    cast = make_cast(sandbox)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_server.url, cast.owner.user)
    page.goto(f"{live_server.url}/teams/{cast.team['id']}/")
    row = page.locator(f'tr[data-member="{cast.member.email}"]')
    expect(row.locator("dialog")).to_be_hidden()
    row.get_by_role("link", name="Remove").click()
    # The page comes back with the same confirmation open, and nothing has happened yet.
    expect(page).to_have_url(re.compile(r"\?confirm=remove_member&id="))
    dialog = page.locator(f'tr[data-member="{cast.member.email}"] dialog')
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Remove {cast.member.email}?")
    shoot(page, "confirm-no-js")
    dialog.locator("button[name=remove_member]").click()
    expect(page.locator(".alert-success", has_text="Member removed.")).to_be_visible()
    expect(page.locator(f'tr[data-member="{cast.member.email}"]')).to_have_count(0)
    context.close()


@pytest.mark.parametrize("path", ["team", "project", "tokens", "invite"])
def test_it_fits_a_390_px_phone(browser, live_server, sandbox, shoot, path):
    cast = make_cast(sandbox)
    project = cast.project(
        repoUrl="https://git.example.com/a-rather-long-organisation/a-rather-long-repository.git"
    )
    cast.branch(project, "feature/a-branch-with-a-long-name")
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_server.url, cast.owner.user)
    urls = {
        "team": f"/teams/{cast.team['id']}/",
        "project": f"/teams/{cast.team['id']}/projects/{project['id']}/",
        "tokens": "/settings/tokens/",
        "invite": "/invites/accept/",
    }
    page.goto(f"{live_server.url}{urls[path]}")
    shoot(page, f"phone-{path}")
    # Wide tables scroll inside their card; the page itself never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()
