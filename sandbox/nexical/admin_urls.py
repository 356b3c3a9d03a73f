"""Nexical test helpers, mounted at /_sandbox/nexical/."""

from django.urls import path

from . import admin_views

urlpatterns = [
    path("users", admin_views.users, name="sandbox-nexical-users"),
    path("outbox", admin_views.outbox, name="sandbox-nexical-outbox"),
    path("jobs", admin_views.jobs, name="sandbox-nexical-jobs"),
    path("jobs/<int:job_id>/burst", admin_views.log_burst, name="sandbox-nexical-burst"),
    path("invites/<int:invite_id>/expire", admin_views.expire_invitation, name="sandbox-nexical-expire"),
]
