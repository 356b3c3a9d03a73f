"""The ASGI entry point: `/static/` goes straight to WhiteNoise, everything else to Django.

Serving static files here, outside Django's middleware chain, keeps every page request on the async
path from start to end (WhiteNoise's middleware would make each one cross into a thread and back).
Django's requests run their sync work on a thread kept from one request to the next
(dashboard/core/request_threads.py), not on a new one each.
"""

import gc
import os
from importlib import import_module

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
django_application = get_asgi_application()

from dashboard.core.request_threads import request_thread  # noqa: E402
from dashboard.core.static import Receive, Scope, Send, StaticFiles  # noqa: E402 (needs Django set up)

static_files = StaticFiles()

# What is loaded by now (modules, models, the URLconf) lives as long as the process. Frozen, the
# garbage collector's full passes skip it: each one walked ~140,000 objects (about 0.1 s of CPU, a
# few ms added to whichever request ran into it); the requests' own objects are collected as before.
import_module(settings.ROOT_URLCONF)
gc.freeze()


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if static_files.handles(scope):
        await static_files(scope, receive, send)
    elif scope["type"] == "http":
        async with request_thread():
            await django_application(scope, receive, send)
    else:
        await django_application(scope, receive, send)
