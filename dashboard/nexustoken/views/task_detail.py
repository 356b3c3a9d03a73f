"""/tasks/<id>/: one task, read from the local record, live without reloads.

The page and its live fragment never call upstream: webhooks and the poller keep the record fresh,
so a hundred viewers cost NexusToken nothing. The fragment is polled about twice a second with the
version the browser already shows; unchanged answers are a 204 (nothing to swap), and once the task
is finished the answer is 286, which stops the polling. Cancel and "check now" are the page's two
writes.
"""

import json

from asgiref.sync import sync_to_async
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django_htmx.http import HTMX_STOP_POLLING

from dashboard.audit import Audit
from dashboard.core import pages, tracker
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.login import login_required
from dashboard.core.rows import columns, rows
from dashboard.core.sections import menu_section
from dashboard.services import nexustoken as nt
from dashboard.services.errors import APIError, UpstreamError

from ..models import Source, Task, TaskEvent
from ..recording import FailedAttempt, arecord
from .task_access import task_for_user

TEMPLATE = "nexustoken/task.html"

STATUS_SENTENCES = {
    "BIDDING": "Workers are bidding on it.",
    "PENDING_POOL": "No worker has bid yet; it waits in the pending pool for up to {hours} h, then expires "
    "and the budget comes back.",
    "AWARDED": "A worker won it for {price} NC and is working on it (time limit {seconds} s).",
    "SETTLED": "Done: the result passed validation and the worker was paid.",
    "EXPIRED": "It expired without a valid result; the frozen budget was refunded.",
    "CANCELLED": "You cancelled it; the frozen budget was refunded.",
}
ERROR_SENTENCES = {
    "SCHEMA_MISMATCH": "The worker's result did not match your JSON Schema",
    "RULE_VIOLATION": "The worker's result broke one of your validation rules",
    "TIMEOUT": "The worker did not deliver a valid result within the time limit",
    "REJECTED": "A submitted result was rejected",
}


def _version(task: Task, paused: bool) -> str:
    """What the browser shows: the task's state, and whether the poller was said to have stopped (so
    the notice comes and goes without a reload)."""
    stamp = f"{task.status}.{task.upstream_event_count}.{task.updated_at.timestamp():.6f}"
    return f"{stamp}.paused" if paused else stamp


class ExplainedFailure(FailedAttempt):
    sentence: str


def _explained_errors(task: Task) -> list[ExplainedFailure]:
    errors: list[FailedAttempt] = task.validation_errors  # written by recording, one dict per failure
    return [
        ExplainedFailure(
            **error, sentence=ERROR_SENTENCES.get(error.get("code", ""), ERROR_SENTENCES["REJECTED"])
        )
        for error in errors
    ]


def _poller(task: Task) -> tracker.Tracker | None:
    """The poller, for an unfinished task: its checks cover a webhook that never came."""
    return None if task.is_finished else tracker.read()


# The task's history, read with each page: plain SQL (the ORM's build took about 0.4 ms of CPU), in the
# model's order. Only the model's table and column names are formatted in.
_EVENTS = f"SELECT {columns(TaskEvent)} FROM {TaskEvent._meta.db_table} WHERE task_id = %s ORDER BY at, id"  # noqa: S608


def _reads(task: Task) -> tuple[list[TaskEvent], tracker.Tracker | None]:
    """The page's reads besides the task, in one trip to the request's thread: its events, the poller."""
    return rows(TaskEvent, _EVENTS, [task.pk]), _poller(task)


async def _context(task: Task, **extra: object) -> dict[str, object]:
    events, poller = await sync_to_async(_reads)(task)
    sentence = STATUS_SENTENCES[task.status].format(
        hours=task.pending_pool_hours, price=task.awarded_price, seconds=task.max_seconds
    )
    return {
        "task": task,
        "events": events,
        "version": _version(task, poller is not None and poller.paused),
        "tracker": poller,
        "status_sentence": sentence,
        "errors": _explained_errors(task),
        "result_pretty": json.dumps(task.result_data, indent=2, ensure_ascii=False)
        if task.result_data is not None
        else "",
        "schema_pretty": json.dumps(task.schema, indent=2, ensure_ascii=False),
        **extra,
    }


async def _live(request: AuthenticatedRequest, task: Task) -> HttpResponse:
    poller = await sync_to_async(_poller)(task)
    if poller is not None and request.GET.get("live") == _version(task, poller.paused):
        return HttpResponse(status=204)
    response = render(request, f"{TEMPLATE}#live", await _context(task))
    if task.is_finished:
        response.status_code = HTMX_STOP_POLLING
    return response


async def _write(
    request: AuthenticatedRequest, api: nt.NexusTokenAPI, task: Task, action: str
) -> HttpResponse:
    call = nt.task_cancel if action == "cancel" else nt.task_get
    # Refreshing is a read: only the cancel is an action for the audit log.
    audit = Audit("task.cancel", target=task.task_id) if action == "cancel" else None
    try:
        upstream = await call(api, task_id=task.task_id)
    except UpstreamError as error:
        if audit is not None:
            await audit.not_done(request, error)
        await pages.record_failure(request, error)
        message = pages.error_message(error)
        if isinstance(error, APIError) and error.status == 409:
            message = f"{error.user_message} Check its status again below."
        task = await Task.objects.aget(pk=task.pk)
        status = 409 if isinstance(error, APIError) and error.status == 409 else pages.error_status(error)
        return pages.page(request, TEMPLATE, await _context(task, message=message), status=status)
    if audit is not None:
        await audit.done(request)
    await arecord(task.pk, upstream, Source.PAGE)
    return pages.go(request, reverse("nexustoken:task_detail", args=[task.task_id]))


@menu_section("tasks")
@pages.nexustoken_page
async def task_detail(request: AuthenticatedRequest, api: nt.NexusTokenAPI, task_id: str) -> HttpResponse:
    task = await task_for_user(request, task_id)
    if request.method == "POST":
        action = pages.action_name(request, "cancel", "refresh")
        if action == "cancel" and not task.is_cancellable:
            status = task.get_status_display().lower()
            message = f"This task is {status}: only bidding or waiting tasks can be cancelled."
            return pages.page(request, TEMPLATE, await _context(task, message=message), status=403)
        if action:
            return await _write(request, api, task, action)
    if request.htmx and "live" in request.GET:
        return await _live(request, task)
    confirm = request.GET.get("confirm") == "cancel" and task.is_cancellable
    return pages.page(request, TEMPLATE, await _context(task, confirm_cancel=confirm))


@menu_section("tasks")
@login_required
async def task_result(request: AuthenticatedRequest, task_id: str) -> HttpResponse:
    """The result as a JSON file (the local record: downloadable even if NexusToken is down)."""
    task = await task_for_user(request, task_id)
    if task.result_data is None:
        raise Http404("This task has no result yet.")
    response = JsonResponse(task.result_data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="task-{task.task_id}.json"'
    return response
