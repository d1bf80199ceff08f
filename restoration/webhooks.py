"""Optional per-institution webhook, called when one of its restoration jobs finishes.

The body is JSON; the signature header lets the receiver check it came from the portal:

    X-Restoration-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>
    X-Restoration-Timestamp: <unix seconds>   (reject old ones to stop replays)

Deliveries run as django-q2 tasks on the default queue; a failed delivery (network error or a
non-2xx answer) is retried with exponential backoff (30 s, 60 s, 120 s, ...) up to
``RESTORATION_WEBHOOK_ATTEMPTS`` attempts. Every attempt is kept as a WebhookDelivery row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from restoration.models import (
    FINAL_STATUSES,
    RestorationJob,
    RestoredVersion,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

TASK_DELIVER = "restoration.tasks.deliver_webhook"
RETRY_BASE_SECONDS = 30


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def webhook_notify(*, job: RestorationJob) -> None:
    """Queue a delivery of the job's final state, if its institution has an active webhook."""
    if job.status not in FINAL_STATUSES:
        return
    if not WebhookEndpoint.objects.filter(
        institution_id=job.institution_id, is_active=True
    ).exists():
        return
    event = f"job.{job.status}"
    job_id = job.pk
    transaction.on_commit(lambda: _enqueue(job_id=job_id, event=event, attempt=1))


def _enqueue(*, job_id: int, event: str, attempt: int) -> None:
    from django_q.tasks import async_task

    # Explicitly the default queue: called on a restoration worker, a task without a cluster
    # would go to that worker's own (GPU) queue.
    async_task(
        TASK_DELIVER,
        job_id,
        event,
        attempt,
        q_options={
            "task_name": f"webhook-{job_id}-{attempt}",
            "cluster": settings.Q_CLUSTER.get("cluster_name") or settings.Q_CLUSTER.get("name"),
        },
    )


def webhook_payload(*, job: RestorationJob, event: str) -> dict[str, Any]:
    version = RestoredVersion.objects.filter(job_id=job.pk).first()
    return {
        "event": event,
        "job": {
            "id": job.pk,
            "status": job.status,
            "capture_id": job.capture_id,
            "tape_id": job.capture.tape_id,
            "preview": job.is_preview,
            "parameters": job.parameters,
            "requested_by": job.requested_by.get_username() if job.requested_by else None,
            "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "error_message": job.error_message or None,
            "error_permanent": job.error_permanent,
        },
        "version": (
            {
                "id": version.pk,
                "master_sha256": version.master_sha256,
                "access_sha256": version.access_sha256,
                "model_variant": version.model_variant,
                "engine_version": version.engine_version,
            }
            if version
            else None
        ),
    }


def webhook_deliver(*, job_id: int, event: str, attempt: int) -> bool:
    """POST the signed event once; schedule the next attempt when it fails."""
    job = RestorationJob.objects.select_related("capture", "requested_by").get(pk=job_id)
    endpoint = WebhookEndpoint.objects.filter(
        institution_id=job.institution_id, is_active=True
    ).first()
    if endpoint is None:
        return False
    body = json.dumps(webhook_payload(job=job, event=event), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "tape-archive-portal-webhook/1",
            "X-Restoration-Event": event,
            "X-Restoration-Delivery": str(uuid.uuid4()),
            "X-Restoration-Timestamp": timestamp,
            "X-Restoration-Signature": sign(endpoint.secret, timestamp, body),
        },
    )
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
    WebhookDelivery.objects.create(
        institution_id=job.institution_id,
        endpoint=endpoint,
        job=job,
        event=event,
        attempt=attempt,
        status_code=status_code,
        error=error[:2000],
        delivered=delivered,
        created_at=timezone.now(),
    )
    if not delivered:
        logger.warning(
            "webhook %s for job %s failed (attempt %d): %s", event, job_id, attempt, error
        )
        if attempt < settings.RESTORATION_WEBHOOK_ATTEMPTS:
            _schedule_retry(job_id=job_id, event=event, attempt=attempt + 1)
    return delivered


def retry_delay(attempt: int) -> int:
    """Seconds to wait before ``attempt`` (2, 3, ...): 30, 60, 120, ..."""
    return RETRY_BASE_SECONDS * 2 ** (attempt - 2)


def _schedule_retry(*, job_id: int, event: str, attempt: int) -> None:
    from django_q.models import Schedule
    from django_q.tasks import schedule

    schedule(
        TASK_DELIVER,
        job_id,
        event,
        attempt,
        name=f"webhook-{job_id}-{event}-{attempt}-{uuid.uuid4().hex[:8]}",
        schedule_type=Schedule.ONCE,
        repeats=1,
        next_run=timezone.now() + dt.timedelta(seconds=retry_delay(attempt)),
    )
