from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dashboard.core"

    def ready(self) -> None:
        from . import (
            django_middleware,  # noqa: F401 (its deploy check that the security middleware are in place)
            static,  # noqa: F401 (registers the deploy check that static files were collected)
        )
