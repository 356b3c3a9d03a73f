"""Fixtures of the log viewer's browser tests (test_logviewer_*.py): one shared SQLite connection
for every thread, and the dashboard under uvicorn for Server-Sent Events."""

import socket
import threading
import time

import pytest


@pytest.fixture
def one_connection(monkeypatch):
    """On the in-memory SQLite test database, every thread uses the test's own connection.

    Django's live server shares that connection with its request threads for the same reason, but
    async views and the live watcher run their queries in other threads, whose own connections to
    the shared in-memory database fail at once with "table is locked" when two of them meet. One
    connection has one transaction, so transactions are taken one thread at a time here. On a
    server database (PostgreSQL), threads keep their own connections, as in production.
    """
    from django.db import connections
    from django.db.transaction import Atomic
    from django.db.utils import ConnectionHandler

    shared = connections["default"]
    if not (shared.vendor == "sqlite" and shared.is_in_memory_db()):
        yield
        return
    shared.inc_thread_sharing()
    lookup, enter, leave = ConnectionHandler.__getitem__, Atomic.__enter__, Atomic.__exit__
    lock = threading.RLock()

    def locked_enter(self):
        lock.acquire()
        try:
            return enter(self)
        except BaseException:
            lock.release()
            raise

    def locked_leave(self, *exc_info):
        try:
            return leave(self, *exc_info)
        finally:
            lock.release()

    monkeypatch.setattr(
        ConnectionHandler,
        "__getitem__",
        lambda self, alias: shared if alias == "default" else lookup(self, alias),
    )
    monkeypatch.setattr(Atomic, "__enter__", locked_enter)
    monkeypatch.setattr(Atomic, "__exit__", locked_leave)
    yield
    # A request the closed page left in flight closes the connection in its own thread when it ends:
    # it must end while that thread may still use the shared connection.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(
        thread.name.endswith("(process_request_thread)") for thread in threading.enumerate()
    ):
        time.sleep(0.01)
    shared.dec_thread_sharing()


@pytest.fixture
def asgi_url(transactional_db, sandbox, one_connection):
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
