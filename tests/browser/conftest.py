"""Fixtures of the log viewer's browser tests (test_logviewer_*.py): the dashboard under uvicorn,
for Server-Sent Events."""

import socket
import threading
import time

import pytest


@pytest.fixture
def asgi_url(transactional_db, sandbox):
    """The dashboard under uvicorn in a thread, as `make run` serves it: streams need ASGI (under
    WSGI, Django buffers an async stream whole)."""
    import uvicorn
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        ASGIStaticFilesHandler(get_asgi_application()),
        log_level="warning",
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    listener.close()
