from django.conf import settings
from django.db import models

from . import crypto


class Service(models.TextChoices):
    NEXICAL = "nexical", "Nexical Orchestrator"
    NEXUSTOKEN = "nexustoken", "NexusToken"


class Connection(models.Model):
    """A user's credentials for one upstream service, encrypted at rest.

    Only `secret_prefix` is ever shown back. `needs_attention` is set when the upstream rejects the
    secret, so every page that uses it can ask the user to reconnect.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="connections")
    service = models.CharField(max_length=20, choices=Service.choices)
    secret_encrypted = models.TextField()
    secret_prefix = models.CharField(max_length=16)
    # NexusToken only: the secret that signs the webhooks of this account's tasks.
    webhook_secret_encrypted = models.TextField(blank=True)
    # Who the secret belongs to upstream, as the upstream said when we last checked it.
    account_id = models.CharField(max_length=64, blank=True)
    account_label = models.CharField(max_length=200, blank=True)
    account_role = models.CharField(max_length=20, blank=True)
    needs_attention = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "service"], name="one_connection_per_service")]

    def __str__(self) -> str:
        return f"{self.get_service_display()} for {self.user} ({self.secret_prefix}…)"

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = crypto.encrypt(value)
        self.secret_prefix = value[:8]

    @property
    def webhook_secret(self) -> str:
        return crypto.decrypt(self.webhook_secret_encrypted) if self.webhook_secret_encrypted else ""

    @webhook_secret.setter
    def webhook_secret(self, value: str) -> None:
        self.webhook_secret_encrypted = crypto.encrypt(value) if value else ""
