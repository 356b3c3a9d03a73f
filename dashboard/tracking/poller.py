"""The poller: a reconciliation loop that keeps TrackedJob rows, their events and log cache current.

One pass: claim the due jobs (and the other followed jobs of their branches) and the due project
scans with leases; make the upstream calls outside any transaction, with the token of a user who
follows each job; write each result in its own short transaction, guarded by the lease. One branch
job-list call updates every job of that branch; logs come with the `?after=` cursor; a job that
finished gets one last fetch, after which its cache is complete. Any failure moves the jobs it
touched ahead (backoff) and the pass carries on: nothing here may stop the loop.

Every upstream call is bounded (POLLER_CALL_BUDGET, dashboard.tracking.tokens) and the branches
are worked on at once, so a hung upstream or token delays a pass by about one budget, and the
heartbeat written at its end keeps moving.
"""

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TypedDict

from asgiref.sync import sync_to_async
from django.utils import timezone

from dashboard.accounts.models import Connection
from dashboard.core import leases, tracker
from dashboard.services import nexical
from dashboard.services.errors import APIError, AuthError, UpstreamError

from . import cadence, claims, record
from .models import FINISHED, ProjectScan, Status, TrackedJob
from .record import Observation
from .tokens import AllRateLimited, NoUsableToken, TokenPool

logger = logging.getLogger("dashboard.tracking")

# Branches (and project scans) worked on at once within a pass.
CONCURRENCY = 8
# Log lines per request, and pages per job per pass (a finished job's last fetch may take more).
LOG_PAGE = 500
RUNNING_PAGES = 4
FINAL_PAGES = 40
BUG = "The dashboard could not update this job; it will try again shortly."
NEVER = datetime.min.replace(tzinfo=UTC)  # the read time of a job whose log was never read

type BranchKey = tuple[int, int, int]


class ProjectIds(TypedDict):
    """The path of a project, as keyword arguments of the nexical calls (typed so mypy checks them)."""

    team_id: int
    project_id: int


class BranchIds(ProjectIds):
    branch_id: int


class ScanOutcome(TypedDict, total=False):
    """How a scan went, as keyword arguments of `record.finish_scan` (nothing: it went well)."""

    error: str
    retry_in: float


def default_name() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class PassSummary:
    jobs: int = 0
    scans: int = 0
    lost_leases: int = 0


@dataclass
class Poller:
    name: str = field(default_factory=default_name)
    tokens: TokenPool = field(default_factory=TokenPool)
    passes: int = 0

    async def run_pass(self) -> PassSummary:
        """One reconciliation pass over everything due now."""
        began = time.monotonic()
        self.passes += 1
        pass_id = f"{self.name}#{self.passes}"
        self.tokens.new_pass()
        now = timezone.now()
        due = await sync_to_async(claims.claim_due_jobs)(self.name, now)
        branches: dict[BranchKey, list[tuple[TrackedJob, bool]]] = defaultdict(list)
        for job in due:
            branches[(job.team_id, job.project_id, job.branch_id)].append((job, True))
        for job in await sync_to_async(claims.claim_branch_siblings)(self.name, now, set(branches)):
            # A sibling due soon is served now as well, so the jobs of a branch fall into step.
            nearly_due = job.next_poll_at <= now + cadence.TAKE_ALONG
            branches[(job.team_id, job.project_id, job.branch_id)].append((job, nearly_due))
        scans = await sync_to_async(claims.claim_due_scans)(self.name, now)

        limit = asyncio.Semaphore(CONCURRENCY)

        async def bounded(work: Awaitable[int]) -> int:
            async with limit:
                return await work

        renewing = asyncio.create_task(leases.keep_renewed(claims.LEASED, self.name))
        try:
            lost = await asyncio.gather(
                *(bounded(self._branch(key, members, pass_id, now)) for key, members in branches.items()),
                *(bounded(self._scan(scan, pass_id)) for scan in scans),
            )
        finally:
            renewing.cancel()
        await sync_to_async(tracker.beat)(self.name, time.monotonic() - began)
        return PassSummary(
            jobs=sum(len(m) for m in branches.values()), scans=len(scans), lost_leases=sum(lost)
        )

    # Jobs ------------------------------------------------------------------------------------------

    async def _branch(
        self, key: BranchKey, members: list[tuple[TrackedJob, bool]], pass_id: str, started: datetime
    ) -> int:
        """Update the claimed jobs of one branch; returns how many leases turned out lost."""
        seen = {job.pk: Observation(due=due) for job, due in members}
        jobs = [job for job, _ in members]
        try:
            await self._observe(key, jobs, seen, pass_id)
        except Exception:
            logger.exception("Poller: updating branch %s failed", key[2])
            for observation in seen.values():
                observation.error = BUG
        lost = 0
        for job in jobs:
            try:
                finish = sync_to_async(record.finish_job)
                if not await finish(job.pk, self.name, pass_id, seen[job.pk], started):
                    lost += 1
            except Exception:
                # The lease expires and the job is taken up again; the other jobs go on.
                logger.exception("Poller: recording job %s failed", job.job_id)
        return lost

    async def _observe(
        self, key: BranchKey, jobs: list[TrackedJob], seen: dict[int, Observation], pass_id: str
    ) -> None:
        team_id, project_id, branch_id = key
        where: BranchIds = {"team_id": team_id, "project_id": project_id, "branch_id": branch_id}
        connections = await sync_to_async(record.candidates)([job.pk for job in jobs])
        now = timezone.now()
        try:
            if any(seen[job.pk].due and _status_wanted(job, now) for job in jobs):
                listed = await self.tokens.call(connections, partial(nexical.job_list, **where))
                await sync_to_async(record.discover)(
                    team_id, project_id, listed, {branch_id: jobs[0].branch_name}, pass_id
                )
                by_id = {job.id: job for job in listed}
                for job in jobs:
                    seen[job.pk].upstream = by_id.get(job.job_id)
        except (UpstreamError, NoUsableToken, AllRateLimited) as failure:
            _failed(failure, [seen[job.pk] for job in jobs])
            return
        # Not in its branch's list: deleted, or a list that leaves some out. Ask for each such job.
        unlisted = [
            job
            for job in jobs
            if seen[job.pk].upstream is None and seen[job.pk].due and _status_wanted(job, now)
        ]
        await asyncio.gather(*(self._job(job, where, connections, seen[job.pk]) for job in unlisted))
        # Least recently read first: when the followers' share of calls runs out partway through the
        # branch (one person following twenty running jobs), the jobs left for the next pass are the
        # ones read last, so each gets its turn and none waits for ever behind the others.
        turns = sorted(jobs, key=lambda job: job.logs_read_at or NEVER)
        await asyncio.gather(*(self._logs(job, where, connections, seen[job.pk]) for job in turns))

    async def _job(
        self, job: TrackedJob, where: BranchIds, connections: list[Connection], seen: Observation
    ) -> None:
        try:
            request = partial(nexical.job_get, **where, job_id=job.job_id)
            seen.upstream = await self.tokens.call(connections, request)
        except (UpstreamError, NoUsableToken, AllRateLimited) as failure:
            _failed(failure, [seen])

    async def _logs(
        self, job: TrackedJob, where: BranchIds, connections: list[Connection], seen: Observation
    ) -> None:
        """New lines of a running job someone views (or, rarely, of one nobody views); every
        remaining line of one that finished."""
        status = seen.upstream.status if seen.upstream is not None else job.status
        final = status in FINISHED
        running = seen.due and status == Status.RUNNING
        if seen.gone or (final and job.logs_complete) or not (final or running):
            return
        if not final and not cadence.logs_wanted(job.last_viewed_at, job.logs_read_at, timezone.now()):
            return
        after = job.last_log_id
        try:
            for _ in range(FINAL_PAGES if final else RUNNING_PAGES):
                request = partial(nexical.job_logs, **where, job_id=job.job_id, after=after, limit=LOG_PAGE)
                page = await self.tokens.call(connections, request)
                seen.logs_read = True  # answered: a call the token's share held back is no read
                if page and not await sync_to_async(record.save_lines)(job.pk, self.name, page):
                    return  # lease lost: the poller that holds it now does the rest
                if len(page) < LOG_PAGE:
                    seen.logs_complete = final
                    return
                after = max(line.id for line in page)
        except (UpstreamError, NoUsableToken, AllRateLimited) as failure:
            _failed(failure, [seen])

    # Watched projects ---------------------------------------------------------------------------

    async def _scan(self, scan: ProjectScan, pass_id: str) -> int:
        """Find jobs of a watched project started elsewhere (one branch list, one job list per branch)."""
        where: ProjectIds = {"team_id": scan.team_id, "project_id": scan.project_id}
        outcome: ScanOutcome = {}
        try:
            connections = await sync_to_async(record.scan_candidates)(scan.team_id, scan.project_id)
            branches = await self.tokens.call(connections, partial(nexical.branch_list, **where))
            lists = await asyncio.gather(
                *(
                    self.tokens.call(connections, partial(nexical.job_list, **where, branch_id=b.id))
                    for b in branches
                )
            )
            names = {branch.id: branch.name for branch in branches}
            jobs = [job for listed in lists for job in listed]
            await sync_to_async(record.discover)(scan.team_id, scan.project_id, jobs, names, pass_id)
        except AllRateLimited as limited:
            outcome["retry_in"] = limited.retry_in
        except NoUsableToken:
            outcome["error"] = record.UNTRACKABLE
        except UpstreamError as error:
            outcome["error"] = error.user_message
        except Exception:
            logger.exception("Poller: scanning project %s failed", scan.project_id)
            outcome["error"] = BUG
        try:
            return 0 if await sync_to_async(record.finish_scan)(scan.pk, self.name, **outcome) else 1
        except Exception:
            logger.exception("Poller: recording the scan of project %s failed", scan.project_id)
            return 0


def _status_wanted(job: TrackedJob, now: datetime) -> bool:
    """Whether this due job needs its branch list now (pending ones always do)."""
    if job.status in FINISHED:
        return False
    viewed = cadence.is_viewed(job.last_viewed_at, now)
    return job.status == Status.PENDING or cadence.status_stale(job.status_checked_at, viewed, now)


def _failed(failure: Exception, observations: list[Observation]) -> None:
    for seen in observations:
        if isinstance(failure, AllRateLimited):
            seen.retry_in = failure.retry_in
        elif isinstance(failure, NoUsableToken):
            seen.untrackable = True
        elif isinstance(failure, APIError | AuthError) and getattr(failure, "status", 0) in (403, 404):
            # Every follower got a 404 (or 403): deleted upstream, or nobody may see it any more.
            seen.gone = failure.status == 404
            seen.untrackable = failure.status == 403
        else:
            seen.error = failure.user_message if isinstance(failure, UpstreamError) else BUG
