"""Serve both emulated APIs on one port, with their simulated activity running beside them."""

import importlib
import os
import signal
import socketserver
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.core.wsgi import get_wsgi_application
from django.db import DatabaseError, connections

from sandbox.core import knobs
from sandbox.nexical import demo as nexical_demo

SIMULATIONS = ["sandbox.nexical.simulation", "sandbox.nexustoken.simulation"]


class Command(BaseCommand):
    help = "Run the sandbox (Nexical at /nexical, NexusToken at /nexustoken) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001, help="0 takes any free port")
        parser.add_argument(
            "--port-file",
            type=Path,
            help="write the port listened on here once the sandbox answers (with --port 0, for tests "
            "running side by side: whoever asked for a port keeps it, so two never race for one)",
        )
        parser.add_argument("--seed", action="store_true", help="fill the demo data first")
        parser.add_argument("--no-migrate", action="store_true")
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="serve from this many forked processes, as a real upstream does (for benchmarks); "
            "knobs then come from SANDBOX_* variables only, since each process holds its own",
        )

    def handle(self, *args, host, port, port_file, seed, no_migrate, processes, **options):
        if not no_migrate:
            call_command("migrate", verbosity=0, interactive=False)
        # Idempotent: the admin token works on /nexical with or without the demo data.
        try:
            nexical_demo.ensure_admin()
        except DatabaseError as error:
            self.stderr.write(f"No Nexical system user (is the database migrated?): {error}")
        if seed:
            call_command("seed_demo")
        server = ThreadedServer((host, port), RequestHandler)
        server.set_app(get_wsgi_application())
        port = server.server_address[1]
        base_url = f"http://{host}:{port}"
        if "SANDBOX_PUBLIC_URL" not in os.environ:
            # The URLs it hands out (checkout, verification) point at the port it really got.
            reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
            settings.SANDBOX_PUBLIC_URL = f"http://{reachable}:{port}"
        if processes > 1:
            knobs.freeze()
            _fork_workers(processes - 1)
        # Only the first process runs the simulated activity: its threads would not survive a fork.
        for module in SIMULATIONS:
            importlib.import_module(module).start(base_url)
        self.stdout.write(
            f"Sandbox on {base_url}  (Nexical {base_url}/nexical, NexusToken {base_url}/nexustoken)"
        )
        self.stdout.flush()
        if port_file:
            # Written whole under another name, then renamed: a reader never sees half a number.
            partial = port_file.with_name(port_file.name + ".partial")
            partial.write_text(str(port))
            partial.replace(port_file)
        server.serve_forever()


def _fork_workers(count: int) -> None:
    """Fork processes that serve the same listening socket; they stop when this one does."""
    connections.close_all()  # a database connection must never be shared across a fork
    for connection in connections.all():
        if hasattr(connection, "close_pool"):  # PostgreSQL's: each process makes its own pool
            connection.close_pool()
    children = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            parent = os.getppid()
            threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
            return
        children.append(pid)

    def stop(signum, frame):
        for pid in children:
            os.kill(pid, signal.SIGTERM)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


class ThreadedServer(socketserver.ThreadingMixIn, WSGIServer):
    """Django's development server, one thread per request, so injected latency and long SSE
    streams never hold up other requests."""

    daemon_threads = True
    request_queue_size = 128


class RequestHandler(WSGIRequestHandler):
    # The handler writes headers and body in separate sends; with Nagle's algorithm on, a client
    # that keeps the connection alive waits ~40 ms for the delayed ACK on every response.
    disable_nagle_algorithm = True

    def handle(self):
        try:
            super().handle()
        finally:
            # The HTTP connection is over and its thread ends: so does its database connection.
            connections.close_all()
