"""Peak memory of the streamed task CSV export, for 10,000 and 100,000 tasks.

    .venv/bin/python -m bench.csv_export [--rows 100000]

It makes a throwaway SQLite database, writes the tasks (1,000 through bulk_create, then copied by
the database), and reads the export the way the ASGI server does: the async generator behind
/tasks/export.csv, piece by piece, each piece dropped once counted. tracemalloc gives the peak of
Python allocations while it runs. Streaming works if the peak barely moves between the two sizes;
the whole file, for comparison, is printed beside it.
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def configure_django() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="nexus-bench-csv-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def make_tasks(user: "User", total: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from dashboard.nexustoken.models import Status, Task

    Task.objects.filter(user=user).delete()
    now = timezone.now()
    base = min(total, 1000)
    Task.objects.bulk_create(
        Task(
            user=user,
            task_id=f"t{n:04d}",
            status=Status.SETTLED,
            budget=20,
            awarded_price=15,
            platform_fee=1,
            settled_at=now,
            created_at=now,
            input_data="Apple Inc reported Q3 revenue of $81.8 billion, up 5% year over year.",
        )
        for n in range(base)
    )
    copies = total // base - 1
    if copies:
        columns = [str(field.column) for field in Task._meta.concrete_fields if not field.primary_key]
        copied = ", ".join("t.task_id || '-' || c.k" if col == "task_id" else f"t.{col}" for col in columns)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM c WHERE k < {copies}) "
                f"INSERT INTO {Task._meta.db_table} ({', '.join(columns)}) "
                f"SELECT {copied} FROM {Task._meta.db_table} t CROSS JOIN c WHERE t.user_id = %s",
                [user.pk],
            )


async def stream(user: "User") -> tuple[int, int]:
    from dashboard.nexustoken import exports
    from dashboard.nexustoken.models import Task

    size = lines = 0
    async for piece in exports.task_rows(Task.objects.filter(user=user).order_by("-created_at", "-pk")):
        size += len(piece)
        lines += piece.count(b"\n")
    return size, lines


def measure(user: "User", total: int) -> None:
    make_tasks(user, total)
    tracemalloc.start()
    started = time.perf_counter()
    size, lines = asyncio.run(stream(user))
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{total:>7,} tasks: {lines - 1:>7,} rows, file {size / 1e6:5.1f} MB, "
        f"peak Python memory while streaming {peak / 1e6:5.2f} MB, {seconds:5.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    options = parser.parse_args()
    configure_django()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="bench", password="bench-password")
    print("Streamed CSV export of tasks (/tasks/export.csv), SQLite")
    for total in (options.rows // 10, options.rows):
        measure(user, total)


if __name__ == "__main__":
    main()
