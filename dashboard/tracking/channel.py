"""How the poller wakes the live pages of every web process when it records new rows.

On PostgreSQL the poller sends `pg_notify('tracking', '<TrackedJob pk>')` in the same transaction as
its insert, so a listener is woken only once the rows are visible. On SQLite there is no such
channel: each web process watches the newest row ids instead (see live.py).
"""

from django.db import connection

CHANNEL = "tracking"


def announce(job_pk: int) -> None:
    """Tell listeners that rows of this job were inserted; call inside the inserting transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(job_pk)])
