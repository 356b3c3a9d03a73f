"""Which main-menu item a page belongs to: the view says so, base.html marks that item as current.

`@menu_section("teams")` on a view puts the name on the request; the `site` context processor hands
it to the templates as `menu_section`. The menu never guesses from the URL, so moving a page's
path cannot silently un-highlight it.
"""

from collections.abc import Callable
from functools import wraps
from inspect import iscoroutinefunction
from typing import Any, cast

# The items of the main menu (templates/base.html) a page can belong to.
SECTIONS = frozenset({"teams", "deployments", "tasks", "credits", "system", "notifications"})


def menu_section[V: Callable[..., Any]](name: str) -> Callable[[V], V]:
    if name not in SECTIONS:
        raise ValueError(f"{name!r} is not a main-menu item; one of {sorted(SECTIONS)}")

    def decorate(view: V) -> V:
        if iscoroutinefunction(view):

            @wraps(view)
            async def async_view(request: Any, *args: Any, **kwargs: Any) -> Any:
                request.menu_section = name
                return await view(request, *args, **kwargs)

            return cast(V, async_view)

        @wraps(view)
        def sync_view(request: Any, *args: Any, **kwargs: Any) -> Any:
            request.menu_section = name
            return view(request, *args, **kwargs)

        return cast(V, sync_view)

    return decorate
