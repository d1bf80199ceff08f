"""Resumable uploads (tus 1.0): the bytes of a capture arriving in pieces, possibly over days.

A row is created by the tus "creation" request; the bytes go to a partial file on local disk
(``UPLOAD_PARTIAL_DIR/<uuid>.part``) and ``offset`` says how many of them are stored for good.
When the last byte arrives the file is handed to the same capture creation as a one-shot upload
(probe, checks, storage, poster, audit, proxy task).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models

from portal.db import InstitutionScopedQuerySet


class UploadStatus(models.TextChoices):
    RECEIVING = "receiving", "Receiving bytes"
    PROCESSING = "processing", "Checking the video"
    DONE = "done", "Capture created"
    FAILED = "failed", "Refused"
    EXPIRED = "expired", "Expired"
    TERMINATED = "terminated", "Cancelled"


#: Statuses whose partial bytes are gone: tus answers 410 Gone.
GONE = frozenset({UploadStatus.EXPIRED, UploadStatus.TERMINATED})


class ResumableUploadQuerySet(InstitutionScopedQuerySet["ResumableUpload"]):
    pass


class ResumableUpload(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.CASCADE, related_name="+"
    )
    tape = models.ForeignKey("catalog.Tape", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    filename = models.CharField(max_length=255)
    #: Upload-Length: total bytes announced at creation.
    length = models.BigIntegerField()
    #: Bytes stored for good (the partial file may hold more after a crash; they are cut off).
    offset = models.BigIntegerField(default=0)
    #: SHA-256 (hex) the client announced, checked when the last byte arrives; optional.
    client_sha256 = models.CharField(max_length=64, blank=True)
    #: SHA-256 of the whole file, computed as the bytes arrive.
    sha256 = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=UploadStatus.choices, default=UploadStatus.RECEIVING
    )
    error = models.TextField(blank=True)
    capture = models.ForeignKey(
        "captures.Capture", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    #: An upload not completed by then is deleted by the cleanup schedule (tus expiration).
    expires_at = models.DateTimeField(db_index=True)

    objects = ResumableUploadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Upload {self.uuid} of {self.filename} ({self.offset}/{self.length})"

    @property
    def partial_path(self) -> Path:
        return Path(settings.UPLOAD_PARTIAL_DIR) / f"{self.uuid}.part"

    @property
    def is_complete(self) -> bool:
        return self.offset == self.length
