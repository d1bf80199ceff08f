"""Webhook services: manage endpoints (managers, audited) and emit signed events.

``webhook_emit(institution=..., event_type=..., data=...)`` is the one way to send an event:
after the current transaction commits, each active endpoint of the institution that selected
the event gets one django-q2 delivery task (default queue). A failed delivery (network error or
non-2xx) is retried with exponential backoff (30 s, 60 s, 120 s...) up to
``RESTORATION_WEBHOOK_ATTEMPTS`` attempts; every attempt is a ``Delivery`` row.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from accounts.models import Institution, Role
from accounts.permissions import require_role
from portal.audit.services import audit_record
from portal.webhooks.models import Delivery, Endpoint, EventType
from portal.webhooks.signing import new_secret, signed_headers

logger = logging.getLogger(__name__)

TASK_DELIVER = "portal.webhooks.tasks.deliver"
RETRY_BASE_SECONDS = 30


def _now() -> dt.datetime:
    return timezone.now()


def _clean_events(event_types: list[str] | None) -> list[str]:
    chosen = sorted(set(event_types or []))
    unknown = [name for name in chosen if name not in EventType.values]
    if unknown:
        raise ValidationError(
            {
                "event_types": f"Unknown events {', '.join(unknown)}; "
                f"known: {', '.join(EventType.values)}."
            }
        )
    return chosen


def _clean_url(url: str) -> str:
    URLValidator(schemes=["http", "https"])(url)
    return url


def webhook_endpoint_create(
    *,
    actor: Any,
    institution: Institution,
    url: str,
    event_types: list[str] | None = None,
    description: str = "",
    is_active: bool = True,
) -> Endpoint:
    require_role(actor, institution, Role.MANAGER)
    with transaction.atomic():
        endpoint = Endpoint.objects.create(
            institution=institution,
            url=_clean_url(url),
            description=description,
            event_types=_clean_events(event_types),
            is_active=is_active,
            secret=new_secret(),
            created_by=actor,
        )
        audit_record(
            actor=actor,
            institution=institution,
            action="webhook.created",
            target=endpoint,
            target_label=endpoint.url,
            details={"event_types": endpoint.event_types or "all"},
        )
    return endpoint


def webhook_endpoint_update(*, actor: Any, endpoint: Endpoint, **fields: Any) -> Endpoint:
    require_role(actor, endpoint.institution, Role.MANAGER)
    allowed = {"url", "event_types", "description", "is_active"}
    if unknown := set(fields) - allowed:
        raise TypeError(f"unknown webhook fields: {sorted(unknown)}")
    if "url" in fields:
        fields["url"] = _clean_url(fields["url"])
    if "event_types" in fields:
        fields["event_types"] = _clean_events(fields["event_types"])
    with transaction.atomic():
        changes = {
            name: [getattr(endpoint, name), value]
            for name, value in fields.items()
            if getattr(endpoint, name) != value
        }
        for name, value in fields.items():
            setattr(endpoint, name, value)
        endpoint.save()
        if changes:
            audit_record(
                actor=actor,
                institution=endpoint.institution,
                action="webhook.updated",
                target=endpoint,
                target_label=endpoint.url,
                changes=changes,
            )
    return endpoint


def webhook_endpoint_delete(*, actor: Any, endpoint: Endpoint) -> None:
    require_role(actor, endpoint.institution, Role.MANAGER)
    with transaction.atomic():
        audit_record(
            actor=actor,
            institution=endpoint.institution,
            action="webhook.deleted",
            target=endpoint,
            target_label=endpoint.url,
        )
        endpoint.delete()


def webhook_emit(*, institution: Institution | int, event_type: str, data: dict[str, Any]) -> str:
    """Queue ``event_type`` with ``data`` to the institution's endpoints that want it (after
    commit). Returns the message id (``msg_...``), the same for every endpoint and retry."""
    if event_type not in EventType.values:
        raise ValueError(f"unknown webhook event type {event_type!r}")
    institution_id = institution if isinstance(institution, int) else institution.pk
    message_id = f"msg_{uuid.uuid4().hex}"
    endpoints = [
        endpoint.pk
        for endpoint in Endpoint.objects.filter(institution_id=institution_id, is_active=True)
        if endpoint.wants(event_type)
    ]
    if not endpoints:
        return message_id
    payload = {"type": event_type, "timestamp": _now().isoformat(), "data": data}
    body = json.dumps(payload, sort_keys=True, default=str)
    for endpoint_id in endpoints:
        transaction.on_commit(
            lambda endpoint_id=endpoint_id: _enqueue(endpoint_id, message_id, event_type, body, 1)
        )
    return message_id


def _enqueue(endpoint_id: int, message_id: str, event_type: str, body: str, attempt: int) -> None:
    from portal.broker import task_enqueue

    # Explicitly the default queue: emitted on a restoration worker, a task without a cluster
    # would go to that worker's own (GPU) queue. Runs after the commit of the change that
    # emitted it: when the broker is down the message is kept in the database and sent later,
    # never lost and never a 500 for a change that was saved (or a failed finished job).
    task_enqueue(
        TASK_DELIVER,
        endpoint_id,
        message_id,
        event_type,
        body,
        attempt,
        task_name=f"webhook-{message_id}-{endpoint_id}-{attempt}",
        cluster=settings.Q_CLUSTER.get("cluster_name") or settings.Q_CLUSTER.get("name"),
    )


def webhook_deliver(
    *, endpoint_id: int, message_id: str, event_type: str, body: str, attempt: int
) -> bool:
    """POST the signed message once; schedule the next attempt when it fails."""
    endpoint = Endpoint.objects.filter(pk=endpoint_id, is_active=True).first()
    if endpoint is None:
        return False
    raw = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "tape-archive-portal-webhook/2",
        **signed_headers(
            secret=endpoint.secret, message_id=message_id, timestamp=int(time.time()), body=raw
        ),
    }
    request = urllib.request.Request(endpoint.url, data=raw, method="POST", headers=headers)
    status_code: int | None = None
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=settings.RESTORATION_WEBHOOK_TIMEOUT) as resp:
            status_code = resp.status
    except urllib.error.HTTPError as exc:
        status_code, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    delivered = status_code is not None and 200 <= status_code < 300
    Delivery.objects.create(
        endpoint=endpoint,
        message_id=message_id,
        event_type=event_type,
        attempt=attempt,
        status_code=status_code,
        error=error[:2000],
        delivered=delivered,
        created_at=_now(),
    )
    if not delivered:
        logger.warning(
            "webhook %s %s to %s failed (attempt %d): %s",
            event_type,
            message_id,
            endpoint.url,
            attempt,
            error,
        )
        if attempt < settings.RESTORATION_WEBHOOK_ATTEMPTS:
            _schedule_retry(endpoint_id, message_id, event_type, body, attempt + 1)
    return delivered


def retry_delay(attempt: int) -> int:
    """Seconds to wait before ``attempt`` (2, 3, ...): 30, 60, 120, ..."""
    return RETRY_BASE_SECONDS * 2 ** (attempt - 2)


def _schedule_retry(
    endpoint_id: int, message_id: str, event_type: str, body: str, attempt: int
) -> None:
    from django_q.models import Schedule
    from django_q.tasks import schedule

    schedule(
        TASK_DELIVER,
        endpoint_id,
        message_id,
        event_type,
        body,
        attempt,
        name=f"webhook-{message_id}-{endpoint_id}-{attempt}",
        schedule_type=Schedule.ONCE,
        repeats=1,
        next_run=_now() + dt.timedelta(seconds=retry_delay(attempt)),
    )
