"""The audit log's CSV export: peak Python memory while streaming 10,000 and 100,000 rows.

Constant memory means the two peaks are about the same: rows are read from the database in chunks
(`aiterator`) and sent in chunks, never held whole. Runs on a throw-away SQLite file (or on
DATABASE_URL when it is set, into a table it empties first: never point it at a real database).

    .venv/bin/python -m bench.audit_csv
"""

import asyncio
import os
import tempfile
import time
import tracemalloc


def main() -> None:
    folder = tempfile.mkdtemp(prefix="audit-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from dashboard.audit.models import AuditEntry
    from dashboard.core.auditlog import csv_lines

    call_command("migrate", verbosity=0)
    AuditEntry.objects.all().delete()

    async def stream(rows: int) -> tuple[int, int, float]:
        first = await AuditEntry.objects.order_by("pk").values_list("pk", flat=True).afirst() or 0
        entries = AuditEntry.objects.filter(pk__lt=first + rows)
        # tracemalloc slows Python several times over: the seconds are for comparing, not a speed.
        tracemalloc.start()
        started, sent = time.perf_counter(), 0
        async for chunk in csv_lines(entries):
            sent += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return sent, peak, time.perf_counter() - started

    batch = [
        AuditEntry(
            username=f"person-{n % 50}",
            action="team.member.remove",
            team_id=1,
            target=f"member-{n}@example.com",
            detail={"role": "member"},
            ip="203.0.113.9",
            user_agent="Mozilla/5.0 (X11; Linux x86_64) bench",
        )
        for n in range(100_000)
    ]
    AuditEntry.objects.bulk_create(batch, batch_size=5000)
    del batch
    for rows in (10_000, 100_000):
        sent, peak, seconds = asyncio.run(stream(rows))
        memory = f"peak Python memory {peak / 1e6:5.2f} MB"
        print(f"{rows:>7,} rows: {sent / 1e6:5.1f} MB of CSV, {memory} ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
