"""What sign-in security keeps besides django-otp's devices: the user's signed-in sessions, and the
recovery codes already spent (so a second use is told apart from a typo)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class UserSession(models.Model):
    """One signed-in browser session, for Settings > Security's list.

    Django's session rows hold no user, address or browser. The session key itself is a credential:
    it is found by its SHA-256 (`key_hash`) and kept only encrypted (`key_sealed`, to end the session
    from another one); it is never shown nor logged.
    """

    key_hash = models.CharField(max_length=64, unique=True)
    key_sealed = models.TextField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user", "-last_seen_at"], name="security_session_user_seen")]

    def __str__(self) -> str:
        return f"session of user {self.user_id} last seen {self.last_seen_at:%Y-%m-%d %H:%M}"


class SpentRecoveryCode(models.Model):
    """A recovery code that was used (a keyed hash, never the code): its second use gets its own sentence."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="security_spent_code_once"),
        ]

    def __str__(self) -> str:
        return f"recovery code spent by user {self.user_id} at {self.used_at:%Y-%m-%d %H:%M}"
