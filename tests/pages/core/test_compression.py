"""Compression: pages are gzipped for a browser that accepts it, static files always (in development
too), and neither the live streams nor the pages that show a secret once are compressed."""

import asyncio
import gzip

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from dashboard.core.compression import CompressPages
from tests.support.helpers import connected_user
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
