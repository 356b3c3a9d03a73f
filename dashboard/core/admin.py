from django.contrib import admin

from .models import PollerHeartbeat


@admin.register(PollerHeartbeat)
class PollerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "started_at", "last_pass_at", "passes"]
