from django.urls import path

from .views import deployments, jobs, logsearch, streams, watch

JOB = "teams/<int:team_id>/projects/<int:project_id>/branches/<int:branch_id>/jobs/<int:job_id>/"

app_name = "tracking"

urlpatterns = [
    path("deployments/", deployments.deployments, name="deployments"),
    path("teams/<int:team_id>/projects/<int:project_id>/watch", watch.project_watch, name="project_watch"),
    path("live/events", streams.live_stream, name="live_stream"),
    path(f"{JOB}events", jobs.job_stream, name="job_stream"),
    path(f"{JOB}updates", jobs.job_updates, name="job_updates"),
    path(f"{JOB}lines", jobs.job_log_lines, name="job_log_lines"),
    path(f"{JOB}log.txt", jobs.job_log_raw, name="job_log_raw"),
    path(f"{JOB}search", logsearch.job_log_search, name="job_log_search"),
    path(f"{JOB}outline", logsearch.job_log_outline, name="job_log_outline"),
    path(f"{JOB}levels", logsearch.job_log_levels, name="job_log_levels"),
]
