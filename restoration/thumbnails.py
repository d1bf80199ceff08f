"""Frame thumbnails for the review page, made by a worker and cached in storage.

"before" comes from the capture's original file, "after" from the version's master (FFV1 is
intra-only, so seeking to a frame is exact and cheap). The decoder reads the stored files
through seekable ranged reads (``portal.storage.open_stored``), so a thumbnail costs a few
megabytes of reading, never a copy of a 100 GB original. Page requests never decode: a missing
thumbnail queues ``make_review_thumbnails`` and the page shows a placeholder meanwhile. JPEGs
are cached under the job's storage directory (``.../job-<id>/thumbs/``), which is never part of
the version's fixity. The review page's exact original frames (``original_frame``, one frame a
reviewer asks for while paused) are decoded on request the same way and cached there as PNG.
"""

from __future__ import annotations

import io
import logging
from fractions import Fraction
from typing import Any

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from portal.media import StoredFile
from portal.storage import jpeg_bytes
from restoration.models import RestoredVersion

logger = logging.getLogger(__name__)

THUMB_WIDTH = 320
TASK = "restoration.tasks.make_review_thumbnails"
#: A version's thumbnails are queued at most once per this many seconds.
QUEUE_DEBOUNCE_S = 120

PLACEHOLDER_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180" viewBox="0 0 320 180">'
    b'<rect width="320" height="180" fill="#ddd"/><text x="160" y="95" font-family="sans-serif" '
    b'font-size="16" text-anchor="middle" fill="#555">Preparing frame\xe2\x80\xa6</text></svg>'
)


def _frame_time(index: int, frame_rate: str) -> float:
    rate = Fraction(frame_rate) if frame_rate else Fraction(25)
    return float(index / rate)


def thumbnail_name(version: RestoredVersion, index: int, which: str) -> str:
    return f"restorations/{version.institution_id}/job-{version.job_id}/thumbs/{index}-{which}.jpg"


def review_frame_indices(version: RestoredVersion) -> list[int]:
    """The frames the review page shows as thumbnails (its "worst frames" list)."""
    from restoration import selectors

    return list(
        selectors.worst_frames(
            scores=version.scores_before, count=8, min_gap=max(1, version.frame_count // 50)
        )
    )


def frame_thumbnail(*, version: RestoredVersion, index: int, which: str) -> StoredFile | None:
    """The cached JPEG of frame ``index`` (0 = the version's first frame), or None after
    queueing the worker that makes it."""
    name = thumbnail_name(version, index, which)
    if default_storage.exists(name):
        return StoredFile(default_storage, name)
    thumbnails_enqueue(version=version, extra=[index])
    return None


def thumbnails_enqueue(*, version: RestoredVersion, extra: list[int] | None = None) -> None:
    from django_q.tasks import async_task

    if cache.add(f"review-thumbs-{version.pk}-{extra}", 1, QUEUE_DEBOUNCE_S):
        async_task(TASK, version.pk, extra or [], group="thumbnails")


def _extract_rgb(field_file: Any, at_s: float) -> Any:
    """RGB frame at ``at_s`` seconds, decoded from the stored file through ranged reads."""
    import av

    from portal.storage import open_stored

    with open_stored(field_file) as handle, av.open(handle, mode="r") as container:
        stream = container.streams.video[0]
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        if at_s > 0:
            container.seek(int((at_s + start) / stream.time_base), stream=stream, backward=True)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is None or frame.time - start >= at_s - 1e-6:
                break
        if chosen is None:
            raise ValueError(f"no frame decoded at {at_s:.3f}s")
        return chosen.to_ndarray(format="rgb24")


def version_thumbnails_build(*, version_id: int, extra: list[int] | None = None) -> int:
    """Make the missing review thumbnails of a version (the worker task). Returns how many."""
    version = RestoredVersion.objects.select_related("capture").get(pk=version_id)
    indices = sorted(
        {
            i
            for i in [*review_frame_indices(version), *(extra or [])]
            if 0 <= i < version.frame_count
        }
    )
    made = 0
    for index in indices:
        for which in ("before", "after"):
            name = thumbnail_name(version, index, which)
            if default_storage.exists(name):
                continue
            if which == "before":
                source, frame_index = version.capture.original, version.frame_start + index
            else:
                source, frame_index = version.master, index
            rgb = _extract_rgb(source, _frame_time(frame_index, version.frame_rate))
            _store_once(name, jpeg_bytes(rgb, max_width=THUMB_WIDTH))
            made += 1
    return made


def _store_once(name: str, content: bytes) -> StoredFile:
    """Save under exactly ``name``. Two makers of the same frame at once (a worker and a page
    reload, two workers) would otherwise leave a second copy under a storage-made name
    (``..._AbC123.jpg``): the later one deletes its copy and the first one's stays."""
    saved = default_storage.save(name, ContentFile(content))
    if saved != name:
        default_storage.delete(saved)
    return StoredFile(default_storage, name)


def _png(rgb: Any) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def original_frame(*, version: RestoredVersion, frame: int) -> StoredFile:
    """Lossless PNG, full size, of capture frame ``frame`` decoded from the original capture
    (not the H.264 browser copy): the review page's exact "before" of a paused frame."""
    from django.http import Http404

    if not version.frame_start <= frame < version.frame_end:
        raise Http404("This frame is outside the restored range.")
    name = f"restorations/{version.institution_id}/job-{version.job_id}/thumbs/original-{frame}.png"
    if default_storage.exists(name):
        return StoredFile(default_storage, name)
    rgb = _extract_rgb(version.capture.original, _frame_time(frame, version.frame_rate))
    return _store_once(name, _png(rgb))
