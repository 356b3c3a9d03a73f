"""Who may see a tracked job, decided from what Nexical already said: one call per team, not per viewer.

The live pages read the poller's cache, which holds every tracked job of every user: without this
check anyone signed in could read any deploy log by guessing ids. The rules, in order:

1. The viewer's last answer for this job, kept per user and job in the cache: a "no" for
   REFUSAL_SECONDS (a retry storm never reaches upstream), a "yes" for ACCESS_SECONDS, and never past
   the moment the member list behind it is due to be read again.
2. A job nobody tracks yet: the viewer's own token looks it up (`job_get`), which also confirms where
   it lives upstream; the job is then registered. Only one such first look per job runs at a time in
   a process, so fifty people opening a fresh link make one look, and the others go on to rule 3.
3. A tracked job (its place upstream already confirmed): a viewer whose connection names a Nexical
   account on the team's member list (`TeamRoster`, shared by every process, read again with the
   viewer's token once older than TEAM_ROSTER_SECONDS) sees it with no call of their own. A member
   removed upstream loses access when the list is next read, within that time.
4. Whenever rule 3 cannot say yes (no account id stored, a connection upstream rejected, a system user,
   someone who joined after the list was read, an outsider, an upstream without the member list), the
   viewer's own token is asked, as in rule 2. Rule 3 only ever grants what that question would.
"""

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.http import Http404
from django.utils import timezone

from dashboard.accounts.models import Service
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import load
from dashboard.core.rows import columns, rows
from dashboard.services import nexical
from dashboard.services.errors import APIError, AuthError
from dashboard.services.nexical import Job, NexicalAPI

from . import interest
from .models import Reason, TeamRoster, TrackedJob

ACCESS_SECONDS = 60  # how long a "yes" holds: a member removed from the team loses access within it
REFUSAL_SECONDS = 10  # how long a "no" holds: it spares upstream a retry storm, and stays short


@dataclass(frozen=True)
class Sight:
    """How the viewer's access was settled: `job` is the job as their own token showed it; None when
    it was deleted upstream, or when the team's member list settled it without a call."""

    job: Job | None


NOT_ALLOWED = "not-allowed"


def _key(user_id: int, ids: dict[str, int]) -> str:
    return "tracking:sight:{}:{team_id}:{project_id}:{branch_id}:{job_id}".format(user_id, **ids)


class _Gates:
    """One holder at a time per key within an event loop (a process serves requests on one loop;
    the test client runs each on a fresh one), forgotten once nobody holds or awaits it."""

    def __init__(self) -> None:
        self._gates: dict[tuple[int, Hashable], tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def __call__(self, key: Hashable) -> AsyncIterator[None]:
        slot = (id(asyncio.get_running_loop()), key)
        lock, users = self._gates.get(slot, (asyncio.Lock(), 0))
        self._gates[slot] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._gates[slot]
            if users == 1:
                del self._gates[slot]
            else:
                self._gates[slot] = (lock, users - 1)


_gate = _Gates()


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


# Every job page and live request reads it, so plain SQL (the ORM's build took about 0.4 ms of CPU).
# At most one row: the four ids are unique together. Only names from the model are formatted in.
_TRACKED = (
    f"SELECT {columns(TrackedJob)} FROM {TrackedJob._meta.db_table}"  # noqa: S608
    " WHERE team_id = %s AND project_id = %s AND branch_id = %s AND job_id = %s"
)


def _tracked_now(ids: dict[str, int]) -> TrackedJob | None:
    where = [ids["team_id"], ids["project_id"], ids["branch_id"], ids["job_id"]]
    return next(iter(rows(TrackedJob, _TRACKED, where)), None)


async def _tracked(ids: dict[str, int]) -> TrackedJob | None:
    return await sync_to_async(_tracked_now)(ids)


def _viewed(ids: dict[str, int]) -> TrackedJob | None:
    """The tracked job, noted as being viewed: one trip to the request's thread for both."""
    tracked = _tracked_now(ids)
    if tracked is not None:
        interest.touch_viewed(tracked)
    return tracked


async def viewable_job(
    request: AuthenticatedRequest, api: NexicalAPI, ids: dict[str, int]
) -> tuple[TrackedJob, Sight]:
    """The tracked job and how the viewer's access was settled; Http404 for who may not see it.

    Showing a job registers it for tracking (reason "viewed"), so the poller follows it from now on.
    Upstream failures other than "not yours" propagate: the page layer turns them into sentences.
    """
    key = _key(request.user.pk, ids)
    sight = await cache.aget(key)
    if sight == NOT_ALLOWED:
        raise Http404
    if isinstance(sight, Sight):  # settled a moment ago: the job is only read, and noted as viewed
        tracked = await sync_to_async(_viewed)(ids)
        if tracked is not None:
            return tracked, sight
    else:
        tracked = await _tracked(ids)
    if tracked is None:
        async with _gate(("job", *ids.values())):
            tracked = await _tracked(ids)  # another viewer's first look may have just registered it
            if tracked is None:
                return await _own_look(request, api, ids, None)
    try:
        roster = await _roster(request, api, tracked.team_id)
    except _Unlisted:
        seen = await _own_look(request, api, ids, tracked)
        # They see the team's job, yet the member list was "not found": this upstream does not list
        # members, so nobody asks it again before the list would be due.
        await _save_roster(tracked.team_id, None)
        return seen
    if roster is not None and _listed(request, roster):
        tracked = await interest.aadd_viewer(request.user, tracked)
        if not (tracked.team_name and tracked.project_name and tracked.branch_name):
            # Registered without its place's names (by a page that did not know them): read them once,
            # for this job's every later viewer, with this member's token.
            names = await _names(api, ids)
            await interest.astore_names(tracked, names)
        sight = Sight(job=None)
        expires = (roster.read_at - timezone.now()).total_seconds() + settings.TEAM_ROSTER_SECONDS
        if expires >= 1:
            await cache.aset(key, sight, min(ACCESS_SECONDS, int(expires)))
        return tracked, sight
    return await _own_look(request, api, ids, tracked)


async def _own_look(
    request: AuthenticatedRequest, api: NexicalAPI, ids: dict[str, int], tracked: TrackedJob | None
) -> tuple[TrackedJob, Sight]:
    """Rules 2 and 4: the viewer's own token decides, and the answer is kept per user and job."""
    key = _key(request.user.pk, ids)
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


# The team's member list ---------------------------------------------------------------------------


def _account(request: AuthenticatedRequest) -> str:
    """The viewer's Nexical account id, when the member list may speak for them ("" when not)."""
    connection = request.connections.get(Service.NEXICAL)
    if connection is None or connection.needs_attention:
        return ""  # a token upstream rejected is asked again, and refused again
    return connection.account_id.lower()


def _listed(request: AuthenticatedRequest, roster: TeamRoster) -> bool:
    account = _account(request)
    return bool(account) and roster.member_ids is not None and account in roster.member_ids


async def _fresh_roster(team_id: int) -> TeamRoster | None:
    since = timezone.now() - timedelta(seconds=settings.TEAM_ROSTER_SECONDS)
    return await TeamRoster.objects.filter(team_id=team_id, read_at__gt=since).afirst()


async def _roster(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> TeamRoster | None:
    """The team's member list, read with the viewer's token when none is fresh (one read at a time
    per team in a process); None when it cannot speak for this viewer, who is then asked directly.
    A fresh list whose `member_ids` is None means the upstream lists no members."""
    if not _account(request):
        return None
    roster = await _fresh_roster(team_id)
    if roster is not None:
        return roster
    async with _gate(("team", team_id)):
        roster = await _fresh_roster(team_id)  # read by another viewer while this one waited
        if roster is not None:
            return roster
        try:
            members = await nexical.team_member_list(api, team_id=team_id)
        except APIError as error:
            if error.is_missing_endpoint:
                raise _Unlisted from error
            raise
        except AuthError as error:
            if error.is_unauthenticated:
                raise
            return None  # a 403: this token may not list the members
        return await _save_roster(team_id, sorted({str(member.user_id).lower() for member in members}))


class _Unlisted(Exception):
    """The member list answered "not found": not the viewer's team, or an upstream that lists no
    members. The viewer's own look tells which."""


async def _save_roster(team_id: int, member_ids: list[str] | None) -> TeamRoster:
    roster, _ = await TeamRoster.objects.aupdate_or_create(
        team_id=team_id, defaults={"member_ids": member_ids, "read_at": timezone.now()}
    )
    return roster


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
