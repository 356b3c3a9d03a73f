from django.urls import path

from . import webhooks
from .views import (
    capabilities,
    credits,
    purchases,
    reputation,
    task_detail,
    task_list,
    task_new,
    usage,
)

app_name = "nexustoken"

urlpatterns = [
    path("tasks/", task_list.task_list, name="task_list"),
    path("tasks/new/", task_new.task_new, name="task_new"),
    path("tasks/export.csv", task_list.task_export, name="task_export"),
    path("tasks/webhooks/<str:token>/", webhooks.receive, name="task_webhook"),
    path("tasks/<str:task_id>/", task_detail.task_detail, name="task_detail"),
    path("tasks/<str:task_id>/result.json", task_detail.task_result, name="task_result"),
    path("credits/", credits.credits_page, name="credits"),
    path("credits/checkout/", credits.checkout_return, name="credits_checkout"),
    path("credits/usage/", usage.usage, name="credits_usage"),
    path("credits/usage/export.csv", usage.usage_export, name="credits_usage_export"),
    path("credits/purchases/", purchases.purchase_list, name="credits_purchases"),
    path("credits/purchases/<int:purchase_id>/receipt/", purchases.purchase_receipt, name="credits_receipt"),
    path("reputation/", reputation.reputation, name="reputation"),
    path("capabilities/", capabilities.capabilities, name="capabilities"),
    path("capabilities/<uuid:capability_id>/", capabilities.capability_stats, name="capability_stats"),
]
