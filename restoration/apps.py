from django.apps import AppConfig


class RestorationConfig(AppConfig):
    name = "restoration"
    label = "restoration"
    verbose_name = "Restoration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from restoration import checks  # noqa: F401  (registers the system checks)
