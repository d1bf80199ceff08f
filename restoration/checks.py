"""System checks of the restoration setup (``manage.py check``): a misconfigured worker queue
or missing weights is reported at start-up, not when the first job fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.compatibility)
def check_restoration_queue(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    issues: list[Any] = []
    q_cluster = getattr(settings, "Q_CLUSTER", {})
    queue = getattr(settings, "RESTORATION_QUEUE", "")
    alt = (q_cluster.get("ALT_CLUSTERS") or {}).get(queue)
    if alt is None:
        # Q_CLUSTER_NAME=restoration pops ALT_CLUSTERS into the main config in the worker.
        if q_cluster.get("cluster_name") != queue:
            issues.append(
                Error(
                    f"Q_CLUSTER['ALT_CLUSTERS'] has no entry for the restoration queue {queue!r}.",
                    hint="Add the restoration worker block of portal/settings.py.",
                    id="restoration.E001",
                )
            )
        return issues
    timeout, retry = alt.get("timeout"), alt.get("retry")
    if timeout is None or retry is None or timeout >= retry:
        issues.append(
            Error(
                f"Restoration queue: timeout ({timeout}) must be shorter than retry ({retry}), "
                "or a running restoration is handed to a second worker.",
                id="restoration.E002",
            )
        )
    beat = max(settings.RESTORATION_HEARTBEAT_INTERVAL, settings.RESTORATION_PROGRESS_INTERVAL)
    if settings.RESTORATION_STALE_AFTER < beat * 3:
        issues.append(
            Error(
                "RESTORATION_STALE_AFTER must be at least three heartbeat intervals, or live "
                "jobs are reaped.",
                id="restoration.E003",
            )
        )
    return issues


@register(Tags.compatibility)
def check_restoration_defaults(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    from restoration.engine.registry import WEIGHTS_DIR
    from restoration.parameters import available_models
    from restoration.pipeline import checkpoint_for

    issues: list[Any] = []
    model = settings.RESTORATION_DEFAULT_MODEL
    if model not in available_models():
        issues.append(
            Error(
                f"RESTORATION_DEFAULT_MODEL={model!r} is not a model of the engine.",
                hint=f"Choose one of {', '.join(available_models())}.",
                id="restoration.E004",
            )
        )
        return issues
    if checkpoint_for(model) is None:
        issues.append(
            Warning(
                f"No weights found for the default model {model!r} "
                f"(looked in RESTORATION_CHECKPOINT_DIR and {WEIGHTS_DIR}).",
                hint="Jobs with this model will fail until its checkpoint is installed.",
                id="restoration.W001",
            )
        )
    work_dir = Path(settings.RESTORATION_WORK_DIR)
    parent = work_dir if work_dir.exists() else work_dir.parent
    if parent.exists() and not parent.is_dir():
        issues.append(
            Error(f"RESTORATION_WORK_DIR {work_dir} is not a directory.", id="restoration.E005")
        )
    return issues
