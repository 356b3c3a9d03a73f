from django.contrib import admin

from .models import JobEvent, JobInterest, ProjectScan, ProjectWatch, TeamRoster, TrackedJob


@admin.register(TrackedJob)
class TrackedJobAdmin(admin.ModelAdmin):
    list_display = [
        "job_id",
        "team_id",
        "project_id",
        "branch_id",
        "status",
        "gone",
        "error_count",
        "next_poll_at",
    ]
    list_filter = ["status", "gone", "logs_complete"]
    search_fields = ["job_id", "team_name", "project_name", "branch_name"]


@admin.register(JobInterest)
class JobInterestAdmin(admin.ModelAdmin):
    list_display = ["user", "job", "reason", "created_at"]
    list_filter = ["reason"]


@admin.register(ProjectWatch)
class ProjectWatchAdmin(admin.ModelAdmin):
    list_display = ["user", "team_id", "project_id", "created_at"]


@admin.register(ProjectScan)
class ProjectScanAdmin(admin.ModelAdmin):
    list_display = ["team_id", "project_id", "next_scan_at", "error_count", "scanned_at"]


@admin.register(JobEvent)
class JobEventAdmin(admin.ModelAdmin):
    list_display = ["job", "from_status", "to_status", "at", "pass_id"]


@admin.register(TeamRoster)
class TeamRosterAdmin(admin.ModelAdmin):
    list_display = ["team_id", "read_at"]
