from django.apps import AppConfig


class RestorationConfig(AppConfig):
    name = "restoration"
    label = "restoration"
    verbose_name = "Restoration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from restoration import checks  # noqa: F401  (registers the system checks)
        from restoration.shutdown import on_worker_spawn
        from restoration.worker import on_worker_spawn_warm_up

        post_spawn.connect(on_worker_spawn, dispatch_uid="restoration-worker-stop")
        post_spawn.connect(on_worker_spawn_warm_up, dispatch_uid="restoration-worker-warm-up")
