from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path

urlpatterns = [
    path("", include("dashboard.home.urls")),
    path("", include("dashboard.connections.urls")),
    # django.contrib.auth's pages keep their own names (login, logout, password_*), unnamespaced.
    # Our "login" comes first: a signed-in visitor goes on to the dashboard (or ?next=).
    path("accounts/login/", LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("dashboard.orchestrator.urls")),
    path("", include("dashboard.nexustoken.urls")),
    path("", include("dashboard.tracking.urls")),
    path("", include("dashboard.notifications.urls")),
    path("", include("dashboard.security.urls")),
    # Passkeys' JSON endpoints, under the URL names django-otp-webauthn's scripts expect.
    path("settings/security/passkeys/", include("dashboard.security.passkeys")),
    path("admin/", admin.site.urls),
]

handler403 = "dashboard.core.views.permission_denied"
handler404 = "dashboard.core.views.page_not_found"
handler500 = "dashboard.core.views.server_error"
