"""Workers: enrollment, the atomic job claim, and the system admin's enrollment tokens."""

from datetime import timedelta

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from ..access import require_system
from ..auth import Caller, hash_token, mint_token, new_secret
from ..http import MAX_ID, ApiError, Field, created, forbidden, invalid, not_found, ok, parse_body
from ..models import EnrollmentToken, Job, Team, Token, Worker
from ..serializers import enrollment_token_json, iso, job_json, worker_json

SESSION_LIFETIME = timedelta(hours=24)


def enroll(request: HttpRequest, caller: None) -> JsonResponse:
    # seed: POST /auth/worker/enroll (enrollWorker): golden token -> worker session
    data = parse_body(
        request, {"token": Field(str, required=True, max_length=200), "metadata": Field(dict, nullable=True)}
    )
    metadata = data.get("metadata") or {}
    name = metadata.get("workerId") or metadata.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 200):
        raise invalid({"metadata": ["workerId and name must be non-empty strings."]})
    enrollment = EnrollmentToken.objects.filter(token_hash=hash_token(data["token"])).first()
    if enrollment is None:
        raise ApiError(401, "unauthorized", "Unknown or revoked enrollment token.")
    now = timezone.now()
    with transaction.atomic():
        worker = None
        if name:
            # Enrolling again under the same workerId resumes the same worker.
            worker = Worker.objects.filter(name=name, team=enrollment.team_id).first()
        if worker is None:
            worker = Worker.objects.create(name=name or f"worker-{now:%H%M%S}", team_id=enrollment.team_id)
        worker.last_seen_at = now
        worker.save(update_fields=["last_seen_at"])
        expires_at = now + SESSION_LIFETIME
        _, raw = mint_token(Token.Kind.WORKER, "nxw_", name=worker.name, worker=worker, expires_at=expires_at)
    return JsonResponse({"token": raw, "expiresAt": iso(expires_at), "worker": worker_json(worker)})


def acquire(request: HttpRequest, caller: Caller) -> JsonResponse:
    # seed: POST /workers/acquire (acquireJob): the oldest pending job of the worker's queue, or null
    worker = caller.worker
    if worker is None:
        raise forbidden("Only worker sessions may acquire jobs.")
    parse_body(request, {})
    now = timezone.now()
    with transaction.atomic():
        # SQLite: the IMMEDIATE transaction already holds the write lock, so claims are serial.
        # PostgreSQL: lock the row, and let concurrent workers skip to the next one.
        pending = Job.objects.filter(status=Job.Status.PENDING, queue=worker.queue).order_by(
            "created_at", "id"
        )
        if connection.features.has_select_for_update_skip_locked:
            pending = pending.select_for_update(skip_locked=True)
        job = pending.first()
        if job is not None:
            job.status = Job.Status.RUNNING
            job.started_at = now
            job.worker = worker
            job.save(update_fields=["status", "started_at", "worker"])
        Worker.objects.filter(pk=worker.pk).update(last_seen_at=now)
    if job is None:
        return JsonResponse({"job": None})
    job = Job.objects.select_related("branch__project").get(pk=job.pk)
    return JsonResponse({"job": job_json(job)})


def create_enrollment_token(request: HttpRequest, caller: Caller) -> JsonResponse:
    # extension: POST /admin/enrollment-tokens (system only); the raw token is shown once
    require_system(caller)
    data = parse_body(
        request,
        {
            "teamId": Field(int, nullable=True, minimum=1, maximum=MAX_ID),
            "name": Field(str, nullable=True, max_length=200),
        },
    )
    team_id = data.get("teamId")
    if team_id is not None and not Team.objects.filter(pk=team_id).exists():
        raise invalid({"teamId": ["No such team."]})
    raw = new_secret("nk_worker_")
    token = EnrollmentToken.objects.create(
        name=data.get("name") or "", team_id=team_id, token_hash=hash_token(raw), token_prefix=raw[:8]
    )
    return created({**enrollment_token_json(token), "token": raw})


def list_enrollment_tokens(request: HttpRequest, caller: Caller) -> JsonResponse:
    # extension: GET /admin/enrollment-tokens (system only)
    require_system(caller)
    tokens = EnrollmentToken.objects.order_by("id")
    return JsonResponse({"enrollmentTokens": [enrollment_token_json(t) for t in tokens]})


def revoke_enrollment_token(request: HttpRequest, caller: Caller, token_id: int) -> JsonResponse:
    # extension: DELETE /admin/enrollment-tokens/:id (system only); existing sessions keep working
    require_system(caller)
    deleted, _ = EnrollmentToken.objects.filter(pk=token_id).delete()
    if not deleted:
        raise not_found("Enrollment token")
    return ok()


def list_workers(request: HttpRequest, caller: Caller) -> JsonResponse:
    # extension: GET /admin/workers (system only)
    require_system(caller)
    workers = Worker.objects.order_by("created_at", "name")
    return JsonResponse({"workers": [worker_json(w) for w in workers]})
