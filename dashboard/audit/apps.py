from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "dashboard.audit"
    verbose_name = "Audit log"
