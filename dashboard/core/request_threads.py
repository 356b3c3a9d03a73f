"""The thread each request's synchronous work runs in, kept for the next request instead of made anew.

Django's ASGI handler runs each request inside an asgiref `ThreadSensitiveContext`: every
`sync_to_async` call of the request (its queries, a sync view) runs on one thread of its own. Left to
itself the context makes a new single-thread executor per request, so each page started a thread,
and at its end a second thread to join the first: two thread starts per page, and a database
connection opened and closed with each (connections are per thread).

`request_thread` enters that context first, with an executor taken from a pool of idle ones; Django's
own context then finds it and steps aside. The guarantees stay the same: a request's sync work runs
on one thread, one call at a time, and no two requests share a thread at the same moment (an executor
is held by one request until it ends). A request cancelled while its thread still runs a call
returns the executor anyway: the next request's calls wait behind that call on the same thread, in
order, as they would on a busy thread of a WSGI server.

The pool keeps at most `IDLE_KEPT` idle executors; beyond that (after a burst of long event streams)
an executor is shut down in a thread of its own, since its worker may still be finishing a call.
"""

import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from asgiref.sync import ThreadSensitiveContext

IDLE_KEPT = 32

_idle: list[ThreadPoolExecutor] = []


@asynccontextmanager
async def request_thread() -> AsyncIterator[None]:
    executor = _idle.pop() if _idle else ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
    try:
        async with ThreadSensitiveContext(executor=executor):
            yield
    finally:
        if len(_idle) < IDLE_KEPT:
            _idle.append(executor)
        else:
            threading.Thread(target=executor.shutdown, daemon=True).start()
