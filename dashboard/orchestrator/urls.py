from django.urls import path

from .views import account, device, invites, jobs, projects, system, teams

PROJECT = "teams/<int:team_id>/projects/<int:project_id>/"
BRANCH = f"{PROJECT}branches/<int:branch_id>/"

app_name = "orchestrator"

urlpatterns = [
    path("teams/", teams.team_list, name="team_list"),
    path("teams/<int:team_id>/", teams.team_detail, name="team_detail"),
    path(PROJECT, projects.project_detail, name="project_detail"),
    path(BRANCH, projects.branch_detail, name="branch_detail"),
    path(f"{BRANCH}jobs/<int:job_id>/", jobs.job_detail, name="job_detail"),
    path(f"{BRANCH}jobs/<int:job_id>/run-again", jobs.job_run_again, name="job_run_again"),
    path("settings/tokens/", account.api_tokens, name="api_tokens"),
    path("settings/profile/", account.profile, name="profile"),
    path("device/", device.device_verify, name="device_verify"),
    path("system/", system.system_admin, name="system_admin"),
    path("invites/accept/", invites.invite_accept, name="invite_accept"),
]
