"""Tasks: create, list, read, cancel, bid, submit, and the SSE event stream."""

import json
import logging
import time

from django.db import close_old_connections, transaction
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import checks, ledger, lifecycle, schemas, skill
from .api import ApiError, authenticate, body, check_create_limit, error_response, uuid_or_404
from .models import OPEN_STATUSES, TERMINAL_STATUSES, Account, Bid, StreamEvent, Task

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0
STREAM_POLL_SECONDS = 0.5
STREAM_MAX_SECONDS = 3600.0  # a forgotten stream frees its thread after an hour
OPEN_LIST_LIMIT = 100


def _may_act(account: Account) -> None:
    """Frozen and debt-suspended accounts may read, but not trade."""
    if ledger.is_frozen(account):
        raise ApiError(403, "Account frozen: reputation is below -10")
    if ledger.is_suspended(account):
        raise ApiError(403, "API suspended: debt unpaid for 7+ days; repay it at /api/v1/credits/repay")


def _task_or_404(task_id: str) -> Task:
    task = Task.objects.filter(pk=uuid_or_404(task_id, "Task")).first()
    if task is None:
        raise ApiError(404, "Task not found")
    return task


def _check_task_body(data: schemas.CreateTask) -> None:
    problems: list[tuple[list[str | int], str]] = []
    problem = checks.schema_problem(data.validation_schema)
    if problem:
        problems.append((["body", "validation_schema"], problem))
    else:
        try:
            mismatch = checks.schema_error(data.validation_schema, data.example_output)
        except checks.UnusableSchema as exc:
            problems.append((["body", "validation_schema"], str(exc)))
            mismatch = None
        if mismatch:
            problems.append(
                (["body", "example_output"], f"example_output does not match the schema: {mismatch}")
            )
    for index, rule in enumerate(data.validation_rules):
        problem = checks.rule_problem(rule)
        if problem:
            problems.append((["body", "validation_rules", index], problem))
    if problems:
        raise ApiError(422, [{"loc": loc, "msg": msg, "type": "value_error"} for loc, msg in problems])


def create_task(request, account):
    _may_act(account)
    check_create_limit(request.key_hash)
    data = body(request, schemas.CreateTask)
    _check_task_body(data)
    fields = data.model_dump()
    fields["callback_url"] = fields["callback_url"] or ""
    with transaction.atomic():
        payer = ledger.lock_accounts(account.pk)[account.pk]
        power = ledger.purchasing_power(payer)
        if data.max_budget_credits > power:
            # 402: the budget is frozen in full at creation and this account cannot cover it.
            raise ApiError(
                402,
                f"Insufficient purchasing power: the task needs {data.max_budget_credits} NC, "
                f"you have {power} NC (balance plus available credit line)",
            )
        task = lifecycle.create(payer, fields)
    return lifecycle.task_json(task, account), 201


def my_tasks(request, account):
    tasks = Task.objects.filter(creator=account).order_by("-created_at")
    status = request.GET.get("status")
    if status:
        tasks = tasks.filter(status=status.upper())
    try:
        limit = max(1, min(200, int(request.GET.get("limit", "50"))))
    except ValueError:
        raise ApiError(422, "limit must be an integer") from None
    return [lifecycle.task_json(task, account) for task in tasks[:limit]]


def open_tasks_for(account: Account) -> list[Task]:
    """The open tasks this account may bid on: not its own, and only where its skill is enough.

    Newest first, so that in a long-running sandbox new tasks always make the list (the oldest
    open ones are the first to be cut).
    """
    tasks = Task.objects.filter(status__in=OPEN_STATUSES).exclude(creator=account).order_by("-created_at")
    scores: dict[str, int] = {}  # one skill computation per task type
    shown = []
    for task in tasks.iterator():
        if task.min_skill_rating:
            if task.task_type not in scores:
                scores[task.task_type] = skill.score(account, task.task_type)
            if not skill.qualifies(task, scores[task.task_type]):
                continue
        shown.append(task)
        if len(shown) == OPEN_LIST_LIMIT:
            break
    return shown


def available(request, account):
    lifecycle.sweep()
    return [lifecycle.task_json(task, account) for task in open_tasks_for(account)]


def get_task(request, account, task_id):
    task = lifecycle.refresh(_task_or_404(task_id))
    return lifecycle.task_json(task, account)


def cancel_task(request, account, task_id):
    _task_or_404(task_id)
    with transaction.atomic():
        task = lifecycle.locked_task(task_id)
        if task.creator_id != account.pk:
            raise ApiError(403, "Not your task")
        lifecycle.advance(task)
        if task.status not in OPEN_STATUSES:
            raise ApiError(409, f"Task is {task.status}: only BIDDING or PENDING_POOL tasks can be cancelled")
        lifecycle.cancel(task)
    return lifecycle.task_json(task, account)


def bid(request, account, task_id):
    _may_act(account)
    if account.cooldown_until and account.cooldown_until > timezone.now():
        raise ApiError(
            403, f"Cooling down after 3 failures in a row until {lifecycle.iso(account.cooldown_until)}"
        )
    data = body(request, schemas.PlaceBid)
    found = _task_or_404(task_id)
    if found.min_skill_rating:
        score = skill.score(account, found.task_type)
        if not skill.qualifies(found, score):
            raise ApiError(
                403,
                f"This task asks for skill rating {found.min_skill_rating} or more "
                f"(a skill score of {skill.MIN_SCORE_FOR_RATING[found.min_skill_rating]}+); "
                f"yours for {found.task_type} is {score} ({skill.tier(score)})",
            )
    with transaction.atomic():
        task = lifecycle.locked_task(task_id)
        lifecycle.advance(task)
        if task.creator_id == account.pk:
            raise ApiError(403, "You cannot bid on your own task")
        if task.status not in OPEN_STATUSES:
            raise ApiError(409, f"Task is not open for bidding (status {task.status})")
        if data.bid_credits > task.max_budget_credits:
            raise ApiError(422, f"bid_credits must be at most the budget ({task.max_budget_credits})")
        if Bid.objects.filter(task=task, account=account).exists():
            raise ApiError(409, "You already bid on this task")
        placed = lifecycle.place_bid(task, account, data.bid_credits)
    # Exactly 200: the SDK treats any other success code as a failed bid.
    return {
        "bid_id": str(placed.pk),
        "task_id": str(task.id),
        "bid_credits": placed.bid_credits,
        "status": task.status,
        "auction_closes_at": lifecycle.iso(task.auction_closes_at),
    }


def submit(request, account, task_id):
    data = body(request, schemas.Submit)
    found = _task_or_404(task_id)
    with transaction.atomic():
        task = lifecycle.locked_task(found.pk)
        lifecycle.advance(task)
        if task.awarded_to_id != account.pk:
            raise ApiError(403, "Task not awarded to you")
        if task.status in TERMINAL_STATUSES:
            raise ApiError(409, f"Task is already {task.status}")
        try:
            return lifecycle.submit(task, account, data.result_data)
        except checks.UnusableSchema as exc:
            # Only tasks stored before schemas were checked at creation can get here.
            raise ApiError(422, f"The task's validation cannot be evaluated: {exc}") from None


# --- Server-sent events -------------------------------------------------------------------------------


def _sse(event_type: str, payload: dict) -> bytes:
    # One line of JSON per data: line: the SDK parses each data line on its own.
    return f"event: {event_type}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def _wanted(topics: set[str], event_type: str, task: Task) -> bool:
    return not topics or event_type in topics or task.task_type in topics


def _stream(account: Account, topics: set[str]):
    # Start after the newest event, and replay what is open now as task.new.
    cursor = StreamEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    yield b": connected\n\n"
    # The same tasks as /tasks/available (newest ones, within the caller's skill), oldest first.
    for task in reversed(open_tasks_for(account)):
        if _wanted(topics, "task.new", task):
            yield _sse("task.new", {"type": "task.new", "task": lifecycle.task_json(task, account)})
    started = last_write = time.monotonic()
    while time.monotonic() - started < STREAM_MAX_SECONDS:
        events = list(StreamEvent.objects.filter(pk__gt=cursor).select_related("task").order_by("pk")[:100])
        for event in events:
            cursor = event.pk
            task = event.task
            mine = account.pk in (task.creator_id, task.awarded_to_id)
            public = event.type == "task.new" and task.creator_id != account.pk
            if (mine or public) and _wanted(topics, event.type, task):
                payload = {"type": event.type, "task": lifecycle.task_json(task, account)}
                yield _sse(event.type, payload)
                last_write = time.monotonic()
        if time.monotonic() - last_write >= KEEPALIVE_SECONDS:
            yield b": keepalive\n\n"
            last_write = time.monotonic()
        # On PostgreSQL this hands the pooled connection back while the stream sleeps, so open
        # streams do not hold the pool; a kept SQLite connection stays.
        close_old_connections()
        time.sleep(STREAM_POLL_SECONDS)


@csrf_exempt  # an API view: a POST must get the JSON 405 below, not Django's HTML CSRF page
def events_stream(request: HttpRequest):
    if request.method != "GET":
        return error_response(405, "Method Not Allowed", {"Allow": "GET"})
    try:
        account = authenticate(request)
    except ApiError as exc:
        return error_response(exc.status, exc.detail, exc.headers)
    except Exception:
        logger.exception("nexustoken: the event stream failed to start")
        return error_response(500, "Internal error")
    topics = {t.strip() for t in request.GET.get("topics", "").split(",") if t.strip()}
    response = StreamingHttpResponse(_stream(account, topics), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
