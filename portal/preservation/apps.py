from django.apps import AppConfig


class PreservationConfig(AppConfig):
    name = "portal.preservation"
    label = "preservation"
    verbose_name = "Preservation (fixity, packages, storage usage)"
    default_auto_field = "django.db.models.BigAutoField"
