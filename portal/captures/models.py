"""Captures: digitized files of a tape (PBCore digital instantiations of the Tape).

The original file is kept exactly as uploaded (its SHA-256 proves it); everything the portal
derives from it (poster frame, browser proxy) is stored beside it. Files live under
``captures/<institution>/<capture uuid>/`` in the default storage, which is never mounted under a
public URL: every byte goes out through the permission-checked views of ``portal.captures.views``.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.db import models

from portal.db import InstitutionScopedQuerySet


def _capture_dir(capture: Capture) -> str:
    return f"captures/{capture.institution_id}/{capture.uuid}"


def original_upload_to(capture: Capture, filename: str) -> str:
    # Keep the extension (players and ffmpeg like it) but not the user's name: names can be long,
    # non-ASCII or collide; the original name is stored in `original_filename`.
    suffix = PurePosixPath(filename).suffix.lower()[:16]
    return f"{_capture_dir(capture)}/original{suffix}"


def poster_upload_to(capture: Capture, filename: str) -> str:
    return f"{_capture_dir(capture)}/poster.jpg"


def proxy_upload_to(capture: Capture, filename: str) -> str:
    return f"{_capture_dir(capture)}/proxy.mp4"


class ProxyStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a worker"
    RUNNING = "running", "Being made"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class CaptureQuerySet(InstitutionScopedQuerySet["Capture"]):
    pass


class Capture(models.Model):
    """A digitized file of a tape: PBCore digital instantiation (``instantiationDigital``).

    Technical fields mirror PBCore ``instantiationEssenceTrack`` (codec, frame size, aspect,
    frame rate, duration) and ``instantiationDigital``/``instantiationFileSize``; the SHA-256
    is the fixity value (PREMIS ``messageDigest``).
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    institution = models.ForeignKey(
        "accounts.Institution", on_delete=models.CASCADE, related_name="captures"
    )
    tape = models.ForeignKey("catalog.Tape", on_delete=models.CASCADE, related_name="captures")

    original = models.FileField(upload_to=original_upload_to, max_length=300)
    original_filename = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)

    container = models.CharField(max_length=100)
    video_codec = models.CharField(max_length=64)
    pixel_format = models.CharField(max_length=32, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    #: Fractions kept as "num/den" strings: exact, and how PBCore/ffprobe write them.
    sample_aspect = models.CharField(max_length=32, blank=True)
    display_aspect = models.CharField(max_length=32, blank=True)
    frame_rate = models.CharField(max_length=32, blank=True)
    frame_count = models.PositiveIntegerField()
    duration_s = models.FloatField()
    #: None when the file does not say.
    interlaced = models.BooleanField(null=True)
    field_order = models.CharField(max_length=16, blank=True)
    bit_rate = models.BigIntegerField(null=True, blank=True)
    audio_streams = models.JSONField(default=list, blank=True)

    poster = models.FileField(upload_to=poster_upload_to, max_length=300, blank=True)

    proxy = models.FileField(upload_to=proxy_upload_to, max_length=300, blank=True)
    proxy_status = models.CharField(
        max_length=16, choices=ProxyStatus.choices, default=ProxyStatus.PENDING
    )
    proxy_error = models.TextField(blank=True)
    #: Bytes of the proxy once made (storage usage pages add these up).
    proxy_size_bytes = models.BigIntegerField(null=True, blank=True)
    #: Fraction done (0..1) while the proxy is being made.
    proxy_progress = models.FloatField(default=0.0)
    proxy_started_at = models.DateTimeField(null=True, blank=True)
    proxy_finished_at = models.DateTimeField(null=True, blank=True)

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CaptureQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["institution", "-created_at"])]

    def __str__(self) -> str:
        return self.original_filename

    @property
    def frame_rate_value(self) -> float | None:
        return _fraction_value(self.frame_rate)

    @property
    def display_aspect_value(self) -> float | None:
        return _fraction_value(self.display_aspect)

    @property
    def proxy_ready(self) -> bool:
        return self.proxy_status == ProxyStatus.READY and bool(self.proxy)

    @property
    def duration_label(self) -> str:
        total = round(self.duration_s)
        return f"{total // 3600:d}:{total % 3600 // 60:02d}:{total % 60:02d}"

    def technical_metadata(self) -> dict[str, Any]:
        """The probe fields, in display order (pages and the API show the same list)."""
        return {
            "container": self.container,
            "video_codec": self.video_codec,
            "pixel_format": self.pixel_format,
            "width": self.width,
            "height": self.height,
            "sample_aspect": self.sample_aspect,
            "display_aspect": self.display_aspect,
            "frame_rate": self.frame_rate,
            "frame_count": self.frame_count,
            "duration_s": self.duration_s,
            "interlaced": self.interlaced,
            "field_order": self.field_order,
            "bit_rate": self.bit_rate,
            "audio_streams": self.audio_streams,
        }


def _fraction_value(text: str) -> float | None:
    if not text:
        return None
    num, _, den = text.partition("/")
    try:
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return None
