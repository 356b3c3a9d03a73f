"""The task state machine: bidding, the sealed auction, award, submissions, settlement and refunds.

Every function that changes a task expects to run inside `transaction.atomic()` with the task row
locked (`locked_task`). Due transitions (auction close, pool, timeouts) are applied both lazily
when a task is read and by the clock thread in simulation.py.
"""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from sandbox.core import knobs

from . import checks, ledger, skill
from .models import (
    AWARDED,
    BIDDING,
    CANCELLED,
    EXPIRED,
    PENDING_POOL,
    SETTLED,
    Account,
    Bid,
    StreamEvent,
    Submission,
    Task,
)

PLATFORM_FEE_PERCENT = 5
ATTEMPTS_PER_AWARD = 3  # the first submission and 2 retries
COOLDOWN = timedelta(hours=1)
PREVIEW_CHARS = 200


def routing_window() -> timedelta:
    """How long a task waits for a first bid before it moves to the pending pool."""
    return timedelta(seconds=knobs.get("nexustoken_routing_seconds"))


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def task_json(task: Task, viewer: Account | None) -> dict:
    """The wire shape (contract §2.2); the full input only for the creator and the awardee."""
    insider = viewer is not None and viewer.pk in (task.creator_id, task.awarded_to_id)
    return {
        "id": str(task.id),
        "status": task.status,
        "task_type": task.task_type,
        "max_budget_credits": task.max_budget_credits,
        "max_execution_seconds": task.max_execution_seconds,
        "input_data": task.input_data if insider else None,
        "input_data_preview": task.input_data[:PREVIEW_CHARS],
        "validation_schema": task.validation_schema,
        "validation_rules": task.validation_rules,
        "example_output": task.example_output,
        "input_file_ids": task.input_file_ids,
        "quality_preference": task.quality_preference,
        "min_skill_rating": task.min_skill_rating,
        "callback_url": (task.callback_url or None) if insider else None,
        "pending_pool_hours": task.pending_pool_hours,
        "auto_retry": task.auto_retry,
        "creator_id": str(task.creator_id),
        "is_mine": viewer is not None and viewer.pk == task.creator_id,
        "awarded_to": str(task.awarded_to_id) if task.awarded_to_id else None,
        "awarded_price": task.awarded_price,
        "awarded_at": iso(task.awarded_at),
        "auction_closes_at": iso(task.auction_closes_at),
        "retries_left": max(0, task.attempts_left - 1) if task.status == AWARDED else None,
        "fee_credits": task.fee_credits,
        "result_data": task.result_data if task.status == SETTLED else None,
        "events": task.events,
        "created_at": iso(task.created_at),
        "finished_at": iso(task.finished_at),
    }


def locked_task(task_id) -> Task:
    """The task row, locked until the end of the surrounding transaction (Task.DoesNotExist if none)."""
    return Task.objects.select_for_update().get(pk=task_id)


def _event(task: Task, kind: str, detail: str = "") -> None:
    task.events = [*task.events, {"at": iso(timezone.now()), "type": kind, "detail": detail}]


def _publish(task: Task, kind: str) -> None:
    StreamEvent.objects.create(type=kind, task=task)


def _finish(task: Task, status: str, detail: str) -> None:
    """Move to a terminal status; the webhook leaves once the transaction commits."""
    from . import webhooks  # imported here: webhooks itself imports this module

    task.status = status
    task.finished_at = timezone.now()
    task.auction_closes_at = None
    _event(task, status, detail)
    _publish(task, f"task.{status.lower()}")
    if task.callback_url:
        task_id = task.pk
        transaction.on_commit(lambda: webhooks.deliver_later(task_id))


def _refund(task: Task) -> None:
    accounts = ledger.lock_accounts(task.creator_id)
    creator = accounts[task.creator_id]
    ledger.release(creator, task.frozen_credits)
    ledger.save_money(creator)
    task.frozen_credits = 0


def create(account: Account, fields: dict) -> Task:
    """Create a task and freeze its whole budget; ApiError-free: the caller checked everything."""
    now = timezone.now()
    accounts = ledger.lock_accounts(account.pk)
    payer = accounts[account.pk]
    task = Task(creator=payer, opened_at=now, frozen_credits=fields["max_budget_credits"], **fields)
    ledger.freeze(payer, task.frozen_credits)
    ledger.save_money(payer)
    _event(task, "CREATED", f"budget {task.max_budget_credits} NC frozen")
    task.save()
    _publish(task, "task.new")
    return task


def place_bid(task: Task, bidder: Account, credits: int) -> Bid:
    """Record a sealed bid; the first bid starts the auction clock."""
    now = timezone.now()
    bid = Bid.objects.create(task=task, account=bidder, bid_credits=credits)
    if task.status == PENDING_POOL:
        task.status = BIDDING
        task.pooled_at = None
        _event(task, "ROUTING", "a bid arrived in the pending pool")
    if task.auction_closes_at is None:
        task.auction_closes_at = now + timedelta(seconds=float(knobs.get("auction_seconds")))
    _event(task, "BID", f"{credits} NC")
    task.save()
    return bid


def _bid_rank(task: Task, bid: Bid, skill_score: int) -> tuple:
    """Sort key of a bid under the task's quality_preference: the smallest key wins.

    cheapest: the lowest bid. best: the highest skill for this task type, then reputation.
    balanced: an even blend of price (the share of the budget left over) and skill (score / 100).
    Ties go to the lower bid, then to the earlier one.
    """
    tie_break = (bid.bid_credits, bid.created_at)
    if task.quality_preference == "cheapest":
        return tie_break
    if task.quality_preference == "best":
        return (-skill_score, -bid.account.reputation, *tie_break)
    saving = 1 - bid.bid_credits / task.max_budget_credits
    return (-(0.5 * saving + 0.5 * skill_score / 100), *tie_break)


def _award(task: Task, now: datetime) -> None:
    bids = list(task.bids.select_related("account"))
    scores = {}
    if task.quality_preference != "cheapest":  # skill does not matter there: spare the queries
        scores = {b.pk: skill.score(b.account, task.task_type) for b in bids}
    best = min(bids, key=lambda b: _bid_rank(task, b, scores.get(b.pk, 0)))
    task.status = AWARDED
    task.awarded_to = best.account
    task.awarded_price = best.bid_credits
    task.awarded_at = now
    task.attempts_left = ATTEMPTS_PER_AWARD
    task.auction_closes_at = None
    _event(task, "AWARDED", f"{best.bid_credits} NC, {len(bids)} bid(s), {task.quality_preference}")
    _publish(task, "task.awarded")


def _penalize(worker_id, points: int) -> None:
    """A failed award: reputation down, and three failures in a row cool the worker down."""
    worker = ledger.lock_accounts(worker_id).get(worker_id)
    if worker is None:
        return
    worker.reputation -= points
    worker.tasks_failed += 1
    worker.consecutive_failures += 1
    if worker.consecutive_failures >= 3:
        worker.cooldown_until = timezone.now() + COOLDOWN
        worker.consecutive_failures = 0
    worker.save(update_fields=["reputation", "tasks_failed", "consecutive_failures", "cooldown_until"])


def _reopen_or_expire(task: Task, why: str) -> None:
    """After a failed award: back to bidding while auto_retry lasts, else expire with a refund."""
    task.awarded_to = None
    task.awarded_price = None
    task.awarded_at = None
    task.auction_closes_at = None
    task.bids.all().delete()
    if task.auto_retry > 0:
        task.auto_retry -= 1
        task.status = BIDDING
        task.opened_at = timezone.now()
        _event(task, "REOPENED", f"{why}; {task.auto_retry} automatic retries left")
        _publish(task, "task.new")
    else:
        _refund(task)
        _finish(task, EXPIRED, f"{why}; no automatic retries left, budget refunded")


def is_due(task: Task, now: datetime) -> bool:
    if task.status == BIDDING and task.auction_closes_at is not None:
        return now >= task.auction_closes_at
    if task.is_demo:
        return False
    if task.status == BIDDING:
        return now >= task.opened_at + routing_window()
    if task.status == PENDING_POOL:
        return task.pooled_at is not None and now >= task.pooled_at + timedelta(hours=task.pending_pool_hours)
    if task.status == AWARDED:
        return task.awarded_at is not None and now >= task.awarded_at + timedelta(
            seconds=task.max_execution_seconds
        )
    return False


def advance(task: Task) -> bool:
    """Apply the transition that time has made due, if any; True when the task changed."""
    now = timezone.now()
    if not is_due(task, now):
        return False
    if task.status == BIDDING and task.auction_closes_at is not None:
        _award(task, now)
    elif task.status == BIDDING:
        task.status = PENDING_POOL
        task.pooled_at = now
        _event(task, "PENDING_POOL", "no bids yet; waiting in the pending pool")
    elif task.status == PENDING_POOL:
        _refund(task)
        _finish(task, EXPIRED, f"no bids within {task.pending_pool_hours} h; budget refunded")
    else:
        _event(task, "TIMED_OUT", f"no valid result within {task.max_execution_seconds} s")
        _penalize(task.awarded_to_id, 3)
        _reopen_or_expire(task, "the worker timed out")
    task.save()
    return True


def refresh(task: Task) -> Task:
    """Lazy evaluation on read: apply a due transition before the task is shown."""
    if not is_due(task, timezone.now()):
        return task
    with transaction.atomic():
        fresh = locked_task(task.pk)
        advance(fresh)
    return fresh


def due_filter(now: datetime) -> Q:
    timed = (
        Q(status=BIDDING, auction_closes_at=None, opened_at__lte=now - routing_window())
        | Q(status=PENDING_POOL, pooled_at__lte=now - timedelta(hours=1))
        | Q(status=AWARDED, awarded_at__lte=now - timedelta(seconds=1))
    )
    return Q(status=BIDDING, auction_closes_at__lte=now) | (timed & Q(is_demo=False))


def sweep() -> int:
    """Advance every task that is due; returns how many changed."""
    now = timezone.now()
    changed = 0
    for task_id in Task.objects.filter(due_filter(now)).values_list("pk", flat=True)[:200]:
        with transaction.atomic():
            rows = Task.objects.filter(pk=task_id)
            if connection.vendor == "postgresql":
                # Another sweep or request holds it: it is being handled there.
                rows = rows.select_for_update(skip_locked=True)
            else:
                rows = rows.select_for_update()
            task = rows.first()
            if task is not None and advance(task):
                changed += 1
    return changed


def submit(task: Task, worker: Account, result: dict) -> dict:
    """Check a result: a pass settles at once, a failure uses up one attempt (contract §3.1)."""
    code, problem = checks.check_result(task.validation_schema, task.validation_rules, result)
    submission = Submission.objects.create(
        task=task, account=worker, result_data=result, error_code=code or ""
    )
    if code is None:
        _settle(task, result)
        task.save()
        return {
            "submission_id": str(submission.id),
            "error_code": None,
            "retries_left": max(0, task.attempts_left - 1),
            "status": SETTLED,
            "awarded_price": task.awarded_price,
        }
    task.attempts_left -= 1
    _event(task, "SUBMISSION_REJECTED", f"{code}: {problem}")
    if task.attempts_left <= 0:
        _event(task, "REJECTED", "validation failed after all retries")
        _penalize(worker.pk, 2)
        _reopen_or_expire(task, "the worker's results failed validation")
    task.save()
    return {
        "submission_id": str(submission.id),
        "error_code": code,
        "error_detail": problem,
        "retries_left": max(0, task.attempts_left),
        "status": task.status,
    }


def fee_for(bid: int, budget: int) -> int:
    """5% of the winning bid, at least 1 NC, but bid + fee never above the budget."""
    fee = max(1, (bid * PLATFORM_FEE_PERCENT + 99) // 100)
    return max(0, min(fee, budget - bid))


def _settle(task: Task, result: dict) -> None:
    price = task.awarded_price
    assert price is not None, "only an awarded task is settled"
    fee = fee_for(price, task.max_budget_credits)
    accounts = ledger.lock_accounts(task.creator_id, task.awarded_to_id)
    creator, worker = accounts[task.creator_id], accounts[task.awarded_to_id]
    # Pay from the frozen budget, then release the rest (which pays down any debt first).
    creator.credits_frozen -= price + fee
    ledger.release(creator, task.frozen_credits - price - fee)
    worker.credits_balance += price
    for account in {creator.pk: creator, worker.pk: worker}.values():
        account.task_count += 1
        ledger.save_money(account)
        account.save(update_fields=["task_count"])
    worker.reputation += 1
    worker.tasks_succeeded += 1
    worker.consecutive_failures = 0
    worker.save(update_fields=["reputation", "tasks_succeeded", "consecutive_failures"])
    task.frozen_credits = 0
    task.fee_credits = fee
    task.result_data = result
    _finish(task, SETTLED, f"paid {price} NC to the worker plus a {fee} NC fee; the rest refunded")


def cancel(task: Task) -> None:
    _refund(task)
    _finish(task, CANCELLED, "cancelled by the requester; budget refunded")
    task.save()
