"""Re-encrypt every stored secret under the first key of TOKEN_ENCRYPTION_KEYS.

Rotation: put the new key first in TOKEN_ENCRYPTION_KEYS (keep the old ones after it), run this
command, then remove the old keys.
"""

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from dashboard.accounts import crypto
from dashboard.accounts.models import Connection


class Command(BaseCommand):
    help = "Re-encrypt all stored upstream secrets under the newest encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        with transaction.atomic():
            for connection in Connection.objects.select_for_update():
                connection.secret_encrypted = crypto.reencrypt(connection.secret_encrypted)
                webhook_secret = connection.webhook_secret_encrypted
                if webhook_secret:
                    connection.webhook_secret_encrypted = crypto.reencrypt(webhook_secret)
                connection.save(update_fields=["secret_encrypted", "webhook_secret_encrypted"])
                count += 1
        self.stdout.write(f"Re-encrypted {count} connection(s) under the newest key.")
