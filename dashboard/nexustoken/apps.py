from django.apps import AppConfig


class NexusTokenConfig(AppConfig):
    name = "dashboard.nexustoken"
    verbose_name = "NexusToken"
