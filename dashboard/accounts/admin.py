from django.contrib import admin
from django.http import HttpRequest

from .models import Connection


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    # The encrypted columns are left out on purpose: staff see who is connected, never the secret.
    list_display = ["user", "service", "secret_prefix", "account_label", "needs_attention", "verified_at"]
    list_filter = ["service", "needs_attention"]
    search_fields = ["user__username", "account_label"]
    fields = readonly_fields = (
        "user",
        "service",
        "secret_prefix",
        "account_label",
        "account_role",
        "needs_attention",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A connection is made by verifying a secret with its upstream (Settings > Connections); a row
        # added here would have no secret and no upstream identity, so it could only break pages.
        return False
