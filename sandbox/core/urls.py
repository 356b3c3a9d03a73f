from django.urls import path

from . import views

urlpatterns = [
    path("knobs", views.knobs_view, name="sandbox-knobs"),
    path("requests", views.requests_view, name="sandbox-requests"),
    path("health", views.health, name="sandbox-health"),
]
