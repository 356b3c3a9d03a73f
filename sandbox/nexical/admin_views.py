"""Test and demo helpers at /_sandbox/nexical/ (sandbox admin token only)."""

import secrets

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from .auth import mint_token
from .http import MAX_ID, ApiError, Field, created, ok, parse_body
from .models import Invitation, Job, JobLog, OutboxMessage, Role, Token, User
from .serializers import user_json
from .views.accounts import EMAIL, create_user


def _admin_only(view):
    @csrf_exempt
    def guarded(request: HttpRequest, **kwargs) -> JsonResponse:
        header = request.headers.get("Authorization", "")
        if not secrets.compare_digest(header, f"Bearer {settings.SANDBOX_ADMIN_TOKEN}"):
            return ApiError(401, "unauthorized", "Send the sandbox admin token.").response()
        try:
            return view(request, **kwargs)
        except ApiError as error:
            return error.response()
        except RequestDataTooBig:
            return ApiError(413, "payload_too_large", "The request body is over 1 MB.").response()

    return guarded


@_admin_only
def users(request: HttpRequest) -> JsonResponse:
    """POST {email, fullName?, password?, role?} -> 201 {user, token}: a user and a fresh full-scope token.

    An email that already exists gets a fresh token for that user, so tests can call this freely.
    """
    if request.method != "POST":
        return ApiError(405, "method_not_allowed", "Use POST.").response()
    data = parse_body(
        request,
        {
            "email": Field(str, required=True, max_length=254, pattern=EMAIL),
            "fullName": Field(str, nullable=True, max_length=200),
            "password": Field(str, nullable=True, max_length=200),
            "role": Field(str, choices=tuple(Role.values)),
        },
    )
    user = User.objects.filter(email=data["email"].strip().lower()).first()
    if user is None:
        user = create_user(
            email=data["email"],
            full_name=data.get("fullName"),
            password=data.get("password"),
            role=data.get("role", Role.USER),
        )
    _, raw = mint_token(Token.Kind.API, "nx_", name="sandbox helper", user=user)
    return created({"user": user_json(user), "token": raw})


@_admin_only
def outbox(request: HttpRequest) -> JsonResponse:
    """GET -> {messages: [{to, subject, body, inviteToken}]}, oldest first."""
    messages = OutboxMessage.objects.order_by("id")
    return JsonResponse(
        {
            "messages": [
                {"to": m.to, "subject": m.subject, "body": m.body, "inviteToken": m.invite_token}
                for m in messages
            ]
        }
    )


@_admin_only
def jobs(request: HttpRequest) -> JsonResponse:
    """GET ?branch= -> {jobs: [{id, status, startedAt, completedAt}]}: every job of a branch, with the
    moments it changed status, so a load test can count the changes a dashboard should have seen."""
    branch = request.GET.get("branch", "")
    if not branch.isdigit():
        return ApiError(400, "bad_request", "Give ?branch=<id>.").response()
    rows = Job.objects.filter(branch_id=min(int(branch), MAX_ID)).order_by("id")
    return JsonResponse(
        {
            "jobs": [
                {
                    "id": job.pk,
                    "status": job.status,
                    "startedAt": job.started_at.isoformat() if job.started_at else None,
                    "completedAt": job.completed_at.isoformat() if job.completed_at else None,
                }
                for job in rows
            ]
        }
    )


@_admin_only
def expire_invitation(request: HttpRequest, invite_id: int) -> JsonResponse:
    """POST -> {success}: the invitation's 7 days are over now, so tests can see an expired one."""
    if request.method != "POST":
        return ApiError(405, "method_not_allowed", "Use POST.").response()
    if not Invitation.objects.filter(pk=min(invite_id, MAX_ID)).update(expires_at=timezone.now()):
        return ApiError(404, "not_found", "Invitation not found.").response()
    return ok()


BURST_MAX_LINES = 200_000
BURST_MAX_LINE_BYTES = 2_000_000
BURST_LEVELS = ("info", "warn", "error")


@_admin_only
def log_burst(request: HttpRequest, job_id: int) -> JsonResponse:
    """POST {count, level?, lineBytes?} -> 201 {count, lastId}: write `count` log lines to the job at
    once (any status), for large-log tests and benchmarks. `level` "mixed" cycles info/warn/error;
    `lineBytes` pads each message to about that many bytes (a 1 MB line, say)."""
    if request.method != "POST":
        return ApiError(405, "method_not_allowed", "Use POST.").response()
    data = parse_body(
        request,
        {
            "count": Field(int, required=True, minimum=1, maximum=BURST_MAX_LINES),
            "level": Field(str, choices=(*BURST_LEVELS, "mixed")),
            "lineBytes": Field(int, minimum=1, maximum=BURST_MAX_LINE_BYTES),
        },
    )
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return ApiError(404, "not_found", "Job not found.").response()
    level = data.get("level", "info")
    start = JobLog.objects.filter(job=job).count()
    lines = []
    for number in range(start + 1, start + data["count"] + 1):
        message = f"burst line {number}"
        if "lineBytes" in data:
            message = (message + " " + "x" * data["lineBytes"])[: data["lineBytes"]]
        line_level = BURST_LEVELS[number % 3] if level == "mixed" else level
        lines.append(JobLog(job=job, level=line_level, message=message, metadata={"burst": True}))
    JobLog.objects.bulk_create(lines, batch_size=2000)
    last = JobLog.objects.filter(job=job).order_by("-id").values_list("id", flat=True).first()
    return created({"count": data["count"], "lastId": last})
