"""Turning a job event into deliveries: called by the poller in the transaction that records the event.

One row per event per interested channel; the unique (channel, event_id) constraint means a second
poller recording the same event (or a retried transaction) adds nothing.
"""

from .messages import Facts
from .models import Channel, Delivery


def wants(channel: Channel, event: str, facts: Facts) -> bool:
    if event not in channel.events:
        return False
    if channel.project_ids and facts.get("project_id") not in channel.project_ids:
        return False
    return not (channel.production_only and facts.get("branch_name") != channel.production_branch)


def enqueue_job_event(event_id: int, event: str, facts: Facts) -> None:
    """Write the deliveries of one job event (call inside the event's transaction)."""
    channels = Channel.objects.filter(team_id=facts["team_id"], paused_at__isnull=True)
    rows = [
        Delivery(channel=channel, event_id=event_id, event=event, facts=dict(facts))
        for channel in channels
        if wants(channel, event, facts)
    ]
    if rows:
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
