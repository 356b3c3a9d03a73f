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

from django.conf import settings
from django.db.models import F, Max
from django.utils import dateformat, timezone

from .models import PollerHeartbeat


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


def read() -> Tracker:
    """The tracker's state now (one small query)."""
    return judged(PollerHeartbeat.objects.aggregate(last=Max("last_pass_at"))["last"])


async def aread() -> Tracker:
    return judged((await PollerHeartbeat.objects.aaggregate(last=Max("last_pass_at")))["last"])


def beat(name: str, seconds: float | None = None) -> None:
    """A poller finished a pass; `seconds` is how long it took."""
    now = timezone.now()
    done = {"last_pass_at": now, "last_pass_seconds": seconds}
    if not PollerHeartbeat.objects.filter(name=name).update(**done, passes=F("passes") + 1):
        PollerHeartbeat.objects.create(name=name, started_at=now, passes=1, **done)
