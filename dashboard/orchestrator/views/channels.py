"""A team's notification channels: list, add, edit, delete, send a test message, resume, deliveries.

Only the team's owner and admins (as Nexical says, on each request) see these pages: a member gets a
403 with a sentence, an outsider a 404 as on every other page of the team. Nothing here posts to a
channel: a test message is a delivery row the sender (in runpoller) posts, and the page shows it.
"""

from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from dashboard.accounts import crypto
from dashboard.accounts.models import Service
from dashboard.audit import record
from dashboard.channels import destinations
from dashboard.channels import messages as channel_messages
from dashboard.channels.models import Channel, Delivery, DeliveryStatus, Event, Kind, TeamAdminSeen
from dashboard.core.compression import uncompressed
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import (
    INVALID,
    UNKNOWN_ACTION,
    ActionResult,
    Outcome,
    action_name,
    ask_first,
    error_page,
    go,
    load,
    nexical_page,
    page,
)
from dashboard.core.sections import menu_section
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI, Project, Team

from .. import access
from ..channel_forms import ChannelForm

ADMINS_ONLY = "Only the team's owner and admins manage its notification channels."
SHOWN_DELIVERIES = 20


# --- access --------------------------------------------------------------------------------------


async def _team_for_admin(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int
) -> tuple[Team, list[Project]] | HttpResponse:
    """The team and its projects for an owner or admin; a member's refusal page otherwise (an
    outsider's 403 on the team is a 404, through load())."""
    team, projects = await load(
        nexical.team_get(api, team_id=team_id), nexical.project_list(api, team_id=team_id)
    )
    if not access.can_manage(team):
        return error_page(request, Service.NEXICAL, ADMINS_ONLY, 403)
    # Whom the sender tells when a channel of this team pauses (it makes no upstream call itself).
    await TeamAdminSeen.objects.aupdate_or_create(
        team_id=team_id, user=request.user, defaults={"seen_at": timezone.now()}
    )
    return team, projects


async def _channel(team_id: int, channel_id: int) -> Channel:
    channel = await Channel.objects.filter(pk=channel_id, team_id=team_id).afirst()
    if channel is None:
        raise Http404("No such channel.")
    return channel


def _list_url(team_id: int) -> str:
    return reverse("orchestrator:team_channels", args=[team_id])


def _detail_url(channel: Channel) -> str:
    return reverse("orchestrator:channel_detail", args=[channel.team_id, channel.pk])


async def _destination_ok(form: ChannelForm) -> bool:
    """The URL's destination, checked now (DNS, in a worker thread); the refusal goes on the field.
    A blank URL on an existing channel keeps the stored one, checked when it was saved."""
    if not form.cleaned_data["url"].strip():
        return True
    try:
        await sync_to_async(destinations.check)(form.cleaned_data["url"])
    except destinations.Refused as refused:
        form.add_error("url", str(refused))
        return False
    return True


# --- the list, and adding a channel --------------------------------------------------------------


@uncompressed  # a new channel's secret beside its typed name: see dashboard/core/compression.py
@never_cache  # a new channel's secret is shown in this response only
@menu_section("teams")
@nexical_page
async def team_channels(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> HttpResponse:
    allowed = await _team_for_admin(request, api, team_id)
    if isinstance(allowed, HttpResponse):
        return allowed
    team, projects = allowed
    form = ChannelForm(projects=projects)
    outcome: Outcome[Any] = Outcome(ok=True)
    created: tuple[Channel, str] | None = None
    if request.method == "POST":
        if action_name(request, "create"):
            form = ChannelForm(request.POST, projects=projects)
            if form.is_valid() and await _destination_ok(form):
                channel, secret = await _create(request, team_id, form)
                if not secret:
                    messages.success(request, f"Channel “{channel.name}” added.")
                    return go(request, _detail_url(channel), same_page=False)
                created, form = (channel, secret), ChannelForm(projects=projects)
            else:
                outcome = INVALID
        else:
            outcome = UNKNOWN_ACTION
    channels = [channel async for channel in Channel.objects.filter(team_id=team_id)]
    context = {
        "team": team,
        "channels": channels,
        "project_names": {project.id: project.name for project in projects},
        "form": form,
        # The signing secret lives only in this response: it is stored encrypted and never shown again.
        "created": created,
        "error": outcome.message,
    }
    return page(request, "orchestrator/channels.html", context, status=outcome.status)


def _described(channel: Channel) -> dict[str, object]:
    """What the audit log keeps of a channel: never its address (a Slack URL is a credential) or secret."""
    return {
        "kind": channel.kind,
        "host": channel.url_hint,
        "events": channel.events,
        "projects": channel.project_ids,
        "production_only": channel.production_only,
    }


@sync_to_async
def _saved(request: AuthenticatedRequest, channel: Channel, action: str) -> None:
    """Save the channel and its audit row together."""
    with transaction.atomic():
        channel.save()
        record(request, action, team_id=channel.team_id, target=channel.name, detail=_described(channel))


async def _create(request: AuthenticatedRequest, team_id: int, form: ChannelForm) -> tuple[Channel, str]:
    channel = Channel(team_id=team_id, created_by=request.user)
    form.apply(channel)
    secret = ""
    if channel.kind == Kind.WEBHOOK:
        secret = channel_messages.new_secret()
        channel.secret_encrypted = crypto.encrypt(secret)
    await _saved(request, channel, "channel.create")
    return channel, secret


# --- one channel ---------------------------------------------------------------------------------


@menu_section("teams")
@nexical_page
async def channel_detail(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, channel_id: int
) -> HttpResponse:
    allowed = await _team_for_admin(request, api, team_id)
    if isinstance(allowed, HttpResponse):
        return allowed
    team, projects = allowed
    channel = await _channel(team_id, channel_id)
    form = ChannelForm(projects=projects, channel=channel)
    outcome: Outcome[Any] = Outcome(ok=True)
    if request.method == "POST":
        action = action_name(request, "save", "delete", "test", "resume")
        result: ActionResult
        if action == "save":
            form = ChannelForm(request.POST, projects=projects, channel=channel)
            result = await _save(request, channel, form)
        elif action == "delete":
            result = await _delete(request, channel)
        elif action == "test":
            result = await _test(request, channel, team)
        elif action == "resume":
            result = await _resume(request, channel)
        else:
            result = UNKNOWN_ACTION
        if isinstance(result, HttpResponse):
            return result
        outcome = result
    deliveries = [
        delivery async for delivery in channel.deliveries.order_by("-created_at", "-pk")[:SHOWN_DELIVERIES]
    ]
    context = {
        "team": team,
        "channel": channel,
        "form": form,
        "deliveries": deliveries,
        "waiting": any(delivery.status == DeliveryStatus.PENDING for delivery in deliveries),
        "project_names": {project.id: project.name for project in projects},
        "error": outcome.message,
    }
    if request.htmx and request.GET.get("part") == "deliveries":
        return render(request, "orchestrator/channel.html#deliveries", context)
    return page(request, "orchestrator/channel.html", context, status=outcome.status)


async def _save(request: AuthenticatedRequest, channel: Channel, form: ChannelForm) -> ActionResult:
    if not form.is_valid() or not await _destination_ok(form):
        return INVALID
    form.apply(channel)
    await _saved(request, channel, "channel.update")
    messages.success(request, "Channel saved.")
    return go(request, _detail_url(channel))


async def _delete(request: AuthenticatedRequest, channel: Channel) -> ActionResult:
    if asking := ask_first(request, _detail_url(channel), "delete"):
        return asking
    await _deleted(request, channel)
    messages.success(request, f"Channel “{channel.name}” deleted.")
    return go(request, _list_url(channel.team_id), same_page=False)


async def _test(request: AuthenticatedRequest, channel: Channel, team: Team) -> ActionResult:
    facts = {
        "team_id": team.id,
        "team_name": team.name,
        "url": settings.PUBLIC_URL.rstrip("/") + _detail_url(channel),
    }
    await _test_queued(request, channel, facts)
    messages.success(request, "Test message queued: it appears below within a few seconds.")
    return go(request, _detail_url(channel))


@sync_to_async
def _deleted(request: AuthenticatedRequest, channel: Channel) -> None:
    with transaction.atomic():
        record(
            request,
            "channel.delete",
            team_id=channel.team_id,
            target=channel.name,
            detail=_described(channel),
        )
        channel.delete()


@sync_to_async
def _test_queued(request: AuthenticatedRequest, channel: Channel, facts: dict[str, object]) -> None:
    with transaction.atomic():
        Delivery.objects.create(channel=channel, event=Event.TEST, facts=facts)
        record(request, "channel.test", team_id=channel.team_id, target=channel.name)


@sync_to_async
def _resumed(request: AuthenticatedRequest, channel: Channel) -> None:
    with transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(paused_at=None, paused_reason="", failures_in_row=0)
        record(
            request, "channel.update", team_id=channel.team_id, target=channel.name, detail={"resumed": True}
        )


async def _resume(request: AuthenticatedRequest, channel: Channel) -> ActionResult:
    await _resumed(request, channel)
    messages.success(request, "Channel resumed: the deliveries that waited are sent now.")
    return go(request, _detail_url(channel))
