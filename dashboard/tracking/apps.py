from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "dashboard.tracking"
    verbose_name = "Job tracking"
