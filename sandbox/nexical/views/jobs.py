"""Jobs, their logs and job-scoped tokens (seed §Jobs), nested under the branch and as the flat
compat aliases (contract §7). Every handler takes the URL's ids as keywords: tid, pid, bid, jid."""

import secrets
from datetime import timedelta

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from ..access import branch_by_id, branch_for, is_holder, job_for, require_user
from ..auth import Caller, mint_token
from ..http import Field, conflict, created, forbidden, invalid, parse_body, query_int
from ..models import Branch, Job, JobLog, Project, Token
from ..serializers import iso, job_json, log_json

GIT_TOKEN_LIFETIME = timedelta(hours=1)
AGENT_TOKEN_LIFETIME = timedelta(hours=1)


def _branch(caller: Caller, path: dict[str, int]) -> Branch:
    if "tid" in path:
        return branch_for(caller, path["tid"], path["pid"], path["bid"])
    return branch_by_id(caller, path["bid"])


def list_jobs(request: HttpRequest, caller: Caller, **path: int) -> JsonResponse:
    # seed: GET /:branchId/jobs (jobs.list), newest first; ?status= is an extension
    branch = _branch(caller, path)
    jobs = Job.objects.filter(branch=branch).select_related("branch__project").order_by("-created_at", "-id")
    status = request.GET.get("status")
    if status is not None:
        if status not in Job.Status.values:
            raise invalid({"status": [f"Must be one of: {', '.join(Job.Status.values)}."]})
        jobs = jobs.filter(status=status)
    return JsonResponse({"jobs": [job_json(job) for job in jobs]})


def create_job(request: HttpRequest, caller: Caller, **path: int) -> JsonResponse:
    # seed: POST /:branchId/jobs (jobs.create)
    require_user(caller)
    branch = _branch(caller, path)
    data = parse_body(
        request,
        {
            "type": Field(str, required=True, max_length=100, pattern=r"[A-Za-z0-9_.:-]+"),
            "inputs": Field(dict, nullable=True),
        },
    )
    project: Project = branch.project
    queue = "public" if project.mode == Project.Mode.MANAGED else f"private-{project.team_id}"
    job = Job.objects.create(branch=branch, type=data["type"], queue=queue, inputs=data.get("inputs"))
    return created({"job": job_json(job)})


def get_job(request: HttpRequest, caller: Caller, jid: int, **path: int) -> JsonResponse:
    # seed: GET /:jobId (jobs.get)
    return JsonResponse({"job": job_json(job_for(caller, jid, path))})


def get_logs(request: HttpRequest, caller: Caller, jid: int, **path: int) -> JsonResponse:
    # seed: GET /:jobId/logs (getLogs); ?after=&limit= are extensions for tailing
    job = job_for(caller, jid, path)
    after = query_int(request, "after", minimum=0)
    limit = query_int(request, "limit", minimum=1, maximum=1000) or 1000
    logs = JobLog.objects.filter(job=job).order_by("id")
    if after is not None:
        logs = logs.filter(pk__gt=after)
    return JsonResponse({"logs": [log_json(log) for log in logs[:limit]]})


def _running_job_of_holder(caller: Caller, jid: int, path: dict[str, int], *, allow_system: bool) -> Job:
    """The job, if the caller holds it (or is a system user where allowed) and it is running."""
    job = job_for(caller, jid, path)
    if not is_holder(caller, job) and not (allow_system and caller.is_system):
        raise forbidden("Only the worker running this job may do this.")
    if job.status != Job.Status.RUNNING:
        raise conflict("The job is not running.", "job_not_running")
    return job


def add_log(request: HttpRequest, caller: Caller, jid: int, **path: int) -> JsonResponse:
    # seed: POST /:jobId/logs (addLog)
    job = _running_job_of_holder(caller, jid, path, allow_system=True)
    data = parse_body(
        request,
        {
            "message": Field(str, required=True, max_length=100_000),
            "level": Field(str, choices=tuple(JobLog.Level.values)),
            "metadata": Field(dict, nullable=True),
        },
    )
    log = JobLog.objects.create(
        job=job,
        message=data["message"],
        level=data.get("level", JobLog.Level.INFO),
        metadata=data.get("metadata"),
    )
    return created({"log": log_json(log)})


def complete_job(request: HttpRequest, caller: Caller, jid: int, **path: int) -> JsonResponse:
    # extension: POST /:jobId/complete {outputs?}
    data = parse_body(request, {"outputs": Field(dict, nullable=True)})
    return _finish(caller, jid, path, Job.Status.COMPLETED, data.get("outputs"))


def fail_job(request: HttpRequest, caller: Caller, jid: int, **path: int) -> JsonResponse:
    # extension: POST /:jobId/fail {error?, outputs?}; the error lands in outputs.error
    data = parse_body(
        request,
        {"error": Field(str, nullable=True, max_length=10_000), "outputs": Field(dict, nullable=True)},
    )
    outputs = dict(data.get("outputs") or {})
    outputs["error"] = data.get("error") or outputs.get("error") or "Job failed."
    return _finish(caller, jid, path, Job.Status.FAILED, outputs)


def _finish(
    caller: Caller, jid: int, path: dict[str, int], status: str, outputs: dict | None
) -> JsonResponse:
    if caller.job is not None:
        raise forbidden("Agent tokens may not finish their job.")
    with transaction.atomic():
        job = _running_job_of_holder(caller, jid, path, allow_system=True)
        # The conditional update makes a double finish from two threads lose cleanly.
        changed = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
            status=status, outputs=outputs, completed_at=timezone.now()
        )
        if not changed:
            raise conflict("The job is not running.", "job_not_running")
    job.refresh_from_db()
    return JsonResponse({"job": job_json(job)})


def git_token(request: HttpRequest, caller: Caller, jid: int, **path: int) -> JsonResponse:
    # seed: GET /jobs/:id/git-token (getGitToken): a fake clone credential, not wrapped, snake_case
    job = _running_job_of_holder(caller, jid, path, allow_system=False)
    project = job.branch.project
    if project.mode == Project.Mode.SELF_HOSTED:
        raise conflict("Self-hosted projects use the worker's own git token.", "self_hosted_project")
    if not project.repo_url:
        raise conflict("The project has no repository.", "no_repository")
    expires_at = timezone.now() + GIT_TOKEN_LIFETIME
    return JsonResponse({"token": "nxg_" + secrets.token_hex(20), "expires_at": iso(expires_at)})


def agent_token(request: HttpRequest, caller: Caller, jid: int, **path: int) -> JsonResponse:
    # seed: POST /jobs/:id/agent-token (getAgentToken): only the job's worker mints it
    if caller.worker is None:
        raise forbidden("Only the worker running this job may mint an agent token.")
    job = _running_job_of_holder(caller, jid, path, allow_system=False)
    expires_at = timezone.now() + AGENT_TOKEN_LIFETIME
    _, raw = mint_token(
        Token.Kind.AGENT, "nxa_", name=f"agent for job {job.pk}", job=job, expires_at=expires_at
    )
    return created({"token": raw, "expires_at": iso(expires_at)})
