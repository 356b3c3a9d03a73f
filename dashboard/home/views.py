import asyncio
import hmac
import logging
from collections.abc import Awaitable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection as db_connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from dashboard.accounts.models import Service
from dashboard.core import tracker
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.login import login_required
from dashboard.nexustoken import summary
from dashboard.nexustoken.summary import Summary, nexustoken_summary
from dashboard.services import http, nexustoken
from dashboard.services.errors import APIError, NetworkError, UpstreamError
from dashboard.tracking.access import refused_teams
from dashboard.tracking.metrics import poller_figures
from dashboard.tracking.models import TrackedJob
from dashboard.tracking.views.deployments import latest_followed

from .metrics import CONTENT_TYPE, exposition

logger = logging.getLogger(__name__)

# Health checks must answer fast even when an upstream hangs: a load balancer is waiting.
HEALTH_TIMEOUT = 3.0
HOME_DEPLOYS = 5  # running and recent deploys each listed on the home page; the rest on /deployments/


@login_required
async def home(request: AuthenticatedRequest) -> HttpResponse:
    connected = request.connections  # loaded by dashboard.core.middleware
    nexical = connected.get(Service.NEXICAL)
    nexustoken = connected.get(Service.NEXUSTOKEN)
    shows_deploys = nexical is not None and not nexical.needs_attention
    local = await sync_to_async(_local)(request.user, shows_deploys, shows_tasks=nexustoken is not None)
    # Teams whose token last answered "not yours" are left out (that answer is cached; no upstream call).
    refused = await refused_teams(request.user.pk, {job.team_id for job in local.running + local.recent})
    context = {
        "nexical": nexical,
        "nexustoken": nexustoken,
        "nt": await nexustoken_summary(request, local.summary) if local.summary else None,
        "running_deploys": [job for job in local.running if job.team_id not in refused],
        "recent_deploys": [job for job in local.recent if job.team_id not in refused],
        # The deploys are as the poller last saw them: say so when it has stopped.
        "tracker": local.tracker,
    }
    return render(request, "home/home.html", context)


@dataclass
class _Local:
    running: list[TrackedJob]
    recent: list[TrackedJob]
    summary: Summary | None
    tracker: tracker.Tracker | None


def _local(user: User, shows_deploys: bool, *, shows_tasks: bool) -> _Local:
    """Everything the home page reads from its own tables, in one trip to the request's thread: the
    user's running and latest deploys as the poller last saw them, the NexusToken pane's local figures
    and the poller's heartbeat."""
    running, recent = latest_followed(user, HOME_DEPLOYS, HOME_DEPLOYS) if shows_deploys else ([], [])
    return _Local(
        running=running,
        recent=recent,
        summary=summary.local(user) if shows_tasks else None,
        tracker=tracker.read() if shows_deploys else None,
    )


async def healthz(request: HttpRequest) -> JsonResponse:
    """The database decides the status code; the upstreams are reported, never fatal."""
    database, nexical_ok, nexustoken_ok, poller_age = await asyncio.gather(
        _database_ok(),
        _within_deadline(_nexical_reachable()),
        _within_deadline(_nexustoken_reachable()),
        _poller_age(),
    )
    body = {
        "status": "ok" if database else "failed",
        "database": "ok" if database else "failed",
        "upstreams": {
            "nexical": "reachable" if nexical_ok else "unreachable",
            "nexustoken": "reachable" if nexustoken_ok else "unreachable",
        },
        # Seconds since any poller last completed a pass; null when none ever did (or the database
        # is down). Reported, never fatal: the pages still work, only live updates would be stale.
        "poller": poller_age,
    }
    return JsonResponse(body, status=200 if database else 503)


async def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus's scrape, for the bearer of METRICS_TOKEN; without the setting there is no such page."""
    token: str = settings.METRICS_TOKEN
    if not token:
        raise Http404
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer "):
        response = HttpResponse("Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.", status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if not hmac.compare_digest(given.removeprefix("Bearer ").strip().encode(), token.encode()):
        return HttpResponse("That is not the metrics token.", status=403)
    body = await asyncio.to_thread(exposition, await poller_figures())
    return HttpResponse(body, content_type=CONTENT_TYPE)


async def _database_ok() -> bool:
    try:
        await sync_to_async(_ping_database)()
    except Exception:
        logger.exception("Health check: the database is unavailable")
        return False
    return True


async def _poller_age() -> float | None:
    try:
        last_pass = (await tracker.aread()).last_pass
    except Exception:
        logger.exception("Health check: the poller's heartbeat cannot be read")
        return None
    if last_pass is None:
        return None
    return round(max(0.0, (timezone.now() - last_pass).total_seconds()), 1)


def _ping_database() -> None:
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def _within_deadline(check: Awaitable[bool]) -> bool:
    try:
        return await asyncio.wait_for(check, timeout=HEALTH_TIMEOUT)
    except TimeoutError:
        return False


async def _nexical_reachable() -> bool:
    # No token: any HTTP answer below 500 (a 401, typically) proves the orchestrator is up.
    try:
        await http.request(http.NEXICAL_UPSTREAM, "GET", "/users/me")
    except NetworkError:
        return False
    except APIError as error:
        return error.status < 500
    except UpstreamError:
        return True
    return True


async def _nexustoken_reachable() -> bool:
    try:
        await nexustoken.heartbeat()
    except UpstreamError:
        return False
    return True
