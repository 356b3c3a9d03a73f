"""Compression: pages are gzipped for a browser that accepts it, static files always (in development
too), and neither the live streams nor the pages that show a secret once are compressed."""

import asyncio
import gzip
import re

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from dashboard.core.compression import CompressPages
from tests.support.helpers import connected_user, dashboard_user, watch_secret
from tests.support.orchestrator_cast import make_cast
from tests.support.two_factor import code_for
from tests.unit.test_static_path import call

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}


@pytest.mark.django_db
def test_a_page_is_compressed_when_the_browser_accepts_gzip(client):
    plain = client.get("/accounts/login/")
    assert "Content-Encoding" not in plain.headers
    compressed = client.get("/accounts/login/", **GZIP)
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed.headers["Vary"]
    page = gzip.decompress(compressed.content)  # the same page (its masked CSRF token differs)
    assert len(page) == len(plain.content) and page.endswith(b"</html>\n")
    assert len(compressed.content) < len(plain.content) / 2


@pytest.mark.django_db
def test_a_page_that_shows_a_secret_once_is_not_compressed(client, sandbox):
    user, _ = connected_user(sandbox)
    client.force_login(user)
    tokens = client.get("/settings/tokens/", **GZIP)
    assert tokens.status_code == 200
    assert "Content-Encoding" not in tokens.headers
    connections = client.get("/settings/connections/", **GZIP)
    assert "Content-Encoding" not in connections.headers
    profile = client.get("/settings/profile/", **GZIP)
    assert profile.headers["Content-Encoding"] == "gzip"


@pytest.mark.django_db
def test_the_two_factor_key_and_the_recovery_codes_are_not_compressed(client):
    user = dashboard_user()
    client.force_login(user)
    setup = client.post("/settings/security/", {"start": "1"}, **GZIP)  # the key and otpauth:// address
    assert b"otpauth://" in setup.content
    assert "Content-Encoding" not in setup.headers
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    watch_secret(device.key)
    confirmed = client.post(
        "/settings/security/", {"device": device.pk, "otp_token": code_for(device), "confirm": "1"}, **GZIP
    )
    assert b'id="recovery-codes-list"' in confirmed.content
    assert "Content-Encoding" not in confirmed.headers
    for code in StaticToken.objects.filter(device__user=user).values_list("token", flat=True):
        watch_secret(f"{code[:4]}-{code[4:]}")


@pytest.mark.django_db
def test_a_new_channels_secret_is_not_compressed(client, sandbox):
    cast = make_cast(sandbox)
    client.force_login(cast.owner.user)
    channels = f"/teams/{cast.team['id']}/channels/"
    fields = {"name": "#deploys", "kind": "webhook", "url": "http://127.0.0.1:9/hook", "create": "1"}
    added = client.post(channels, fields | {"events": ["failed"], "production_branch": "main"}, **GZIP)
    assert b'id="new-secret-value"' in added.content
    assert "Content-Encoding" not in added.headers
    watch_secret(re.search(r'id="new-secret-value">([^<]+)<', added.content.decode())[1])
    assert "Content-Encoding" not in client.get(channels, **GZIP).headers


def test_a_stream_is_never_compressed():
    request = RequestFactory().get("/live/events", **GZIP)
    stream = StreamingHttpResponse(iter([b"data: 1\n\n"]), content_type="text/event-stream")
    answer = CompressPages(lambda _: stream).process_response(request, stream)
    assert not answer.has_header("Content-Encoding")
    page = HttpResponse(b"<p>" + b"words " * 100 + b"</p>")
    assert CompressPages(lambda _: page).process_response(request, page)["Content-Encoding"] == "gzip"


def test_static_files_are_compressed_in_development_too():
    plain = asyncio.run(call("/static/css/app.css"))
    compressed = asyncio.run(call("/static/css/app.css", [(b"accept-encoding", b"gzip, br")]))
    assert "content-encoding" not in plain["headers"]
    assert compressed["headers"]["content-encoding"] == "gzip"
    assert compressed["headers"]["vary"] == "Accept-Encoding"
    assert int(compressed["headers"]["content-length"]) == len(compressed["body"])
    assert gzip.decompress(compressed["body"]) == plain["body"]
    assert len(compressed["body"]) < len(plain["body"]) / 3
    icon = asyncio.run(call("/static/favicon.svg", [(b"accept-encoding", b"gzip")]))
    assert icon["headers"]["content-encoding"] == "gzip"
