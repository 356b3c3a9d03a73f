"""The dynamic path stays async: WhiteNoise serves /static/ in dashboard/asgi.py, before Django's
middleware chain, every middleware left in the chain can run on the async stack, Django's own run
their hooks without a thread, and a request's sync work runs on a thread kept between requests."""

import asyncio

import pytest
from django.conf import settings
from django.utils.module_loading import import_string

from dashboard import asgi


def test_no_middleware_is_sync_only():
    sync_only = [
        path
        for path in settings.MIDDLEWARE
        if not getattr(import_string(path), "async_capable", False)  # Django's default: sync only
    ]
    assert sync_only == []
    assert not any("whitenoise" in path for path in settings.MIDDLEWARE)


async def call(path: str, headers: list[tuple[bytes, bytes]] | None = None, method: str = "GET") -> dict:
    """One request straight to the ASGI application; returns the status, headers and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *(headers or [])],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    sent: list[dict] = []
    bodies = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if bodies:
            return bodies.pop()
        await asyncio.Event().wait()  # the client stays connected until the response ends
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        sent.append(message)

    await asgi.application(scope, receive, send)
    start = sent[0]
    return {
        "status": start["status"],
        "headers": {name.decode(): value.decode() for name, value in start["headers"]},
        "body": b"".join(message.get("body", b"") for message in sent[1:]),
    }


def test_static_files_are_served_outside_django(monkeypatch):
    def no_django(*_args):
        raise AssertionError("a static file went through Django")

    monkeypatch.setattr(asgi, "django_application", no_django)
    css = asyncio.run(call("/static/css/app.css"))
    assert css["status"] == 200
    assert css["headers"]["content-type"].startswith("text/css")
    assert b"{" in css["body"] and len(css["body"]) == int(css["headers"]["content-length"])
    htmx = asyncio.run(call("/static/django_htmx/htmx-2.min.js"))
    assert htmx["status"] == 200
    assert asyncio.run(call("/static/no-such-file.css"))["status"] == 404
    assert asyncio.run(call("/static/css/app.css", method="POST"))["status"] == 405


def test_an_unchanged_file_is_not_sent_again():
    first = asyncio.run(call("/static/css/app.css"))
    again = asyncio.run(call("/static/css/app.css", [(b"if-none-match", first["headers"]["etag"].encode())]))
    assert again["status"] == 304
    assert again["body"] == b""


def test_a_range_is_served():
    part = asyncio.run(call("/static/css/app.css", [(b"range", b"bytes=0-9")]))
    assert part["status"] == 206
    assert len(part["body"]) == 10


@pytest.mark.django_db
def test_pages_still_go_to_django():
    page = asyncio.run(call("/accounts/login/"))
    assert page["status"] == 200
    assert b"<form" in page["body"]


@pytest.mark.django_db
def test_django_middleware_hooks_run_on_the_event_loop(monkeypatch):
    """MiddlewareMixin hands each hook to a thread on the async stack; ours run them in place."""
    from asgiref.sync import SyncToAsync

    handed_over: list[str] = []
    original = SyncToAsync.__init__

    def recording(self, func, *args, **kwargs):
        handed_over.append(getattr(func, "__qualname__", repr(func)))
        original(self, func, *args, **kwargs)

    monkeypatch.setattr(SyncToAsync, "__init__", recording)
    assert asyncio.run(call("/accounts/login/"))["status"] == 200
    hooks = [name for name in handed_over if name.split(".")[-1].startswith("process_")]
    assert handed_over  # the session and user are still read in a thread
    assert hooks == []


@pytest.mark.django_db
def test_requests_reuse_their_thread():
    """Each request's sync work runs on a thread kept for the next request, not a new one each."""
    import threading

    from django.core.signals import request_finished

    threads: list[threading.Thread] = []  # the objects: an ended thread's ident may be given again

    def finished(**_kwargs) -> None:
        threads.append(threading.current_thread())

    request_finished.connect(finished)
    try:

        async def two_requests() -> None:
            for _ in range(2):
                await call("/accounts/login/")

        asyncio.run(two_requests())
    finally:
        request_finished.disconnect(finished)
    assert len(threads) == 2
    assert threads[0] is threads[1] is not threading.current_thread()
