from django.urls import path

from . import views

app_name = "security"

urlpatterns = [
    path("settings/security/", views.security, name="security"),
    path("accounts/two-factor/", views.second_step, name="second_step"),
]
