"""Fill the sandbox with its demo data (idempotent) and write the demo credentials as JSON."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from sandbox.nexical import demo as nexical_demo
from sandbox.nexustoken import demo as nexustoken_demo


class Command(BaseCommand):
    help = "Create the demo users, teams, projects, jobs, account and tasks; print their credentials."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="also write the credentials to this JSON file")

    def handle(self, *args, output=None, **options):
        credentials = {"nexical": nexical_demo.seed(), "nexustoken": nexustoken_demo.seed()}
        text = json.dumps(credentials, indent=2)
        if output:
            path = Path(output)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n")
        self.stdout.write(text)
