from typing import Any

from django.apps import AppConfig, apps
from django.db.models.signals import post_delete, post_save


def _catalog_row_changed(sender: Any, instance: Any, **kwargs: Any) -> None:
    """A catalog row saved or deleted, audited or not (a shell, a data fix, a bulk import):
    the institution's cached list fragments are stale (portal.cache)."""
    from portal.cache import institution_changed

    institution_id = getattr(instance, "institution_id", None)
    if institution_id is None and getattr(instance, "tape_id", None) is not None:
        institution_id = (
            apps.get_model("catalog", "Tape")
            .objects.filter(pk=instance.tape_id)
            .values_list("institution_id", flat=True)
            .first()
        )
    institution_changed(institution_id)


class CatalogConfig(AppConfig):
    name = "portal.catalog"
    label = "catalog"
    verbose_name = "Catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The rows the catalog list and the API tapes list show (captures: their counts).
        for label in ("catalog.Tape", "catalog.Collection", "catalog.TapeMetadata"):
            for signal in (post_save, post_delete):
                signal.connect(_catalog_row_changed, sender=label, dispatch_uid=f"cache-{label}")
        if apps.is_installed("portal.captures"):
            for signal in (post_save, post_delete):
                signal.connect(
                    _catalog_row_changed, sender="captures.Capture", dispatch_uid="cache-capture"
                )
