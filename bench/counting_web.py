"""uvicorn serving the dashboard as `make run` does, plus a count of every database query the
process makes, written to a file a few times a second (for bench.live_streams), and optionally the
statements themselves (for bench.page_cpu --queries)."""

import argparse
import os
import threading
import time
from collections.abc import Callable
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count-file", required=True)
    parser.add_argument("--sql-file", default="", help="also append every statement here, one a line")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="warning")
    options = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    from django.db.backends.signals import connection_created

    count = 0
    lock = threading.Lock()

    sql_log = open(options.sql_file, "a", buffering=1) if options.sql_file else None  # noqa: SIM115

    def counted(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        nonlocal count
        with lock:
            count += 1
            if sql_log is not None:
                sql_log.write(" ".join(sql.split()) + "\n")  # whole, on one line
        return execute(sql, params, many, context)

    def attach(connection: Any, **_: Any) -> None:
        if counted not in connection.execute_wrappers:  # a wrapper reconnects many times
            connection.execute_wrappers.append(counted)

    connection_created.connect(attach)

    def report() -> None:
        while True:
            with open(options.count_file, "w") as out:
                out.write(str(count))
            time.sleep(0.1)

    threading.Thread(target=report, daemon=True).start()
    import uvicorn

    from dashboard.asgi import application

    uvicorn.run(application, host=options.host, port=options.port, log_level=options.log_level)


if __name__ == "__main__":
    main()
