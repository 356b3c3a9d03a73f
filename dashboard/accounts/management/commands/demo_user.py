"""Create the demo dashboard user, connected to the sandbox's demo accounts (for `make run`)."""

import asyncio
import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.accounts.clients import nexical_api_for_token
from dashboard.accounts.connections import save_connection
from dashboard.accounts.models import Service
from dashboard.services import http, nexical
from dashboard.services.errors import UpstreamError

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"  # documented in the README; development only
DEMO_NEXICAL_EMAIL = "ada@example.com"


async def _whoami(token: str) -> nexical.User:
    try:
        return await nexical.users_me(nexical_api_for_token(token))
    finally:
        await http.aclose()


class Command(BaseCommand):
    help = "Create (or refresh) the user demo / demo-password, connected to the sandbox's demo accounts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--credentials", required=True, help="the JSON written by `sandbox seed_demo`")

    def handle(self, *args: Any, credentials: str, **options: Any) -> None:
        try:
            demo = json.loads(Path(credentials).read_text())
            ada = next(u for u in demo["nexical"]["users"] if u["email"] == DEMO_NEXICAL_EMAIL)
            nexustoken = demo["nexustoken"]
        except (OSError, ValueError, KeyError, StopIteration) as exc:
            message = f"Cannot read the sandbox's demo credentials from {credentials}: {exc}"
            raise CommandError(message) from exc

        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.com", "first_name": "Ada"}
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        # The team page recognises the user's own row by the Nexical account id. `seed_demo` writes
        # it to the credentials file; an older file lacks it, so then ask Nexical, as the Connections
        # page would.
        account_id, label, role = str(ada.get("id", "")), ada["email"], ada.get("role", "user")
        if not account_id:
            try:
                me = asyncio.run(_whoami(ada["token"]))
            except UpstreamError as error:
                self.stderr.write(
                    f"Nexical did not say who the demo token belongs to: {error.user_message} "
                    "The demo user is connected without its Nexical account id until this command "
                    "runs again with the sandbox up."
                )
            else:
                account_id, label, role = str(me.id), me.email or label, me.role
        save_connection(
            user,
            Service.NEXICAL,
            secret=ada["token"],
            account_id=account_id,
            account_label=label,
            account_role=role,
        )
        save_connection(
            user,
            Service.NEXUSTOKEN,
            secret=nexustoken["api_key"],
            webhook_secret=nexustoken.get("webhook_secret", ""),
            account_id=nexustoken.get("account_id", ""),
            account_label=nexustoken.get("email", ""),
        )
        self.stdout.write(f"Demo user ready: {DEMO_USERNAME} / {DEMO_PASSWORD}")
