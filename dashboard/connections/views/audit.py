"""Settings > Audit log: the signed-in user's own actions, team-less ones included, and the sign-ins
someone tried with their username."""

from django.conf import settings
from django.db.models import Q
from django.http import HttpResponse, StreamingHttpResponse

from dashboard.audit import AuditEntry
from dashboard.core import auditlog
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.login import login_required

# Rows written without an account (nobody was signed in) that still concern this user.
_ATTEMPTS_ON_MY_NAME = ("signin.failed", "signin.locked")


@login_required
async def my_audit(request: AuthenticatedRequest) -> HttpResponse | StreamingHttpResponse:
    mine = Q(user=request.user) | Q(
        user__isnull=True, username=request.user.get_username(), action__in=_ATTEMPTS_ON_MY_NAME
    )
    return await auditlog.respond(
        request,
        AuditEntry.objects.filter(mine),
        template="connections/audit.html",
        context={"show_team": True, "retention_days": settings.AUDIT_RETENTION_DAYS},
        filename="my-audit-log.csv",
    )
