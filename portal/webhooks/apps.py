from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "portal.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.events import fixity_failed
        from portal.webhooks.events import on_fixity_failed

        fixity_failed.connect(on_fixity_failed, dispatch_uid="webhooks-fixity-failed")
