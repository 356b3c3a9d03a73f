"""Compressed pages: HTML (and JSON) answers are gzipped when the browser accepts it; a page is about a
sixth of its size compressed.

What is not compressed, and why:
- Streaming answers (the live Server-Sent Events streams, which also say `Content-Encoding: identity`,
  and streamed downloads): a compressor holds back bytes until it has a block, which would delay
  every live event, and a download's size matters less than its first byte.
- Answers of views marked `@uncompressed`: the pages that show a secret once (a new API token, a
  worker enrollment token, a new NexusToken key, a new channel's signing secret, the two-factor
  setup's key and otpauth:// address, recovery codes) beside text the person typed (the token's
  name, the channel's name, the sessions' browser names).
  BREACH guesses a secret from the compressed size of answers that reflect attacker-chosen input next
  to it. Those secrets change with every answer, so the attack has nothing fixed to converge on, but
  these pages are small and rare: keeping them uncompressed costs nothing and leaves no doubt.
- The CSRF token is masked afresh in every answer (Django), and Django's GZipMiddleware pads each
  answer with random bytes (its "Heal the BREACH" length randomisation), so no other page gives a
  stable secret for compression to leak. Stored secrets (connections' keys) are never rendered.
"""

from collections.abc import Callable
from functools import wraps
from inspect import iscoroutinefunction
from typing import Any, cast

from django.http import HttpRequest, HttpResponseBase
from django.middleware.gzip import GZipMiddleware

from .django_middleware import OnTheEventLoop

UNCOMPRESSED = "_dashboard_uncompressed"


def uncompressed[V: Callable[..., Any]](view: V) -> V:
    """Mark a view's answers (async or not) as never compressed: it shows a secret beside user input."""
    if iscoroutinefunction(view):

        @wraps(view)
        async def wrapped_async(*args: Any, **kwargs: Any) -> HttpResponseBase:
            response: HttpResponseBase = await view(*args, **kwargs)
            setattr(response, UNCOMPRESSED, True)
            return response

        return cast(V, wrapped_async)

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> HttpResponseBase:
        response: HttpResponseBase = view(*args, **kwargs)
        setattr(response, UNCOMPRESSED, True)
        return response

    return cast(V, wrapped)


class CompressPages(OnTheEventLoop, GZipMiddleware):
    """Django's GZipMiddleware, minus streams and the views marked `@uncompressed`. Compressing a page is
    a millisecond of CPU and no I/O: it runs on the event loop, not handed to a thread."""

    def process_response(self, request: HttpRequest, response: Any) -> Any:
        if response.streaming or getattr(response, UNCOMPRESSED, False):
            return response
        return super().process_response(request, response)
