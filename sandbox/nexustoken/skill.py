"""Skill scores (seed: per capability, 0-100) and what a task's min_skill_rating asks of them.

A capability is named after the task type it serves, so a worker's skill for a task is computed
from its own history on that task type, whether or not it registered the capability.
"""

from .models import AWARDED, SETTLED, Account, Task

# Seed tiers: Diamond (90+), Gold (75+), Silver (60+), Bronze (40+), Unrated (<40).
TIERS = ((90, "Diamond"), (75, "Gold"), (60, "Silver"), (40, "Bronze"))

# min_skill_rating is 0 (anyone) to 5, but the seed names only four tiers above Unrated. The 1-5
# scale is read like the seed's star ratings (Bronze 1, Silver 2, Gold 3, Platinum 4, Diamond 5):
# the named tiers keep their floors, and 4 ("Platinum", a tier skills lack) sits halfway between
# Gold and Diamond.
MIN_SCORE_FOR_RATING = {0: 0, 1: 40, 2: 60, 3: 75, 4: 82, 5: 90}


def tier(score: int) -> str:
    for floor, name in TIERS:
        if score >= floor:
            return name
    return "Unrated"


def stats(account: Account, task_type: str) -> dict:
    """The seed's formula: 35% success rate + 20% first-try rate + 15% speed + 15% volume + 15% rating."""
    tasks = Task.objects.filter(task_type=task_type)
    settled = list(tasks.filter(status=SETTLED, awarded_to=account).prefetch_related("submissions"))
    # Failures are not kept per task type: the account's overall count stands in for them.
    failed = account.tasks_failed
    done = len(settled) + failed
    success = len(settled) / done if done else 0.0
    first_try = sum(1 for t in settled if len(t.submissions.all()) == 1) / len(settled) if settled else 0.0
    durations = [
        (t.finished_at - t.awarded_at).total_seconds() for t in settled if t.awarded_at and t.finished_at
    ]
    avg_seconds = sum(durations) / len(durations) if durations else None
    speed = 1.0 if avg_seconds is None else max(0.0, 1 - avg_seconds / 300)
    volume = min(1.0, len(settled) / 50)
    rating = max(0.0, min(1.0, (account.reputation + 10) / 60))
    score = round(100 * (0.35 * success + 0.20 * first_try + 0.15 * speed + 0.15 * volume + 0.15 * rating))
    if not done:
        score = 0  # no history, no skill: a newcomer is Unrated
    return {
        "tasks_completed": len(settled),
        "tasks_failed": failed,
        "tasks_in_progress": tasks.filter(status=AWARDED, awarded_to=account).count(),
        "success_rate": round(success, 4),
        "first_try_rate": round(first_try, 4),
        "avg_execution_seconds": round(avg_seconds, 2) if avg_seconds is not None else None,
        "skill_score": score,
        "skill_tier": tier(score),
    }


def score(account: Account, task_type: str) -> int:
    return stats(account, task_type)["skill_score"]


def qualifies(task: Task, score_for_type: int) -> bool:
    return score_for_type >= MIN_SCORE_FOR_RATING.get(task.min_skill_rating, 0)
