"""htmx requests that fail still show why, unreadable stored tokens, and double-submit guards."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from dashboard.accounts.models import Connection
from tests.support.helpers import sign_in
from tests.support.orchestrator_cast import make_cast, person

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
TEMPLATES = Path(__file__).resolve().parents[3] / "dashboard" / "orchestrator" / "templates" / "orchestrator"


@pytest.fixture
def quick_upstream(settings):
    # No retries: the sandbox's 500 is the answer. The timeout stays generous: on a loaded machine
    # a 500 can take over half a second, and a timeout would be another failure (503) than the one tested.
    settings.UPSTREAM_TIMEOUT = 5
    settings.UPSTREAM_GET_RETRIES = 0
    return settings


def assert_swapped_into_the_page_body(response, sentence: str) -> None:
    # htmx 2 swaps only 2xx answers: a failure must come as a 200 aimed at the page body.
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#page-body"
    assert response["HX-Reswap"] == "outerHTML"
    body = response.content.decode()
    assert sentence in body
    assert body.lstrip().startswith('<div id="page-body"')


# --- htmx failures are swapped in ------------------------------------------------------------------


def test_an_upstream_outage_on_an_htmx_action_replaces_the_page_body(client, cast, sandbox, quick_upstream):
    client.force_login(cast.owner.user)
    sandbox.set_knobs(scope="nexical", error_rate=1.0)
    response = client.post(
        reverse("orchestrator:team_detail", args=[cast.team["id"]]),
        {"name": "X", "rename": "1"},
        headers=HTMX,
    )
    assert_swapped_into_the_page_body(response, "Nexical is having problems (HTTP 500). Try again shortly.")


def test_the_same_failure_without_htmx_keeps_its_error_status(client, cast, sandbox, quick_upstream):
    client.force_login(cast.owner.user)
    sandbox.set_knobs(scope="nexical", error_rate=1.0)
    response = client.get(reverse("orchestrator:team_detail", args=[cast.team["id"]]))
    assert response.status_code == 502
    assert "HX-Retarget" not in response


def test_a_404_from_load_on_an_htmx_request_is_shown_in_the_page_body(client, cast):
    client.force_login(cast.outsider.user)
    response = client.get(reverse("orchestrator:team_detail", args=[cast.team["id"]]), headers=HTMX)
    assert_swapped_into_the_page_body(
        response, "That page does not exist, or your Nexical account cannot see it."
    )


def test_refresh_logs_that_fails_replaces_the_page_body_not_the_log_list(client, cast):
    project = cast.project()
    branch = cast.branch(project)
    job = cast.job(project, branch)
    url = reverse("orchestrator:job_detail", args=[cast.team["id"], project["id"], branch["id"], job["id"]])
    client.force_login(cast.outsider.user)
    # "Refresh logs" targets #log-lines with beforeend; the error must not be appended to the log.
    response = client.get(f"{url}?after=0", headers=HTMX)
    assert_swapped_into_the_page_body(response, "That page does not exist")


def test_an_htmx_page_without_a_connection_asks_to_connect_in_the_page_body(client, sandbox):
    from tests.support.helpers import dashboard_user

    client.force_login(dashboard_user())
    response = client.post(reverse("orchestrator:team_list"), {"name": "x", "create": "1"}, headers=HTMX)
    assert_swapped_into_the_page_body(response, "Connect your Nexical account")


# --- a stored token the keys cannot open -----------------------------------------------------------


def _unreadable(someone) -> Connection:
    # What a removed encryption key leaves behind: ciphertext no configured key opens.
    Connection.objects.filter(user=someone.user).update(secret_encrypted="gAAAAABnot-a-real-fernet-token")
    return Connection.objects.get(user=someone.user)


def test_an_undecryptable_token_asks_to_connect_again_and_flags_the_connection(client, sandbox):
    someone = person(sandbox)
    connection = _unreadable(someone)
    assert not connection.needs_attention
    client.force_login(someone.user)
    response = client.get(reverse("orchestrator:team_list"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "can no longer be read" in page
    assert "Reconnect Nexical" in page
    connection.refresh_from_db()
    assert connection.needs_attention


def test_an_undecryptable_token_on_an_htmx_request_is_swapped_in(client, sandbox):
    someone = person(sandbox)
    _unreadable(someone)
    client.force_login(someone.user)
    response = client.get(reverse("orchestrator:api_tokens"), headers=HTMX)
    assert_swapped_into_the_page_body(response, "Connect Nexical again")


# --- double submits ------------------------------------------------------------------------------


INCLUDES = Path(__file__).resolve().parents[3] / "templates" / "includes"
# Set once on each page's body container; every form inside inherits it (htmx attribute inheritance).
GUARD = 'hx-disabled-elt="find button[type=submit]" hx-indicator="find .htmx-indicator"'


def _templates() -> list[tuple[str, str]]:
    paths = sorted(TEMPLATES.glob("*.html")) + sorted(INCLUDES.glob("*.html"))
    return [(path.name, path.read_text()) for path in paths]


def test_every_htmx_form_disables_its_buttons_while_the_request_runs():
    pages = [
        (name, text)
        for name, text in _templates()
        if name in {path.name for path in TEMPLATES.glob("*.html")}
        and ("hx-post" in text or '"includes/form.html"' in text or '"includes/confirm.html"' in text)
    ]
    assert len(pages) >= 7
    unguarded = [
        name for name, text in pages if GUARD not in re.search(r'<div id="page-body"[^>]*>', text)[0]
    ]
    assert unguarded == []
    # ...and no form pastes its own copy of it.
    forms = [
        tag for _, text in _templates() for tag in re.findall(r"<form\b[^>]*>", text) if "hx-post" in tag
    ]
    assert len(forms) > 5
    assert [tag for tag in forms if "hx-disabled-elt" in tag or "hx-indicator" in tag] == []


def test_every_button_says_what_it_does():
    buttons = [(name, tag) for name, text in _templates() for tag in re.findall(r"<button\b[^>]*>", text)]
    untyped = [(name, tag) for name, tag in buttons if not re.search(r'\btype="(submit|button)"', tag)]
    assert untyped == []


def test_a_rendered_form_carries_the_guard(client, cast):
    client.force_login(cast.owner.user)
    page = client.get(reverse("orchestrator:team_list")).content.decode()
    assert 'hx-disabled-elt="find button[type=submit]"' in page
    assert '<button type="submit" class="btn btn-primary" name="create"' in page


def test_the_spinner_and_disabled_styles_are_still_there():
    css = (Path(__file__).resolve().parents[3] / "static" / "css" / "app.css").read_text()
    assert ".htmx-request .htmx-indicator" in css
    assert "button:disabled" in css


# --- in a browser ----------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_a_failed_refresh_shows_the_sentence(page, live_server, sandbox):
    from django.core.cache import cache

    cast = make_cast(sandbox)
    project = cast.project()
    branch = cast.branch(project)
    job = cast.job(project, branch)
    sign_in(page, live_server.url, cast.member.user)
    url = reverse("orchestrator:job_detail", args=[cast.team["id"], project["id"], branch["id"], job["id"]])
    page.goto(f"{live_server.url}{url}")
    page.locator("#refresh-logs").wait_for()
    # The member loses access while the page is open: once the access answer the dashboard keeps
    # (a minute) has expired, the next refresh must say so.
    cast.api(cast.owner).http.delete(f"/teams/{cast.team['id']}/members/{cast.member.id}").raise_for_status()
    cache.clear()
    page.click("#refresh-logs")
    page.get_by_text("This page doesn't exist").wait_for()
    assert page.locator("#log-lines").count() == 0
