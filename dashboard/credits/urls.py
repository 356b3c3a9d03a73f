from django.urls import path

from .views import account, credits, usage

urlpatterns = [
    path("credits/", credits.credits_page, name="credits"),
    path("credits/checkout/", credits.checkout_return, name="credits_checkout"),
    path("credits/usage/", usage.usage, name="credits_usage"),
    path("reputation/", account.reputation, name="reputation"),
    path("capabilities/", account.capabilities, name="capabilities"),
    path("capabilities/<uuid:capability_id>/", account.capability_stats, name="capability_stats"),
]
