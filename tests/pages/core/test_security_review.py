"""Security review: sign-in on every URL, CSRF, method safety, redirects, one user's data vs another's,
template/CSP hygiene, and secrets that must never be echoed back."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import respx
from django.conf import settings
from django.core.signals import got_request_exception
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from dashboard.accounts.connections import save_connection
from dashboard.accounts.models import Connection, Service
from dashboard.connections.forms import NexicalTokenForm, NexusTokenKeyForm, WebhookSecretForm
from dashboard.connections.views import nexical_card
from dashboard.connections.views.connections import NEXICAL_BUTTONS, NEXUSTOKEN_BUTTONS
from dashboard.core.debug import AlwaysSafeExceptionReporterFilter
from dashboard.core.pages import action_name
from dashboard.orchestrator.forms import SystemUserForm
from dashboard.orchestrator.views import system
from dashboard.services.nexical import DeviceCode
from tests.support.helpers import connected_user, dashboard_user, unique, watch_secret

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
CONNECTIONS = "/settings/connections/"

# Pages anyone may open: signing in and out, password reset, sign-up and the health check.
PUBLIC = {
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "connections:signup",
    "home:healthz",
    "admin:login",
    "admin:logout",
    # NexusToken's deliveries: authenticated by their signature (tests/pages/nexustoken/test_webhooks.py)
    "nexustoken:task_webhook",
    # Prometheus's scrape: a bearer token, not a session (tests/pages/home/test_metrics.py)
    "home:metrics",
    # Passkeys' JSON endpoints answer an anonymous caller with a JSON refusal, not a redirect, and
    # their script's translations are public (tests/pages/security/test_security_settings.py).
    "otp_webauthn:credential-registration-begin",
    "otp_webauthn:credential-registration-complete",
    "otp_webauthn:credential-authentication-begin",
    "otp_webauthn:credential-authentication-complete",
    "otp_webauthn:js-i18n-catalog",
}
# The one view a server, not a browser, posts to: no session, so no CSRF token; the signature instead.
CSRF_EXEMPT = {"nexustoken:task_webhook"}

# A value per URL keyword the URLconf uses; a new keyword fails the collection loudly below.
SAMPLE_KWARGS = {
    "team_id": 1,
    "project_id": 1,
    "branch_id": 1,
    "job_id": 1,
    "channel_id": 1,
    "purchase_id": 1,
    "uidb64": "MQ",
    "token": "set-password",
    "app_label": "auth",
    "model_name": "user",
    "object_id": "1",
    "content_type_id": "1",
    "url": "x",
    "id": "1",
    "task_id": "00000000-0000-0000-0000-000000000001",
    "capability_id": "00000000-0000-0000-0000-000000000002",
}


def _names(patterns, namespace: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _names(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", entry


def _url(name: str, pattern: URLPattern) -> str:
    keywords = set(pattern.pattern.regex.groupindex)
    unknown = keywords - set(SAMPLE_KWARGS)
    assert not unknown, f"{name}: add a sample value for {sorted(unknown)} to SAMPLE_KWARGS"
    return reverse(name, kwargs={key: SAMPLE_KWARGS[key] for key in keywords})


def all_urls() -> list[tuple[str, str]]:
    """(name, a URL of it) for every named route of the URLconf, admin included."""
    seen: dict[str, str] = {}
    for name, pattern in _names(get_resolver().url_patterns):
        if name not in seen:
            seen[name] = _url(name, pattern)
    return sorted(seen.items())


URLS = all_urls()
PRIVATE = [(name, url) for name, url in URLS if name not in PUBLIC]


def test_the_url_collection_sees_every_area():
    names = {name for name, _ in PRIVATE}
    assert {
        "home:home",
        "connections:connections",
        "orchestrator:team_list",
        "orchestrator:job_detail",
        "orchestrator:system_admin",
        "orchestrator:device_verify",
    } <= names
    assert {"password_change", "admin:index"} <= names


# --- sign-in on every URL ------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(("name", "url"), PRIVATE, ids=[name for name, _ in PRIVATE])
def test_anonymous_requests_to_every_private_url_go_to_the_login_page(client, name, url, method):
    response = getattr(client, method)(url, {"nexical_remove": "1", "delete": "1"})
    assert response.status_code == 302, f"{method.upper()} {url} answered {response.status_code}"
    location = urlsplit(response.headers["Location"])
    login = reverse("admin:login") if name.startswith("admin:") else reverse(settings.LOGIN_URL)
    assert location.path == login
    assert not location.netloc


def test_anonymous_htmx_requests_are_refused_too(client):
    # Sent to sign in as a whole page (HX-Redirect), not drawn inside the page; nothing acted.
    response = client.post(CONNECTIONS, {"nexical_remove": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert urlsplit(response.headers["HX-Redirect"]).path == reverse("login")


# --- CSRF on every POST --------------------------------------------------------------------------


def test_no_view_of_the_dashboard_but_the_webhook_receiver_is_csrf_exempt():
    for name, url in URLS:
        assert getattr(resolve(url).func, "csrf_exempt", False) == (name in CSRF_EXEMPT), name
    sources = [p for p in (ROOT / "dashboard").rglob("*.py") if "csrf_exempt" in p.read_text()]
    assert sources == [ROOT / "dashboard" / "nexustoken" / "webhooks.py"]


CSRF_CHECKED = [(name, url) for name, url in URLS if name not in CSRF_EXEMPT]


@pytest.mark.parametrize(("name", "url"), CSRF_CHECKED, ids=[name for name, _ in CSRF_CHECKED])
def test_every_url_refuses_a_post_without_the_csrf_token(name, url):
    user = dashboard_user()
    user.is_staff = user.is_superuser = True
    user.save()
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    response = csrf_client.post(url, {"nexical_remove": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 403, f"POST {url} answered {response.status_code}"


def test_a_post_without_the_csrf_token_changes_nothing():
    user = dashboard_user()
    save_connection(user, Service.NEXICAL, secret="nx_" + "a" * 40, account_id="1", account_label="a@x.io")
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(user)
    assert csrf_client.post(CONNECTIONS, {"nexical_remove": "1"}).status_code == 403
    assert Connection.objects.filter(user=user, service=Service.NEXICAL).exists()


# --- GET never changes state ---------------------------------------------------------------------


def test_actions_are_read_from_the_post_body_only():
    request = RequestFactory().get("/teams/1/", {"delete": "1", "revoke": "1", "id": "3"})
    assert action_name(request, "delete", "revoke") is None


def test_a_get_carrying_every_action_name_changes_no_connection(client, sandbox):
    user, _ = connected_user(sandbox)
    client.force_login(user)
    response = client.get(CONNECTIONS, dict.fromkeys((*NEXICAL_BUTTONS, *NEXUSTOKEN_BUTTONS), "1"))
    assert response.status_code == 200
    assert Connection.objects.filter(user=user, service=Service.NEXICAL, needs_attention=False).exists()
    assert nexical_card.DEVICE_SESSION_KEY not in client.session


# --- one dashboard user never reaches another's connection --------------------------------------


def test_ids_posted_by_another_user_do_not_reach_a_foreign_connection(client):
    owner = dashboard_user()
    secret = "nx_" + "b" * 40
    webhook = "whsec_" + "c" * 30
    save_connection(owner, Service.NEXICAL, secret=secret, account_id="7", account_label="o@x.io")
    save_connection(owner, Service.NEXUSTOKEN, secret="d" * 64, webhook_secret=webhook, account_id="8")
    mine = Connection.objects.get(user=owner, service=Service.NEXICAL)
    intruder = dashboard_user()
    client.force_login(intruder)
    tampered = {"user": owner.pk, "user_id": owner.pk, "id": mine.pk, "pk": mine.pk, "connection": mine.pk}

    client.post(CONNECTIONS, {**tampered, "nexical_remove": "1"})
    client.post(CONNECTIONS, {**tampered, "nexustoken_remove": "1"})
    page = client.post(
        CONNECTIONS,
        {**tampered, "webhook-webhook_secret": "whsec_" + "e" * 30, "nexustoken_webhook_save": "1"},
    ).content.decode()

    assert Connection.objects.filter(user=owner).count() == 2
    assert Connection.objects.get(user=owner, service=Service.NEXUSTOKEN).webhook_secret == webhook
    assert "Connect NexusToken first." in page
    assert secret[:8] not in page and "o@x.io" not in page


# --- redirects built from input ------------------------------------------------------------------

EVIL_NEXTS = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "https:///evil.example",
    "javascript:alert(1)",
    " //evil.example",
]


@pytest.mark.parametrize("target", EVIL_NEXTS)
def test_the_login_next_parameter_never_leaves_the_site(client, target):
    user = dashboard_user()
    page = client.get(reverse("login"), {"next": target}).content.decode()
    assert "evil.example" not in page and "javascript:" not in page
    response = client.post(
        reverse("login"),
        {"username": user.username, "password": "correct-horse-battery-staple", "next": target},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == reverse(settings.LOGIN_REDIRECT_URL)


@pytest.mark.parametrize("target", EVIL_NEXTS)
def test_the_logout_next_parameter_never_leaves_the_site(client, target):
    client.force_login(dashboard_user())
    response = client.post(reverse("logout"), {"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == reverse(settings.LOGOUT_REDIRECT_URL)


def test_htmx_client_redirects_point_inside_the_dashboard(client, sandbox):
    user, _ = connected_user(sandbox)
    client.force_login(user)
    response = client.post(
        reverse("orchestrator:team_list"),
        {"name": unique("Team"), "create": "1"},
        headers={"HX-Request": "true"},
    )
    target = response.headers["HX-Redirect"]
    assert target.startswith("/teams/")
    assert url_has_allowed_host_and_scheme(target, allowed_hosts=None)


# --- upstream data in links ----------------------------------------------------------------------


def _fake_device_code(uri: str, complete: str | None):
    async def device_code_request(*, client_id: str) -> DeviceCode:
        return DeviceCode(
            device_code="dc-" + "f" * 20,
            user_code="ABCD-1234",
            verification_uri=uri,
            verification_uri_complete=complete,
            expires_in=600,
            interval=5,
        )

    return device_code_request


@pytest.mark.parametrize(
    ("uri", "complete"),
    [
        ("javascript:alert(document.cookie)", "javascript:alert(document.cookie)"),
        ("https://nexical.example/device", "javascript:alert(document.cookie)"),
        ("data:text/html,<script>alert(1)</script>", None),
        ("java\tscript:alert(1)", " javascript:alert(1)"),
    ],
)
def test_the_device_sign_in_never_links_to_a_script_url_from_upstream(client, monkeypatch, uri, complete):
    monkeypatch.setattr(nexical_card.nexical, "device_code_request", _fake_device_code(uri, complete))
    client.force_login(dashboard_user())
    page = client.post(CONNECTIONS, {"nexical_device_start": "1"}).content.decode()
    assert "ABCD-1234" in page
    assert "javascript:" not in page.lower() and "data:text" not in page
    assert "script:alert" not in page
    flow = client.session[nexical_card.DEVICE_SESSION_KEY]
    for key in ("verification_uri", "verification_uri_complete"):
        assert flow[key] == "" or flow[key].startswith("https://")
    if uri.startswith("https://"):
        assert 'href="https://nexical.example/device"' in page


def test_a_stored_device_flow_with_a_script_url_is_not_linked(client):
    client.force_login(dashboard_user())
    session = client.session
    session[nexical_card.DEVICE_SESSION_KEY] = {
        "device_code": "dc",
        "user_code": "WXYZ-9876",
        "verification_uri": "javascript:alert(1)",
        "verification_uri_complete": "javascript:alert(1)",
        "interval": 5,
        "expires_at": 4102444800,
    }
    session.save()
    page = client.get(CONNECTIONS).content.decode()
    assert "WXYZ-9876" in page
    assert 'href="javascript:' not in page


def test_a_negative_id_from_upstream_is_an_error_page_not_a_500(client, sandbox):
    user, _ = connected_user(sandbox)
    client.force_login(user)
    stamp = "2025-01-01T00:00:00Z"
    team = {"id": -4, "name": "Odd", "slug": "odd", "role": "owner", "createdAt": stamp, "updatedAt": stamp}
    with respx.mock:
        respx.get(f"{sandbox.nexical_url}/teams").mock(
            return_value=httpx.Response(200, json={"teams": [team]})
        )
        respx.route().pass_through()
        response = client.get(reverse("orchestrator:team_list"))
    assert response.status_code == 502
    assert "answered something unexpected" in response.content.decode()


# --- templates and the Content-Security-Policy ---------------------------------------------------


def template_files() -> list[Path]:
    folders = [ROOT / "templates", *(ROOT / "dashboard").glob("*/templates")]
    return sorted(path for folder in folders for path in folder.rglob("*.html"))


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=|<style\b", re.IGNORECASE)
TEMPLATE_COMMENT = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.DOTALL)


@pytest.mark.parametrize("path", template_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_templates_have_nothing_the_csp_would_block_or_that_skips_escaping(path):
    text = TEMPLATE_COMMENT.sub("", path.read_text())
    assert not INLINE_SCRIPT.search(text), "inline <script>: CSP (script-src 'self') blocks it"
    assert not EVENT_HANDLER.search(text), "on…= handler: CSP blocks it; wire it in static/js instead"
    assert "hx-on" not in text, "hx-on needs eval, which CSP forbids"
    assert not STYLE_ATTRIBUTE.search(text), "inline style: CSP (style-src 'self') blocks it"
    assert "|safe" not in text and "safeseq" not in text and "javascript:" not in text.lower()
    # A plain-text email is the one place where autoescaping is rightly off.
    if "autoescape off" in text:
        assert path.name.endswith("_email.html")


def test_pages_send_a_csp_without_inline_scripts_and_render_none(client):
    client.force_login(dashboard_user())
    for url in (reverse("login"), CONNECTIONS):
        response = client.get(url)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        body = response.content.decode()
        assert not INLINE_SCRIPT.search(body)
        assert not EVENT_HANDLER.search(body)


def test_the_static_scripts_use_no_eval_or_inner_html():
    for path in [ROOT / "static/js/app.js", *(ROOT / "dashboard").glob("*/static/**/*.js")]:
        text = path.read_text()
        for banned in (
            "eval(",
            "new Function",
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
        ):
            assert banned not in text, f"{path.name}: {banned}"


# --- secrets are never echoed back ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("form_class", "data", "field", "value"),
    [
        (NexicalTokenForm, {"nexical-token": "nx_has space secret"}, "token", "nx_has space secret"),
        (NexusTokenKeyForm, {"ntkey-api_key": "a" * 63 + "Z"}, "api_key", "a" * 63 + "Z"),
        (WebhookSecretForm, {"webhook-webhook_secret": "whsec_short"}, "webhook_secret", "whsec_short"),
        (
            SystemUserForm,
            {"full_name": "N", "email": "bad", "password": "hunter2-secret"},
            "password",
            "hunter2-secret",
        ),
    ],
)
def test_secret_fields_never_render_their_value(form_class, data, field, value):
    prefix = {NexicalTokenForm: "nexical", NexusTokenKeyForm: "ntkey", WebhookSecretForm: "webhook"}
    form = form_class(data, prefix=prefix[form_class]) if form_class in prefix else form_class(data)
    assert not form.is_valid()
    assert value not in str(form[field])
    assert value not in str(form)


def test_a_rejected_pasted_secret_is_not_echoed_in_the_page(client):
    client.force_login(dashboard_user())
    token = "nx_" + "q" * 30 + " tail"
    api_key = "0123456789abcdef" * 3 + "not-hex-at-all!!"
    for data in (
        {"nexical-token": token, "nexical_save": "1"},
        {"ntkey-api_key": api_key, "nexustoken_save": "1"},
    ):
        for headers in ({}, {"HX-Request": "true"}):
            body = client.post(CONNECTIONS, data, headers=headers).content.decode()
            for secret in (token, api_key, "q" * 30, "not-hex-at-all"):
                assert secret not in body


def test_the_new_users_password_is_hidden_from_error_reports(client, monkeypatch):
    user = dashboard_user()
    save_connection(
        user,
        Service.NEXICAL,
        secret="nx_" + "s" * 40,
        account_id="1",
        account_label="s@x.io",
        account_role="system",
    )
    password = "a-fresh-password-" + unique("p")
    watch_secret(password)

    def explode(*args, **kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr(system.nexical, "system_user_create", explode)
    seen = []

    def capture(sender, request, **kwargs):
        seen.append(request)

    got_request_exception.connect(capture)
    try:
        client.raise_request_exception = False
        client.force_login(user)
        response = client.post(
            reverse("orchestrator:system_admin"),
            {"full_name": "New", "email": "new@example.com", "password": password, "create_user": "1"},
        )
    finally:
        got_request_exception.disconnect(capture)
    assert response.status_code == 500
    assert password not in response.content.decode()
    (request,) = seen
    shown = AlwaysSafeExceptionReporterFilter().get_post_parameters(request)
    assert shown["password"] != password
    assert shown["email"] == "new@example.com"
