from django.apps import AppConfig


class NexustokenConfig(AppConfig):
    name = "sandbox.nexustoken"
    label = "sandbox_nexustoken"
