from django.conf import settings


def site(request) -> dict:
    # Only reads what the middleware loaded: a context processor must not query the database,
    # because async views render from inside the event loop.
    return {
        "SIGNUP_OPEN": settings.SIGNUP_OPEN,
        "connection_alerts": getattr(request, "connection_alerts", []),
    }
