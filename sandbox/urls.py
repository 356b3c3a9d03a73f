from django.urls import include, path

urlpatterns = [
    path("_sandbox/", include("sandbox.core.urls")),
    path("nexical/", include("sandbox.nexical.urls")),
    path("nexustoken/", include("sandbox.nexustoken.urls")),
]
