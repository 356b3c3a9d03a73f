from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("dashboard.home.urls")),
    path("", include("dashboard.connections.urls")),
    path("", include("dashboard.orchestrator.urls")),
    path("", include("dashboard.nexustoken.urls")),
    path("", include("dashboard.tracking.urls")),
    path("", include("dashboard.notifications.urls")),
    path("admin/", admin.site.urls),
]

handler403 = "dashboard.core.views.permission_denied"
handler404 = "dashboard.core.views.page_not_found"
handler500 = "dashboard.core.views.server_error"
