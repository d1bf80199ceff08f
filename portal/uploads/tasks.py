"""django-q2 task adapters of resumable uploads: take ids, call a service."""

from __future__ import annotations

from portal.uploads.services import upload_finalize, uploads_expire


def finalize_upload(upload_id: int) -> bool:
    """Turn a complete upload into a capture (queued when the last byte of a big file arrives)."""
    return upload_finalize(upload_id=upload_id)


def expire_uploads() -> int:
    """Delete abandoned partial uploads (the cleanup schedule, every hour)."""
    return uploads_expire()
