"""The NexusToken emulator, mounted at /nexustoken/: the v1 API, plus the checkout and device pages."""

from django.urls import path, re_path

from . import pages, views_account, views_auth, views_tasks
from .api import endpoint, not_found

a, t, u = views_account, views_tasks, views_auth


# Ids are matched as any string and checked by the views, so a malformed id is a JSON 404 too.
def api(route: str, methods: dict, auth: bool = True, name: str | None = None):
    return path(f"api/v1/{route}", endpoint(methods, auth=auth), name=name)


urlpatterns = [
    path("health", endpoint({"GET": u.health}, auth=False), name="nt-health"),
    api("heartbeat", {"GET": u.heartbeat}, auth=False, name="nt-heartbeat"),
    # Auth
    api("auth/register", {"POST": u.register}, auth=False),
    api("auth/rotate-key", {"POST": u.rotate_key}),
    api("auth/recover", {"POST": u.recover}, auth=False),
    api("auth/verify-recover", {"POST": u.verify_recover}, auth=False),
    # Tasks
    api("tasks", {"POST": t.create_task, "GET": t.my_tasks}),
    api("tasks/available", {"GET": t.available}),
    api("tasks/<str:task_id>", {"GET": t.get_task, "DELETE": t.cancel_task}),
    api("tasks/<str:task_id>/bid", {"POST": t.bid}),
    api("tasks/<str:task_id>/submit", {"POST": t.submit}),
    path("api/v1/events/stream", t.events_stream, name="nt-events"),
    # Credits
    api("credits/balance", {"GET": a.balance}),
    api("credits/topup", {"POST": a.topup}),
    api("credits/stripe/create-session", {"POST": a.create_checkout}),
    api("credits/stripe/session/<str:session_id>", {"GET": a.checkout_status}),
    api("credits/credit-info", {"GET": a.credit_info}),
    api("credits/repay", {"POST": a.repay}),
    # Capabilities
    api("capabilities", {"POST": a.create_capability, "GET": a.my_capabilities}),
    api("capabilities/browse", {"GET": a.browse_capabilities}),
    api("capabilities/<str:capability_id>/stats", {"GET": a.capability_stats}),
    api("capabilities/<str:capability_id>/availability", {"PATCH": a.set_availability}),
    # Account
    api("account/reputation", {"GET": a.reputation}),
    api("account/webhook-secret/rotate", {"POST": a.rotate_webhook_secret}),
    # OAuth: simulated GitHub credit, and the device flow
    api("oauth/github/authorize", {"GET": u.github_authorize}),
    api("oauth/github/callback", {"GET": u.github_callback}, auth=False),
    api("oauth/github/link", {"POST": u.github_link}),
    api("oauth/github/refresh", {"POST": u.github_refresh}),
    api("oauth/device/authorize", {"POST": u.device_authorize}, auth=False),
    api("oauth/device/token", {"POST": u.device_token}, auth=False),
    api("oauth/device/approve", {"POST": u.device_approve}),
    # HTML pages: the fake Stripe Checkout and the device-code approval page
    path("checkout/<str:session_id>", pages.checkout, name="nt-checkout"),
    path("checkout/<str:session_id>/cancel", pages.checkout_cancel, name="nt-checkout-cancel"),
    path("device", pages.device, name="nt-device"),
    # Last: every other path answers the API's JSON 404 rather than Django's HTML page.
    re_path(r"^.*$", not_found),
]
