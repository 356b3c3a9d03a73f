"""Serve both emulated APIs on one port, with their simulated activity running beside them."""

import importlib

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.core.servers.basehttp import WSGIServer, run
from django.core.wsgi import get_wsgi_application

SIMULATIONS = ["sandbox.nexical.simulation", "sandbox.nexustoken.simulation"]


class Command(BaseCommand):
    help = "Run the sandbox (Nexical at /nexical, NexusToken at /nexustoken) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--seed", action="store_true", help="fill the demo data first")
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args, host, port, seed, no_migrate, **options):
        if not no_migrate:
            call_command("migrate", verbosity=0, interactive=False)
        if seed:
            call_command("seed_demo")
        base_url = f"http://{host}:{port}"
        for module in SIMULATIONS:
            importlib.import_module(module).start(base_url)
        self.stdout.write(
            f"Sandbox on {base_url}  (Nexical {base_url}/nexical, NexusToken {base_url}/nexustoken)"
        )
        self.stdout.flush()
        # Django's threaded server: every request gets its own thread, so injected latency and
        # long SSE streams never hold up other requests.
        WSGIServer.request_queue_size = 128
        run(host, port, get_wsgi_application(), threading=True, server_cls=WSGIServer)
