"""The sender: posts due deliveries to their channels, outside any request and outside the poller's pass.

`run(owner, stop)` is a loop `manage.py runpoller` starts beside its passes (one per poller process).
It claims due deliveries with the poller's leases (dashboard.core.leases: a conditional UPDATE, with
`FOR UPDATE SKIP LOCKED` on PostgreSQL), so several pollers never send one delivery twice, and each
post runs as its own task: a receiver that hangs holds one slot for CHANNELS_TIMEOUT seconds, never
the loop, the other deliveries or the poller's pass.

A failed attempt is retried after CHANNELS_RETRY_DELAYS (1 s, 10 s, 1 min, 10 min), then the delivery
is marked failed; CHANNELS_PAUSE_AFTER failed deliveries in a row pause the channel, and the team's
admins known to the dashboard get a bell notification.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from dashboard.accounts import crypto
from dashboard.core import leases
from dashboard.notifications.models import Kind as NotificationKind
from dashboard.notifications.notify import notify
from dashboard.services.http import tls_context

from . import destinations, messages
from .models import Channel, Delivery, DeliveryStatus, Event, Kind, TeamAdminSeen

logger = logging.getLogger("dashboard.channels")

IN_FLIGHT = 16  # posts at once per process
IDLE = 1.0  # the longest sleep between looks: views add test messages at any moment
BUSY = 0.05
UNREADABLE_SECRET = "The channel's address or secret cannot be read: delete the channel and add it again."


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status_code: int | None = None
    error: str = ""


def claim_due(owner: str, now: datetime, limit: int) -> list[Delivery]:
    # A paused channel's deliveries wait for it to be resumed; a test message is sent all the same.
    due = (
        Delivery.objects.filter(leases.free(now), status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(channel__paused_at__isnull=True) | Q(event=Event.TEST))
        .order_by("next_attempt_at", "pk")
    )
    claimed = leases.claim(due, owner, now, limit)
    return list(Delivery.objects.filter(pk__in=[d.pk for d in claimed]).select_related("channel"))


def next_due() -> datetime | None:
    first = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(Q(channel__paused_at__isnull=True) | Q(event=Event.TEST))
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return first


def release(owner: str) -> None:
    leases.release([Delivery], owner)


def _request(delivery: Delivery) -> tuple[str, bytes, dict[str, str]]:
    """The address, body and headers of a delivery (decrypting the channel's secrets: a sync call)."""
    channel = delivery.channel
    url = crypto.decrypt(channel.url_encrypted)
    body = messages.body(channel.kind, delivery.event, delivery.facts, delivery.pk)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "NexusDashboard-Channels/1",
        "X-Nexus-Dashboard-Event": delivery.event,
        "X-Nexus-Dashboard-Delivery": str(delivery.pk),
    }
    if channel.kind == Kind.WEBHOOK and channel.secret_encrypted:
        headers[messages.SIGNATURE_HEADER] = messages.sign(crypto.decrypt(channel.secret_encrypted), body)
    return url, body, headers


def _host_header(destination: destinations.Destination) -> str:
    default = 443 if destination.url.lower().startswith("https") else 80
    host = f"[{destination.host}]" if ":" in destination.host else destination.host
    return host if destination.port == default else f"{host}:{destination.port}"


async def post(client: httpx.AsyncClient, delivery: Delivery) -> Attempt:
    """One attempt: check where the URL points now, then post to that very address."""
    timeout = settings.CHANNELS_TIMEOUT
    try:
        address, body, headers = await sync_to_async(_request)(delivery)
        destination = await asyncio.wait_for(destinations.acheck(address), timeout)
    except destinations.Refused as refused:
        return Attempt(ok=False, error=str(refused))
    except TimeoutError:
        return Attempt(ok=False, error="The receiver's host name did not resolve in time.")
    except crypto.UndecryptableSecret:
        return Attempt(
            ok=False, error="The channel's secret cannot be read: delete the channel and add it again."
        )
    url = httpx.URL(destination.url).copy_with(host=str(destination.address))
    headers["Host"] = _host_header(destination)
    try:
        response = await client.post(
            url, content=body, headers=headers, extensions={"sni_hostname": destination.host}
        )
    except httpx.TimeoutException:
        return Attempt(ok=False, error=f"The receiver did not answer within {timeout:g} s.")
    except httpx.HTTPError:
        return Attempt(ok=False, error="Could not connect to the receiver.")
    code = response.status_code
    if 200 <= code < 300:
        return Attempt(ok=True, status_code=code)
    if 300 <= code < 400:
        return Attempt(
            ok=False,
            status_code=code,
            error=f"The receiver answered {code}, a redirect: redirects are not followed.",
        )
    return Attempt(ok=False, status_code=code, error=f"The receiver answered {code}.")


def finish(pk: int, owner: str, attempt: Attempt, now: datetime) -> None:
    """Record one attempt where this sender still holds the delivery; schedule, fail or pause."""
    delays: list[float] = list(settings.CHANNELS_RETRY_DELAYS)
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=pk, lease_owner=owner).first()
        if delivery is None:
            return  # the lease ran out and another sender took over
        attempts = delivery.attempts + 1
        fields: dict[str, object] = {
            "attempts": attempts,
            "last_status_code": attempt.status_code,
            "last_error": attempt.error[:500],
            "lease_owner": "",
            "lease_until": None,
        }
        if attempt.ok:
            fields.update(status=DeliveryStatus.SENT, finished_at=now)
        elif attempts <= len(delays):
            fields["next_attempt_at"] = now + timedelta(seconds=delays[attempts - 1])
        else:
            fields.update(status=DeliveryStatus.FAILED, finished_at=now)
        Delivery.objects.filter(pk=pk).update(**fields)
        if attempt.ok:
            Channel.objects.filter(pk=delivery.channel_id, failures_in_row__gt=0).update(failures_in_row=0)
        elif fields.get("status") == DeliveryStatus.FAILED:
            Channel.objects.filter(pk=delivery.channel_id).update(failures_in_row=F("failures_in_row") + 1)
            _pause_if_failing(delivery.channel_id, attempt, now)


def _pause_if_failing(channel_pk: int, attempt: Attempt, now: datetime) -> None:
    limit = settings.CHANNELS_PAUSE_AFTER
    reason = f"Paused after {limit} deliveries in a row failed (the last: {attempt.error})"
    paused = Channel.objects.filter(pk=channel_pk, paused_at__isnull=True, failures_in_row__gte=limit).update(
        paused_at=now, paused_reason=reason[:500]
    )
    if not paused:
        return
    channel = Channel.objects.get(pk=channel_pk)
    url = reverse("orchestrator:team_channels", args=[channel.team_id])
    for seen in TeamAdminSeen.objects.filter(team_id=channel.team_id).select_related("user"):
        notify(
            seen.user,
            kind=NotificationKind.CHANNEL_PAUSED,
            title=f"Channel “{channel.name}” paused",
            body=f"{reason}. Fix the receiver, then resume the channel.",
            url=url,
        )


async def _deliver(client: httpx.AsyncClient, delivery: Delivery, owner: str) -> None:
    try:
        attempt = await post(client, delivery)
    except Exception:  # a bug must not lose the delivery: it is retried like a failed post
        logger.exception("Sending delivery %s failed unexpectedly", delivery.pk)
        attempt = Attempt(ok=False, error="The dashboard failed to send it; it will be retried.")
    await sync_to_async(finish)(delivery.pk, owner, attempt, timezone.now())


def client() -> httpx.AsyncClient:
    # No redirects (a 3xx is a failed attempt), no proxies from the environment, a short timeout.
    # No kept-alive connections either: they are pooled by address, and a TLS connection opened for
    # one host name must not carry a request for another name on the same address.
    return httpx.AsyncClient(
        verify=tls_context(),
        timeout=httpx.Timeout(settings.CHANNELS_TIMEOUT),
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


async def run(owner: str, stop: asyncio.Event) -> None:
    """Claim and send until `stop` is set, then let the posts under way finish and give the rest back."""
    in_flight: set[asyncio.Task[None]] = set()
    async with client() as http:
        try:
            while not stop.is_set():
                free = IN_FLIGHT - len(in_flight)
                claimed: list[Delivery] = []
                if free > 0:
                    try:
                        claimed = await sync_to_async(claim_due)(owner, timezone.now(), free)
                    except Exception:  # a busy database: the next look tries again
                        logger.exception("Claiming deliveries failed")
                for delivery in claimed:
                    task = asyncio.create_task(_deliver(http, delivery, owner))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                wait = BUSY if claimed else await _idle_for()
                # Until the next is due, a post ends (a slot frees) or the command stops.
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait({stopping, *in_flight}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
        finally:
            if in_flight:
                await asyncio.wait(in_flight)
            await sync_to_async(release)(owner)


async def _idle_for() -> float:
    try:
        due = await sync_to_async(next_due)()
    except Exception:
        return IDLE
    if due is None:
        return IDLE
    return min(IDLE, max(BUSY, (due - timezone.now()).total_seconds()))


async def run_once(owner: str) -> int:
    """Send what is due now and wait for those posts (tests, `runpoller --once`); how many were tried."""
    async with client() as http:
        claimed = await sync_to_async(claim_due)(owner, timezone.now(), IN_FLIGHT * 4)
        await asyncio.gather(*(_deliver(http, delivery, owner) for delivery in claimed))
    return len(claimed)
