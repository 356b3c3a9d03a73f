from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dashboard.core"

    def ready(self) -> None:
        from . import static  # noqa: F401 (registers the deploy check that static files were collected)
