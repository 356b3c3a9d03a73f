from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "dashboard.security"
    label = "security"
    verbose_name = "Sign-in security"

    def ready(self) -> None:
        from . import sessions

        sessions.connect_signals()
