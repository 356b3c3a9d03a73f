"""A test database that threads can each open on their own, as the web server's requests do.

On PostgreSQL every thread already opens its own connection to the test database. SQLite's test
database lives in memory, shared between the process's connections through SQLite's shared cache,
where two writers meeting fail at once with "table is locked" instead of waiting for each other:
nothing like the file (WAL, a busy timeout) the dashboard runs on. For the length of one test, this
copies that database to a file and points every new connection at it, so racing threads contend for
the database exactly as concurrent requests do in production.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connections


@contextmanager
def database_threads_can_share(folder: Path) -> Iterator[None]:
    memory = connections["default"]
    if not (memory.vendor == "sqlite" and memory.is_in_memory_db()):
        yield
        return
    memory.ensure_connection()
    path = folder / "racing.sqlite3"
    with sqlite3.connect(path) as copy:
        memory.connection.backup(copy)
    copy.close()
    # One settings dict is shared by every thread's connection: new ones now open the file. The
    # in-memory connection stays open untouched (closing it would drop that database).
    settings = memory.settings_dict
    name = settings["NAME"]
    settings["NAME"] = str(path)
    on_file = connections.create_connection("default")
    connections["default"] = on_file
    try:
        yield
    finally:
        on_file.close()
        settings["NAME"] = name
        connections["default"] = memory
