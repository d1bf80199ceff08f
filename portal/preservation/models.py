"""Preservation state of stored files: fixity records and BagIt packages of tapes.

A ``FixityRecord`` is the current fixity state of one stored file (a capture's original or a
version's master): the SHA-256 it must have and the outcome of its latest re-check. Every check
is also an event in the audit history (``fixity.passed`` / ``fixity.failed``), which is the
permanent log PREMIS exports read.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portal.db import InstitutionScopedQuerySet


class FileRole(models.TextChoices):
    ORIGINAL = "original", "Capture original"
    MASTER = "master", "Restored master"


class FixityRecordQuerySet(InstitutionScopedQuerySet["FixityRecord"]):
    def failing(self) -> FixityRecordQuerySet:
        return self.filter(last_ok=False)


class FixityRecord(models.Model):
    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.CASCADE, related_name="+"
    )
    tape = models.ForeignKey("catalog.Tape", on_delete=models.CASCADE, related_name="+")
    capture = models.OneToOneField(
        "captures.Capture",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="fixity",
    )
    version = models.OneToOneField(
        "restoration.RestoredVersion",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="fixity",
    )
    role = models.CharField(max_length=16, choices=FileRole.choices)
    storage_name = models.CharField(max_length=500)
    expected_sha256 = models.CharField(max_length=64)
    expected_size = models.BigIntegerField()
    #: None until the first re-check; the schedule checks the oldest first.
    last_checked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_ok = models.BooleanField(null=True)
    last_sha256 = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    checks = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FixityRecordQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Fixity of {self.role} {self.storage_name}"

    @property
    def target(self) -> models.Model:
        return self.capture if self.capture_id else self.version  # type: ignore[return-value]


class PackageStatus(models.TextChoices):
    QUEUED = "queued", "Waiting for a worker"
    BUILDING = "building", "Being built"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class PreservationPackageQuerySet(InstitutionScopedQuerySet["PreservationPackage"]):
    pass


class PreservationPackage(models.Model):
    """A BagIt bag (tar) of a tape: originals, masters, descriptive XML, PREMIS XML."""

    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.CASCADE, related_name="+"
    )
    tape = models.ForeignKey("catalog.Tape", on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=PackageStatus.choices, default=PackageStatus.QUEUED
    )
    file = models.FileField(max_length=500, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = PreservationPackageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Package of tape {self.tape_id} ({self.status})"
