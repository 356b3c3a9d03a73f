from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    # Only reads what the middleware loaded: a context processor must not query the database,
    # because async views render from inside the event loop.
    return {
        "SIGNUP_OPEN": settings.SIGNUP_OPEN,
        "connection_alerts": getattr(request, "connection_alerts", []),
        "is_nexical_system": _is_nexical_system(request),
        # The main-menu item of this page, set by the view (dashboard.core.sections); "" for none.
        "menu_section": getattr(request, "menu_section", ""),
    }


def _is_nexical_system(request: HttpRequest) -> bool:
    """Whether the connected Nexical account is a system account (it may open the System page)."""
    connection = getattr(request, "connections", {}).get("nexical")
    return connection is not None and connection.account_role == "system"
