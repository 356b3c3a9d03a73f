from django.urls import include, path

urlpatterns = [
    path("_sandbox/", include("sandbox.core.urls")),
    # Test and demo helpers of each emulator (admin token only), beside the knobs.
    path("_sandbox/nexical/", include("sandbox.nexical.admin_urls")),
    path("_sandbox/nexustoken/", include("sandbox.nexustoken.admin_urls")),
    path("nexical/", include("sandbox.nexical.urls")),
    path("nexustoken/", include("sandbox.nexustoken.urls")),
]
