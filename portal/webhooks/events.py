"""The events the portal emits, with their payloads (``data``), built from model rows.

Callers (services of other apps) call these after their change; each queues the event with
``webhook_emit`` after the transaction commits.
"""

from __future__ import annotations

from typing import Any

from portal.webhooks.services import webhook_emit


def proxy_ready(*, capture: Any) -> None:
    webhook_emit(
        institution=capture.tape.institution_id,
        event_type="proxy.ready",
        data={
            "capture_id": capture.pk,
            "tape_id": capture.tape_id,
            "sha256": capture.sha256,
            "original_filename": capture.original_filename,
        },
    )


def job_finished(*, job: Any, version: Any | None) -> None:
    webhook_emit(
        institution=job.institution_id,
        event_type=f"job.{job.status}",
        data={
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
                if version is not None
                else None
            ),
        },
    )


def review_decided(*, review: Any) -> None:
    version = review.version
    webhook_emit(
        institution=version.institution_id,
        event_type="review.decided",
        data={
            "version_id": version.pk,
            "tape_id": version.tape_id,
            "decision": review.decision,
            "reviewer": review.reviewer.get_username() if review.reviewer else None,
            "comment": review.comment,
        },
    )


def publication_changed(*, publication: Any, published: bool) -> None:
    webhook_emit(
        institution=publication.tape.institution_id,
        event_type="version.published" if published else "version.unpublished",
        data={
            "publication_id": publication.pk,
            "tape_id": publication.tape_id,
            "version_id": publication.version_id,
        },
    )


def on_fixity_failed(sender: Any, record: Any, event: Any = None, **_: Any) -> None:
    """Receiver of ``portal.events.fixity_failed`` (sent by ``portal.preservation``)."""
    webhook_emit(
        institution=record.institution_id,
        event_type="fixity.failed",
        data={
            "tape_id": record.tape_id,
            "capture_id": record.capture_id,
            "version_id": record.version_id,
            "role": record.role,
            "storage_name": record.storage_name,
            "expected_sha256": record.expected_sha256,
            "actual_sha256": record.last_sha256 or None,
            "error": record.last_error or None,
            "audit_event_id": getattr(event, "pk", None),
        },
    )
