"""The emulated Nexical API, mounted at /nexical/. Paths have no trailing slash."""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path, re_path

from .http import not_found, route
from .views import accounts, device, jobs, projects, teams, workers


def unknown_path(request: HttpRequest) -> JsonResponse:
    return not_found("Path").response()


# The job routes, served both under the branch and as the flat compat aliases (contract §7).
job_routes = [
    path("jobs", route(GET=jobs.list_jobs, POST=jobs.create_job)),
    path("jobs/<int:jid>", route(GET=jobs.get_job)),
    path("jobs/<int:jid>/logs", route(GET=jobs.get_logs, POST=jobs.add_log)),
    path("jobs/<int:jid>/complete", route(POST=jobs.complete_job)),
    path("jobs/<int:jid>/fail", route(POST=jobs.fail_job)),
    path("jobs/<int:jid>/git-token", route(GET=jobs.git_token)),
    path("jobs/<int:jid>/agent-token", route(POST=jobs.agent_token)),
]
flat_job_routes = [
    path("jobs/<int:jid>", route(GET=jobs.get_job)),
    path("jobs/<int:jid>/logs", route(GET=jobs.get_logs, POST=jobs.add_log)),
    path("jobs/<int:jid>/complete", route(POST=jobs.complete_job)),
    path("jobs/<int:jid>/fail", route(POST=jobs.fail_job)),
    path("jobs/<int:jid>/git-token", route(GET=jobs.git_token)),
    path("jobs/<int:jid>/agent-token", route(POST=jobs.agent_token)),
    path("branches/<int:bid>/jobs", route(GET=jobs.list_jobs, POST=jobs.create_job)),
]

urlpatterns = [
    # Auth and users
    path("auth/users", route(POST=accounts.system_create_user)),
    path("auth/tokens", route(GET=accounts.list_tokens, POST=accounts.create_token)),
    path("auth/tokens/<int:token_id>", route(DELETE=accounts.revoke_token)),
    path("auth/worker/enroll", route(auth=False, POST=workers.enroll)),
    path("users/me", route(GET=accounts.me, PUT=accounts.update_me)),
    # Device flow
    path("device/code", route(auth=False, POST=device.device_code)),
    path("device/token", route(auth=False, POST=device.device_token)),
    path("device/approve", route(POST=device.approve)),
    path("device/deny", route(POST=device.deny)),
    path("device/lookup", route(POST=device.lookup)),  # our extension for the dashboard
    path("device", device.device_page, name="nexical-device"),
    # Teams, members, invitations
    path("teams", route(GET=teams.list_teams, POST=teams.create_team)),
    path("teams/<int:tid>", route(GET=teams.get_team, PUT=teams.update_team, DELETE=teams.delete_team)),
    path("teams/<int:tid>/members", route(GET=teams.list_members)),
    path(
        "teams/<int:tid>/members/<str:uid>",
        route(PUT=teams.update_member, DELETE=teams.remove_member),
    ),
    path("teams/<int:tid>/invites", route(GET=teams.list_invites, POST=teams.invite)),
    path("teams/<int:tid>/invites/<int:invite_id>", route(DELETE=teams.revoke_invite)),
    path("invites/accept", route(POST=teams.accept_invite)),
    # Projects, branches, jobs
    path("teams/<int:tid>/projects", route(GET=projects.list_projects, POST=projects.create_project)),
    path(
        "teams/<int:tid>/projects/<int:pid>",
        route(GET=projects.get_project, PUT=projects.update_project, DELETE=projects.delete_project),
    ),
    path(
        "teams/<int:tid>/projects/<int:pid>/branches",
        route(GET=projects.list_branches, POST=projects.create_branch),
    ),
    path(
        "teams/<int:tid>/projects/<int:pid>/branches/<int:bid>",
        route(GET=projects.get_branch, DELETE=projects.delete_branch),
    ),
    path("teams/<int:tid>/projects/<int:pid>/branches/<int:bid>/", include(job_routes)),
    path("", include(flat_job_routes)),
    # Workers and the system admin's extensions
    path("workers/acquire", route(POST=workers.acquire)),
    path(
        "admin/enrollment-tokens",
        route(GET=workers.list_enrollment_tokens, POST=workers.create_enrollment_token),
    ),
    path("admin/enrollment-tokens/<int:token_id>", route(DELETE=workers.revoke_enrollment_token)),
    path("admin/workers", route(GET=workers.list_workers)),
    # Anything else is a 404 in the API's own error shape, never Django's HTML page.
    re_path(r"^.*$", unknown_path),
]
