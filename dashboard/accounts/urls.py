from django.urls import include, path

from .views.connections import connections
from .views.signup import signup

urlpatterns = [
    path("accounts/signup/", signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("settings/connections/", connections, name="connections"),
]
