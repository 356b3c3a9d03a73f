"""Whether the poller is running, as the live pages say it.

The job pages, the deployments overview, the home page's deploys and the task pages show what the
poller (`manage.py runpoller`) last wrote. When it stops, those pages would go on saying "pending" and
"Live." about a job that finished long ago; instead they read the newest heartbeat here and, once it
is older than POLLER_STALE_SECONDS, say "Live updates paused: the tracker has not run since 12:04".
Each poller writes its heartbeat after every pass (`beat`); any poller's pass counts, since any of
them serves every job. It lives in core because pages of apps on one level (tracking, nexustoken)
read it, and they may not import each other.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import F
from django.utils import dateformat, timezone

from .models import PollerHeartbeat
from .rows import rows


@dataclass(frozen=True)
class Tracker:
    """The poller as the pages see it: when any poller last finished a pass, and whether that is too
    long ago for the live pages to call themselves live."""

    last_pass: datetime | None  # None: no poller ever finished a pass on this database
    paused: bool

    @property
    def at(self) -> str:
        """When the last pass ended, as the pages print it: "12:04", or "3 Dec, 12:04" on another day."""
        if self.last_pass is None:
            return ""
        local = timezone.localtime(self.last_pass)
        return dateformat.format(local, "H:i" if local.date() == timezone.localdate() else "j M, H:i")

    @property
    def since(self) -> str:
        return f"since {self.at}" if self.last_pass else "yet"

    @property
    def sentence(self) -> str:
        return f"Live updates paused: the tracker has not run {self.since}."


def stale_after() -> timedelta:
    return timedelta(seconds=settings.POLLER_STALE_SECONDS)


def judged(last_pass: datetime | None, now: datetime | None = None) -> Tracker:
    now = now or timezone.now()
    return Tracker(last_pass=last_pass, paused=last_pass is None or now - last_pass > stale_after())


# Every live page reads it, so plain SQL: the ORM took about 0.4 ms of CPU to build and compile the
# aggregate each time. A raw query still converts the column as the model says (an aware datetime).
NEWEST_PASS = (
    f"SELECT id, last_pass_at FROM {PollerHeartbeat._meta.db_table}"  # noqa: S608 (the table's name only)
    " WHERE last_pass_at IS NOT NULL ORDER BY last_pass_at DESC LIMIT 1"
)


def read() -> Tracker:
    """The tracker's state now (one small query)."""
    newest = rows(PollerHeartbeat, NEWEST_PASS, [], ("id", "last_pass_at"))
    return judged(newest[0].last_pass_at if newest else None)


async def aread() -> Tracker:
    return await sync_to_async(read)()


def beat(name: str, seconds: float | None = None) -> None:
    """A poller finished a pass; `seconds` is how long it took."""
    now = timezone.now()
    done = {"last_pass_at": now, "last_pass_seconds": seconds}
    if not PollerHeartbeat.objects.filter(name=name).update(**done, passes=F("passes") + 1):
        PollerHeartbeat.objects.create(name=name, started_at=now, passes=1, **done)
