from django.urls import path

from .views.audit import my_audit
from .views.connections import connections
from .views.signup import signup

app_name = "connections"

urlpatterns = [
    path("accounts/signup/", signup, name="signup"),
    path("settings/connections/", connections, name="connections"),
    path("settings/audit/", my_audit, name="my_audit"),
]
