"""Django's own middleware, with their hooks run on the event loop instead of a thread.

Django's core middleware are "async-capable" through `MiddlewareMixin`, which on the async stack runs
every `process_request`, `process_view` and `process_response` through `sync_to_async`: each one a
hand-off to the request's thread and back. With the eight below that was 16 hand-offs per page, more
than the page's own database queries, and a profile of a page (`bench.page_cpu --profile`) spent
more time handing work over than doing it.

These hooks do no I/O: they read and set headers, cookies and attributes, resolve a URL, or make lazy
objects. They run here as plain calls on the event loop, with the same code and in the same order.
The two that may touch the database keep the thread, only when they would:

- the session middleware saves a modified session (or every session, with
  SESSION_SAVE_EVERY_REQUEST);
- the messages middleware may read or write messages kept in the session, which is safe on the event
  loop only once the session is loaded (`resolve_user` loads it on every request it sees).

The CSRF middleware reads the token from the session when CSRF_USE_SESSIONS is set: it keeps the
thread then.

On the sync stack (Django's test client, a WSGI server) nothing changes: these are Django's classes.
"""

from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core.checks import CheckMessage, Tags, Warning, register
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.middleware import clickjacking, common, csp, csrf, security
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

View = Callable[..., Any]


class OnTheEventLoop(MiddlewareMixin):
    """MiddlewareMixin's async call, without the thread: `needs_thread` says when a hook still needs one."""

    def __init__(self, get_response: Any) -> None:
        super().__init__(get_response)
        sync_process_view: Callable[..., HttpResponseBase | None] | None = getattr(self, "process_view", None)
        if self.async_mode and sync_process_view is not None:
            # Django wraps a sync process_view in sync_to_async when the stack is async; a coroutine
            # function it awaits as it is. Set per instance, so the sync stack keeps the sync one.
            call_in_loop = sync_process_view

            async def process_view(
                request: HttpRequest, view: View, args: tuple[Any, ...], kwargs: dict[str, Any]
            ) -> HttpResponseBase | None:
                if self.needs_thread(request):
                    return await sync_to_async(call_in_loop)(request, view, args, kwargs)
                return call_in_loop(request, view, args, kwargs)

            vars(self)["process_view"] = process_view

    def needs_thread(self, request: HttpRequest, response: HttpResponseBase | None = None) -> bool:
        """Whether this request's hook may do blocking I/O (a database query) and must run in a thread."""
        return False

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = None
        process_request = getattr(self, "process_request", None)
        if process_request is not None:
            if self.needs_thread(request):
                response = await sync_to_async(process_request, thread_sensitive=True)(request)
            else:
                response = process_request(request)
        response = response or await self.get_response(request)  # type: ignore[misc]
        process_response = getattr(self, "process_response", None)
        if process_response is not None:
            if self.needs_thread(request, response):
                response = await sync_to_async(process_response, thread_sensitive=True)(request, response)
            else:
                response = process_response(request, response)
        return response  # type: ignore[no-any-return]


def _session_loaded(request: HttpRequest) -> bool:
    """Whether reading the session needs no query: it was loaded already, or there is none."""
    session = getattr(request, "session", None)
    return session is None or hasattr(session, "_session_cache")


class SecurityMiddleware(OnTheEventLoop, security.SecurityMiddleware):
    pass


class ContentSecurityPolicyMiddleware(OnTheEventLoop, csp.ContentSecurityPolicyMiddleware):
    pass


class SessionMiddleware(OnTheEventLoop, sessions.SessionMiddleware):
    def needs_thread(self, request: HttpRequest, response: HttpResponseBase | None = None) -> bool:
        if response is None:  # process_request only makes the lazy session object
            return False
        session = getattr(request, "session", None)
        return session is not None and (session.modified or settings.SESSION_SAVE_EVERY_REQUEST)


class CommonMiddleware(OnTheEventLoop, common.CommonMiddleware):
    pass


class CsrfViewMiddleware(OnTheEventLoop, csrf.CsrfViewMiddleware):
    def needs_thread(self, request: HttpRequest, response: HttpResponseBase | None = None) -> bool:
        return settings.CSRF_USE_SESSIONS and not _session_loaded(request)


class AuthenticationMiddleware(OnTheEventLoop, auth.AuthenticationMiddleware):
    pass


class MessageMiddleware(OnTheEventLoop, messages.MessageMiddleware):
    def needs_thread(self, request: HttpRequest, response: HttpResponseBase | None = None) -> bool:
        return response is not None and not _session_loaded(request)


class XFrameOptionsMiddleware(OnTheEventLoop, clickjacking.XFrameOptionsMiddleware):
    pass


# Django's deploy checks W001-W003 look for its own dotted paths in MIDDLEWARE, so they cannot see these
# subclasses: settings silence them, and this check asks the same questions of the classes themselves.
GUARDS = {
    security.SecurityMiddleware: "security.W001",
    clickjacking.XFrameOptionsMiddleware: "security.W002",
    csrf.CsrfViewMiddleware: "security.W003",
}


@register(Tags.security, deploy=True)
def check_guards(**_: object) -> list[CheckMessage]:
    installed = [import_string(path) for path in settings.MIDDLEWARE]
    return [
        Warning(
            f"No subclass of {guard.__module__}.{guard.__name__} in MIDDLEWARE (Django's {ident}).",
            id="core.W001",
        )
        for guard, ident in GUARDS.items()
        if not any(isinstance(cls, type) and issubclass(cls, guard) for cls in installed)
    ]
