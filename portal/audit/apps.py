from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "portal.audit"
    label = "audit"
    verbose_name = "Audit history"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.audit import receivers  # noqa: F401  (connects the accounts signal)
