"""`login_required` for the dashboard's views, without a thread hand-off on async ones.

Django's decorator, around an async view, awaits `request.auser()` and then runs its test
(`user.is_authenticated`) through `sync_to_async`: a trip to the request's thread and back on every
page, just to read a boolean. Here `resolve_user` (dashboard.core.middleware) has loaded the user
before any view runs, so an async view reads `request.user` as it is. A sync view keeps Django's
decorator, which reads `request.user` directly already.

A signed-out request gets Django's redirect to the sign-in page, with this page as `next`
(LOGIN_URL is a path on this site, so the path and query are enough).
"""

from collections.abc import Callable
from functools import wraps
from inspect import iscoroutinefunction
from typing import Any, cast

from django.contrib.auth.decorators import login_required as django_login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.http.response import HttpResponseBase


def login_required[V: Callable[..., Any]](view: V) -> V:
    if not iscoroutinefunction(view):
        return django_login_required(view)

    @wraps(view)
    async def signed_in_only(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            response: HttpResponseBase = await view(request, *args, **kwargs)
            return response
        return redirect_to_login(request.get_full_path())

    return cast(V, signed_in_only)
