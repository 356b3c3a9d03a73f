"""uvicorn serving the dashboard as `make run` does, with a cProfile per page kind (for bench.page_cpu
--profile).

A request carrying the header `x-bench-profile: KIND` runs with KIND's profiler switched on, from the
moment the ASGI application is called until it returns (the response sent). The benchmark sends its
requests one after another, so nothing else runs meanwhile. Since Python 3.12 cProfile listens through
sys.monitoring, which reports every thread: the work that `sync_to_async` sends to a thread (database
queries, Django's sync middleware hooks) is counted with the rest.

`POST /__bench__/profiles` writes each kind's statistics to `--profile-dir/KIND.prof` and answers 204.
The profiler cannot be left running until the server exits: uvicorn stops on the SIGTERM the bench
sends, and a profile written then would hold the warm-up and shutdown too.
"""

import argparse
import asyncio
import cProfile
import os
from pathlib import Path
from typing import Any

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, Scope

DUMP_PATH = "/__bench__/profiles"
KIND_HEADER = b"x-bench-profile"


class Profiled:
    def __init__(self, application: Any, directory: Path) -> None:
        self.application = application
        self.directory = directory
        self.profiles: dict[str, cProfile.Profile] = {}
        # Django still finishes a request (request_finished, closing the connection) after its last
        # byte is sent, when the client may already have sent the next one; only one profiler may run.
        self.one_at_a_time = asyncio.Lock()

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "http":
            await self.application(scope, receive, send)
            return
        if scope["path"] == DUMP_PATH:
            self.dump()
            await send({"type": "http.response.start", "status": 204, "headers": [], "trailers": False})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        kind = dict(scope["headers"]).get(KIND_HEADER, b"").decode()
        if not kind:
            await self.application(scope, receive, send)
            return
        # The default wall clock: its own time of a wait (the event loop's poll, a queue's get, a lock) is
        # time the thread slept. time.thread_time cannot serve: cProfile keeps one clock reading for all
        # threads, and a CPU clock per thread makes its differences meaningless (even negative).
        profile = self.profiles.setdefault(kind, cProfile.Profile())
        async with self.one_at_a_time:
            profile.enable()
            try:
                await self.application(scope, receive, send)
            finally:
                profile.disable()

    def dump(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for kind, profile in self.profiles.items():
            profile.dump_stats(self.directory / f"{kind}.prof")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile-dir", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="warning")
    options = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import uvicorn

    from dashboard.asgi import application

    profiled = Profiled(application, options.profile_dir)
    uvicorn.run(profiled, host=options.host, port=options.port, log_level=options.log_level)


if __name__ == "__main__":
    main()
