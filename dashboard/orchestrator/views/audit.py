"""A team's audit log: what was done to the team through the dashboard, for its owner and admins."""

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse

from dashboard.accounts.models import Service
from dashboard.audit import AuditEntry
from dashboard.core import auditlog
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import error_page, load, nexical_page
from dashboard.core.sections import menu_section
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI

from .. import access

NOT_FOR_MEMBERS = "Only the team's owner and admins can read its audit log."


@menu_section("teams")
@nexical_page
async def team_audit(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int
) -> HttpResponse | StreamingHttpResponse:
    # The role comes from Nexical, as on the team page; an outsider's 403 there is a 404 here.
    (team,) = await load(nexical.team_get(api, team_id=team_id))
    if not access.can_manage(team):
        return error_page(request, Service.NEXICAL, NOT_FOR_MEMBERS, 403)
    return await auditlog.respond(
        request,
        AuditEntry.objects.filter(team_id=team_id),
        template="orchestrator/team_audit.html",
        context={"team": team, "retention_days": settings.AUDIT_RETENTION_DAYS},
        filename=f"{team.slug or team.id}-audit-log.csv",
    )
