"""Who may see a tracked job: asked of Nexical with the viewer's own token, the answer kept briefly.

The live pages read the poller's cache, which holds every tracked job of every user: without this
check anyone signed in could read any deploy log by guessing ids. The answer is cached per user and
job (ACCESS_SECONDS), so a page that polls or reconnects does not cost one upstream call each time.
"""

import asyncio
from dataclasses import dataclass

from django.core.cache import cache
from django.http import Http404

from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import load
from dashboard.services import nexical
from dashboard.services.errors import APIError
from dashboard.services.nexical import Job, NexicalAPI

from . import interest
from .models import Reason, TrackedJob

ACCESS_SECONDS = 60  # how long a "yes" holds: a member removed from the team loses access within it
REFUSAL_SECONDS = 10  # how long a "no" holds: it spares upstream a retry storm, and stays short


@dataclass(frozen=True)
class Sight:
    """What the viewer's own token showed: the upstream job (None when it was deleted upstream)."""

    job: Job | None


NOT_ALLOWED = "not-allowed"


def _key(user_id: int, ids: dict[str, int]) -> str:
    return "tracking:sight:{}:{team_id}:{project_id}:{branch_id}:{job_id}".format(user_id, **ids)


async def _ask(api: NexicalAPI, ids: dict[str, int], tracked: TrackedJob | None) -> Sight:
    """Ask upstream, with the viewer's token, whether they see the job (Http404 if not)."""
    try:
        (job,) = await load(nexical.job_get(api, **ids))
    except APIError as error:
        if not error.is_not_found:
            raise
        if tracked is None or not tracked.gone:
            raise Http404 from error
        # Deleted upstream: whoever is still in the team may read what was recorded before.
        try:
            await load(nexical.team_get(api, team_id=ids["team_id"]))
        except APIError as team_error:
            if team_error.is_not_found:
                raise Http404 from team_error
            raise
        return Sight(job=None)
    return Sight(job=job)


async def _names(api: NexicalAPI, ids: dict[str, int]) -> interest.Names:
    team, project, branch = await load(
        nexical.team_get(api, team_id=ids["team_id"]),
        nexical.project_get(api, team_id=ids["team_id"], project_id=ids["project_id"]),
        nexical.branch_get(api, **{k: ids[k] for k in ("team_id", "project_id", "branch_id")}),
    )
    return interest.Names(team=team.name, project=project.name, branch=branch.name)


async def viewable_job(
    request: AuthenticatedRequest, api: NexicalAPI, ids: dict[str, int]
) -> tuple[TrackedJob, Sight]:
    """The tracked job and what the viewer's token showed of it; Http404 for who may not see it.

    Showing a job registers it for tracking (reason "viewed"), so the poller follows it from now on.
    Upstream failures other than "not yours" propagate: the page layer turns them into sentences.
    """
    key = _key(request.user.pk, ids)
    sight = await cache.aget(key)
    if sight == NOT_ALLOWED:
        raise Http404
    tracked = await TrackedJob.objects.filter(**ids).afirst()
    if isinstance(sight, Sight) and tracked is not None:
        await interest.atouch_viewed(tracked)
        return tracked, sight
    try:
        sight = await _ask(api, ids, tracked)
    except Http404:
        await cache.aset(key, NOT_ALLOWED, REFUSAL_SECONDS)
        raise
    if sight.job is not None:
        known = tracked is not None and tracked.team_name and tracked.project_name and tracked.branch_name
        names = None if known else await _names(api, ids)
        path = interest.JobPath(ids["team_id"], ids["project_id"], ids["branch_id"])
        tracked = await interest.atrack_job(request.user, sight.job, path, Reason.VIEWED, names)
        if names is not None:  # stored by track_job; this instance was read before
            tracked.team_name, tracked.project_name, tracked.branch_name = names
    if tracked is None:  # _ask answers "no job" only for a job tracked here and deleted upstream
        raise Http404
    await cache.aset(key, sight, ACCESS_SECONDS)
    return tracked, sight


def _team_key(user_pk: int, team_id: int) -> str:
    return f"tracking:team:{user_pk}:{team_id}"


async def refused_teams(user_pk: int, team_ids: set[int]) -> set[int]:
    """The teams whose last answer (cached by viewable_teams) was "not yours": no upstream call, for
    pages that list tracked jobs without asking upstream (the home page)."""
    keys = {team_id: _team_key(user_pk, team_id) for team_id in team_ids}
    answers = await cache.aget_many(keys.values())
    return {team_id for team_id, key in keys.items() if answers.get(key) is False}


async def viewable_teams(request: AuthenticatedRequest, api: NexicalAPI, team_ids: set[int]) -> set[int]:
    """The teams among these that the viewer's token still sees (each answer cached like a job's)."""

    async def sees(team_id: int) -> bool:
        key = _team_key(request.user.pk, team_id)
        known: bool | None = await cache.aget(key)
        if known is not None:
            return known
        try:
            await load(nexical.team_get(api, team_id=team_id))
            allowed = True
        except Http404:
            allowed = False
        except APIError as error:
            if not error.is_not_found:
                raise
            allowed = False
        await cache.aset(key, allowed, ACCESS_SECONDS if allowed else REFUSAL_SECONDS)
        return allowed

    answers = await asyncio.gather(*(sees(team_id) for team_id in sorted(team_ids)))
    return {team_id for team_id, allowed in zip(sorted(team_ids), answers, strict=True) if allowed}
