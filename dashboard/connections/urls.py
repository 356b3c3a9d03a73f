from django.contrib.auth.views import LoginView
from django.urls import include, path

from .views.connections import connections
from .views.signup import signup

urlpatterns = [
    path("accounts/signup/", signup, name="signup"),
    # Before django.contrib.auth's own "login": a signed-in visitor goes on to the dashboard (or ?next=).
    path("accounts/login/", LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("settings/connections/", connections, name="connections"),
]
