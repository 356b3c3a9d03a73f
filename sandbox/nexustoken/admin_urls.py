"""Test and demo helpers at /_sandbox/nexustoken/ (sandbox admin token only)."""

from django.urls import path

from . import admin_views

urlpatterns = [
    path("recover-codes", admin_views.recover_codes, name="nt-admin-recover-codes"),
    path("accounts/<uuid:account_id>", admin_views.update_account, name="nt-admin-account"),
    path("accounts/<uuid:account_id>/credits", admin_views.grant_credits, name="nt-admin-credits"),
    path("tasks", admin_views.tasks, name="nt-admin-tasks"),
    path("webhooks", admin_views.webhooks, name="nt-admin-webhooks"),
    path("tasks/<uuid:task_id>/close-auction", admin_views.close_auction, name="nt-admin-close-auction"),
    path("checkout/<str:session_id>/expire", admin_views.expire_checkout, name="nt-admin-expire-checkout"),
]
