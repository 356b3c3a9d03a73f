"""The bell's unread count, loaded before the view so every page's top bar can show it.

A context processor cannot do it: it runs while an async view renders, where the ORM refuses
synchronous queries. Fragments (htmx), event streams and JSON polls skip the query: they do not
draw the top bar.
"""

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware

from .models import Notification


def _wants_top_bar(request) -> bool:
    accept = request.headers.get("Accept", "")
    return (
        request.user.is_authenticated
        and not request.headers.get("HX-Request")
        and "text/event-stream" not in accept
        and "application/json" not in accept
    )


def _unread(request):
    return Notification.objects.filter(user=request.user, read_at__isnull=True)


@sync_and_async_middleware
def unread_count(get_response):
    if iscoroutinefunction(get_response):

        async def middleware(request):
            request.unread_notifications = await _unread(request).acount() if _wants_top_bar(request) else 0
            return await get_response(request)

    else:

        def middleware(request):
            request.unread_notifications = _unread(request).count() if _wants_top_bar(request) else 0
            return get_response(request)

    return middleware
