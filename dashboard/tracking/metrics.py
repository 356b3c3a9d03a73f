"""The tracker's figures for the operators' /metrics (composed by the home app).

The poller's figures come from its heartbeat rows, so they are right whichever process, or host,
runs the poller; the open streams are counted in each web process (summed over the live processes
in multiprocess mode).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Max
from django.utils import timezone
from prometheus_client import Gauge

from dashboard.core.models import PollerHeartbeat

OPEN_STREAMS = Gauge(
    "dashboard_live_streams_open",
    "Live job streams (server-sent events) open right now.",
    multiprocess_mode="livesum",
)

# A poller whose last pass is older than this is taken for stopped: its pass time no longer counts.
ACTIVE_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class PollerFigures:
    lag: float | None  # seconds since any poller completed a pass; None when none ever did
    pass_seconds: float | None  # the longest last pass among the active pollers
    active: int  # pollers that completed a pass within ACTIVE_WINDOW


async def poller_figures() -> PollerFigures:
    now = timezone.now()
    newest = (await PollerHeartbeat.objects.aaggregate(last=Max("last_pass_at")))["last"]
    active = PollerHeartbeat.objects.filter(last_pass_at__gte=now - ACTIVE_WINDOW)
    longest = (await active.aaggregate(longest=Max("last_pass_seconds")))["longest"]
    return PollerFigures(
        lag=max(0.0, (now - newest).total_seconds()) if newest else None,
        pass_seconds=longest,
        active=await active.acount(),
    )
