"""Frame thumbnails for the review page, extracted on demand and cached in storage.

"before" comes from the capture's original file, "after" from the version's master (FFV1 is
intra-only, so seeking to a frame is exact and cheap). Both are cached as JPEG under the job's
storage directory (``.../job-<id>/thumbs/``), which is never part of the version's fixity.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.http import Http404

from restoration.models import RestoredVersion

THUMB_WIDTH = 320


@dataclass
class StoredFile:
    """The bits of a FieldFile that ``serve_file_with_ranges`` uses, for a file no model owns."""

    storage: Storage
    name: str

    def __bool__(self) -> bool:
        return bool(self.name)


def _jpeg(rgb: Any, *, width: int = THUMB_WIDTH) -> bytes:
    from PIL import Image

    image = Image.fromarray(rgb)
    if image.width > width:
        image = image.resize((width, max(1, round(image.height * width / image.width))))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _frame_time(index: int, frame_rate: str) -> float:
    rate = Fraction(frame_rate) if frame_rate else Fraction(25)
    return float(index / rate)


def frame_thumbnail(*, version: RestoredVersion, index: int, which: str) -> StoredFile:
    """JPEG of frame ``index`` of the version (0 = its first frame), before or after."""
    if not 0 <= index < version.frame_count:
        raise Http404("This frame is outside the restored range.")
    name = f"restorations/{version.institution_id}/job-{version.job_id}/thumbs/{index}-{which}.jpg"
    if default_storage.exists(name):
        return StoredFile(default_storage, name)
    from portal.captures.services import local_file
    from restoration.engine.video import extract_frame

    if which == "before":
        source, frame_index = version.capture.original, version.frame_start + index
    else:
        source, frame_index = version.master, index
    with local_file(source) as path:
        rgb = extract_frame(path, at_s=_frame_time(frame_index, version.frame_rate))
    saved = default_storage.save(name, ContentFile(_jpeg(rgb)))
    return StoredFile(default_storage, saved)
