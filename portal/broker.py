"""Queueing a task that must survive a broker outage.

Tasks queued after a commit (a webhook, a bag to build, an upload to finish) follow a change
that is already saved: when the broker (Redis) cannot be reached, the page must not answer 500
for a change that was made, and the task must not be lost. ``task_enqueue`` sends the task to
the broker; when that fails it keeps the task in the database as a one-off django-q2 schedule,
which the cluster's scheduler sends ``retry_in`` seconds later (and again on its next passes
until the broker answers: a scheduler pass that cannot reach the broker rolls back and leaves
the schedule due).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.utils import timezone

logger = logging.getLogger(__name__)

#: Seconds before a task kept during a broker outage is sent again.
BROKER_RETRY_SECONDS = 30


def task_enqueue(
    func: str,
    *args: Any,
    task_name: str,
    group: str | None = None,
    cluster: str | None = None,
    retry_in: int = BROKER_RETRY_SECONDS,
) -> bool:
    """Queue ``func(*args)``; True when the broker took it, False when it was kept for later.

    ``task_name`` names the task and, while it waits in the database, its schedule: the same
    task queued twice during an outage is kept once. ``cluster`` names the queue (None: the
    caller's own).
    """
    from django_q.models import Schedule
    from django_q.tasks import async_task

    q_options: dict[str, Any] = {"task_name": task_name}
    if group:
        q_options["group"] = group
    if cluster:
        q_options["cluster"] = cluster
    try:
        async_task(func, *args, q_options=q_options)
        return True
    except Exception as exc:  # noqa: BLE001 (any broker client: redis, SQS, refused...)
        logger.warning(
            "the task queue could not be reached (%s: %s); task %s is kept in the database "
            "and sent again in %d s",
            type(exc).__name__,
            exc,
            task_name,
            retry_in,
        )
    name = f"broker-retry-{task_name}"[:100]
    if not Schedule.objects.filter(name=name, repeats__gt=0).exists():
        Schedule.objects.create(
            name=name,
            func=func,
            args=repr(args),
            kwargs=repr({"q_options": {k: v for k, v in q_options.items() if k != "cluster"}}),
            schedule_type=Schedule.ONCE,
            repeats=1,
            next_run=timezone.now() + dt.timedelta(seconds=retry_in),
            # None: the default cluster's scheduler sends it, to its own queue.
            cluster=cluster if cluster else None,
        )
    return False
