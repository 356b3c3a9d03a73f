"""The one writer of a task's upstream state: webhook, poller and task page all go through here.

Upstream answers can arrive out of order (a slow poll and a webhook racing, a replayed delivery), so
a write never moves a task backwards: a finished task stays finished, and among open statuses an
answer whose event history is shorter than the one already recorded is older and is dropped. Open
statuses may legitimately go "back" upstream (an award whose worker failed reopens the task for
bidding), which is why the guard is the event history and not a fixed order of open statuses.
"""

from datetime import datetime, timedelta
from typing import TypedDict, Unpack

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dashboard.notifications.models import Kind
from dashboard.notifications.notify import notify
from dashboard.services import nexustoken as nt

from .budgets import mark_posted, note_spend
from .models import FINISHED_STATUSES, Origin, Source, SpendReservation, Status, Task, TaskEvent

# Upstream event types that explain a failed attempt, and the code the page explains.
FAILURE_EVENTS = {"SUBMISSION_REJECTED", "TIMED_OUT"}
ERROR_CODES = ("SCHEMA_MISMATCH", "RULE_VIOLATION", "TIMEOUT")
FIRST_POLL = timedelta(seconds=5)
LONGEST_POLL = timedelta(minutes=5)
LONGEST_BACKOFF = timedelta(hours=1)


def next_poll(task: Task, now: datetime) -> datetime | None:
    """When the poller should look at this task again: never once finished; after an error, back off
    exponentially; otherwise soon for a young task and less often as it ages (webhooks come first)."""
    if task.status in FINISHED_STATUSES:
        return None
    if task.error_count:
        return now + min(LONGEST_BACKOFF, timedelta(seconds=15 * 2 ** min(task.error_count, 10)))
    age = now - task.created_at
    return now + min(LONGEST_POLL, max(FIRST_POLL, age / 10))


class FailedAttempt(TypedDict):
    """One entry of a task's `validation_errors`: a submitted result that was refused, or a timeout."""

    code: str  # one of ERROR_CODES, or "REJECTED" for a reason the page has no sentence for
    detail: str
    at: str  # ISO 8601, "" when the upstream event had no time


def _validation_errors(upstream: nt.Task) -> list[FailedAttempt]:
    errors: list[FailedAttempt] = []
    for event in upstream.events:
        if event.type not in FAILURE_EVENTS:
            continue
        at = event.at.isoformat() if event.at else ""
        if event.type == "TIMED_OUT":
            errors.append({"code": "TIMEOUT", "detail": event.detail, "at": at})
            continue
        code, _, detail = event.detail.partition(": ")
        if code not in ERROR_CODES:
            code, detail = "REJECTED", event.detail
        errors.append({"code": code, "detail": detail, "at": at})
    return errors


def _copy(task: Task, upstream: nt.Task, now: datetime) -> None:
    task.status = upstream.status
    task.awarded_price = upstream.awarded_price
    task.platform_fee = upstream.fee_credits
    task.result_data = upstream.result_data
    task.validation_errors = _validation_errors(upstream)
    task.upstream_event_count = len(upstream.events)
    if task.status in FINISHED_STATUSES and task.finished_at is None:
        task.finished_at = upstream.finished_at or now
    if task.status == Status.SETTLED and task.settled_at is None:
        task.settled_at = upstream.finished_at or now


def _announce_finished(task: Task) -> None:
    """Once per task, since only the write that changes the status gets here: tell the owner, and let
    the budget guardrail see the spend (open budget became a price, or came back)."""
    if task.status != Status.CANCELLED:  # the owner cancelled it: nothing to tell them
        settled = task.status == Status.SETTLED
        notify(
            task.user,
            kind=Kind.TASK_SETTLED if settled else Kind.TASK_FAILED,
            title=f"Task {task.task_id[:8]} {'settled' if settled else 'expired'}",
            body=(
                f"It cost {task.total_cost} NC."
                if settled
                else "No valid result arrived; the budget was refunded."
            ),
            url=reverse("nexustoken:task_detail", args=[task.task_id]),
        )
    note_spend(task.user)


def _is_older(task: Task, upstream: nt.Task) -> bool:
    if task.status in FINISHED_STATUSES:
        return True  # finished is final; an equal answer has nothing new either
    return upstream.status not in FINISHED_STATUSES and len(upstream.events) < task.upstream_event_count


@transaction.atomic
def apply_upstream(task_pk: int, upstream: nt.Task, source: Source, *, lease_owner: str = "") -> bool:
    """Record what upstream said about a task; True when its status changed.

    With `lease_owner` (the poller) nothing is written unless that poller still holds the task, so
    a poller whose lease expired cannot overwrite newer data; it then also schedules the next poll.
    """
    now = timezone.now()
    rows = Task.objects.select_for_update().filter(pk=task_pk)
    if lease_owner:
        rows = rows.filter(lease_owner=lease_owner)
    task = rows.first()
    if task is None:
        return False
    before = task.status
    changed = False
    if not _is_older(task, upstream):
        _copy(task, upstream, now)
        changed = task.status != before
        if changed:
            TaskEvent.objects.create(
                task=task, from_status=before, to_status=task.status, at=now, source=source
            )
    if lease_owner:
        task.error_count = 0
        task.last_error = ""
        task.lease_owner = ""
        task.lease_until = None
    if lease_owner or task.status in FINISHED_STATUSES:
        task.next_poll_at = next_poll(task, now)
    task.save()
    if changed and task.status in FINISHED_STATUSES:
        _announce_finished(task)
    return changed


arecord = sync_to_async(apply_upstream)


class PostedSettings(TypedDict, total=False):
    """Settings of a posted task that the upstream answer does not repeat (the model's defaults otherwise)."""

    pending_pool_hours: int
    auto_retry: int


@transaction.atomic
def create_record(
    user: User,
    upstream: nt.Task,
    *,
    origin: Origin,
    reservation: SpendReservation | None = None,
    **fields: Unpack[PostedSettings],
) -> Task:
    """The local record of a task just posted (or added by id), with its first timeline entry.

    `reservation` is the budget set aside for the post: it ends in the same transaction, as the
    record's open budget starts counting. `fields` are what the dashboard knows besides the upstream
    answer (the pool hours, the retries).
    """
    now = timezone.now()
    task = Task(
        user=user,
        task_id=upstream.id,
        origin=origin,
        task_type=upstream.task_type,
        budget=upstream.max_budget_credits,
        max_seconds=upstream.max_execution_seconds,
        input_data=upstream.input_data or "",
        schema=upstream.validation_schema,
        example_output=upstream.example_output or {},
        rules=upstream.validation_rules,
        quality_preference=upstream.quality_preference or "balanced",
        min_skill_rating=upstream.min_skill_rating or 0,
        created_at=upstream.created_at or now,
        **fields,
    )
    _copy(task, upstream, now)
    task.next_poll_at = next_poll(task, now)
    task.save()
    TaskEvent.objects.create(task=task, from_status="", to_status=task.status, at=now, source=Source.CREATED)
    if reservation is not None:
        mark_posted(reservation, task.task_id)
    return task


acreate_record = sync_to_async(create_record)
