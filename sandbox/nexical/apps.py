from django.apps import AppConfig


class NexicalConfig(AppConfig):
    name = "sandbox.nexical"
    label = "sandbox_nexical"
