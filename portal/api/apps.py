from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "portal.api"
    label = "api"
    verbose_name = "API tokens and idempotency"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portal.api import schema  # noqa: F401  (registers the token auth scheme)
        from portal.api.tokens import on_tokens_revoke_requested
        from portal.events import api_tokens_revoke_requested

        api_tokens_revoke_requested.connect(
            on_tokens_revoke_requested, dispatch_uid="api-tokens-revoke"
        )
