"""Writes of captures: upload (probe, poster, audit, proxy task), proxy making, deletion.

A capture is accepted only when PyAV can read it as a video; a rejected file leaves nothing
behind (no row, no stored file). The original is stored byte for byte and never opened for
writing again; the poster and the browser proxy are separate files.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.models import Institution, Membership
from accounts.permissions import Role, acting_membership, require_role
from portal.audit.services import audit_record
from portal.captures.exceptions import CaptureError, CaptureRejected, ProxyError, UploadTooLarge
from portal.captures.models import Capture, ProxyStatus
from portal.captures.rules import capture_delete_refusal
from portal.captures.validation import probe_capture
from portal.exceptions import refuse_if
from portal.storage import jpeg_bytes, local_copy, temp_dir
from portal.webhooks import events as webhook_events

logger = logging.getLogger(__name__)

PROXY_TASK = "portal.captures.tasks.build_capture_proxy"
_HASH_CHUNK = 1024 * 1024


def _now() -> Any:
    return timezone.now()


@contextlib.contextmanager
def _local_upload(upload: File) -> Iterator[tuple[str, str, int]]:
    """(path on disk, sha256, size) of an upload, spooling it to a temp file when needed.

    Uploads through HashingFileUploadHandler already sit on disk with their hash; anything else
    (a file from a script, the demo clip) is copied in chunks while hashing.
    """
    temp_path = getattr(upload, "temporary_file_path", None)
    known_hash = getattr(upload, "sha256", "")
    if temp_path is not None and known_hash:
        path = temp_path()
        yield path, known_hash, os.path.getsize(path)
        return
    hasher = hashlib.sha256()
    fd, path = tempfile.mkstemp(prefix="capture-", dir=temp_dir())
    try:
        with os.fdopen(fd, "wb") as out:
            upload.seek(0)
            for chunk in upload.chunks(_HASH_CHUNK):
                hasher.update(chunk)
                out.write(chunk)
        upload.seek(0)
        yield path, hasher.hexdigest(), os.path.getsize(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _fraction_text(value: Any) -> str:
    if value is None:
        return ""
    return f"{value.numerator}/{value.denominator}"


def _safe_filename(name: str) -> str:
    base = PurePath(name.replace("\\", "/")).name.strip() or "capture"
    return base[:255]


def capture_create(*, tape: Any, upload: File, actor: Any, filename: str | None = None) -> Capture:
    """Accept ``upload`` as a capture of ``tape``: check, probe, store, poster, audit, proxy task.

    ``actor`` None means the system (demo data, management commands): no role check.
    Raises PermissionDenied, UploadTooLarge or CaptureRejected; on any error nothing is stored.
    """
    institution = tape.institution
    if actor is not None:
        require_role(actor, institution, Role.ARCHIVIST)
    original_filename = _safe_filename(filename or upload.name or "capture")
    size = upload.size or 0
    if size > settings.CAPTURE_MAX_UPLOAD_SIZE:
        raise UploadTooLarge(_too_large_message())
    if size == 0:
        raise CaptureRejected(
            f"“{original_filename}” is empty (0 bytes). Choose the video file again."
        )

    with _local_upload(upload) as (path, sha256, size):
        info, poster_rgb = probe_capture(path, original_filename)
        capture = _capture_from_probe(info, tape=tape, actor=actor)
        capture.original_filename, capture.size_bytes, capture.sha256 = (
            original_filename,
            size,
            sha256,
        )
        try:
            with transaction.atomic():
                _store_files(capture, upload, path, jpeg_bytes(poster_rgb, max_width=960))
                capture.save()
                audit_record(
                    actor=actor,
                    institution=institution,
                    action="capture.created",
                    target=capture,
                    tape=tape,
                    changes={"file": [None, original_filename]},
                    details={
                        "sha256": sha256,
                        "size_bytes": size,
                        "video": f"{capture.video_codec} {capture.width}x{capture.height} "
                        f"{capture.frame_rate} fps, {capture.duration_s:.2f} s",
                    },
                )
        except BaseException:
            # Only reached before the commit: a committed capture keeps its files.
            _delete_files(capture, "original", "poster")
            raise
    # Queued after the commit (when there is no outer transaction, at once). A broker outage
    # never reaches the uploader: capture_enqueue_proxy records it as a retryable proxy failure.
    transaction.on_commit(lambda: capture_enqueue_proxy(capture=capture))
    return capture


def _capture_from_probe(info: Any, *, tape: Any, actor: Any) -> Capture:
    """An unsaved Capture carrying the probe's technical fields."""
    return Capture(
        institution=tape.institution,
        tape=tape,
        container=info.container[:100],
        video_codec=info.video_codec[:64],
        pixel_format=(info.pixel_format or "")[:32],
        width=info.width,
        height=info.height,
        sample_aspect=_fraction_text(info.sample_aspect),
        display_aspect=_fraction_text(info.display_aspect),
        frame_rate=_fraction_text(info.frame_rate),
        frame_count=info.frame_count,
        duration_s=float(info.duration_s),
        interlaced=info.interlaced,
        field_order=info.field_order or "",
        bit_rate=info.bit_rate,
        audio_streams=[_audio_dict(stream) for stream in info.audio_streams],
        uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _store_files(capture: Capture, upload: File, path: str, poster: bytes) -> None:
    """Save the original (byte for byte, then read-only) and the poster into storage."""
    # A file already on disk (the upload's temporary file) is moved by local storage, not copied.
    on_disk = hasattr(upload, "temporary_file_path")
    source: File = upload if on_disk else File(open(path, "rb"))  # noqa: SIM115 - closed below
    try:
        capture.original.save(capture.original_filename, source, save=False)
    finally:
        if not on_disk:
            source.close()
    _make_read_only(capture.original)
    capture.poster.save("poster.jpg", ContentFile(poster), save=False)


def _make_read_only(field_file: Any) -> None:
    """On local storage, drop the write bits of the original: nothing may modify it."""
    try:
        path = field_file.storage.path(field_file.name)
    except NotImplementedError:  # object storage: the bucket's policy protects it
        return
    os.chmod(path, 0o440)


def _audio_dict(stream: Any) -> dict[str, Any]:
    return {
        "index": stream.index,
        "codec": stream.codec,
        "sample_rate": stream.sample_rate,
        "channels": stream.channels,
        "layout": stream.layout,
    }


def upload_size_limit(*, institution: Institution) -> int:
    """Largest capture ``institution`` may upload: its own setting, else the site's."""
    own = getattr(institution, "max_upload_bytes", None)
    return int(own) if own else int(settings.CAPTURE_MAX_UPLOAD_SIZE)


def _too_large_message() -> str:
    limit_gib = settings.CAPTURE_MAX_UPLOAD_SIZE / 1024**3
    return (
        f"The file is larger than the upload limit of {limit_gib:.3g} GiB "
        f"({settings.CAPTURE_MAX_UPLOAD_SIZE} bytes). Ask your administrator to raise "
        "CAPTURE_MAX_UPLOAD_SIZE, or split the capture."
    )


def upload_too_large_error() -> UploadTooLarge:
    return UploadTooLarge(_too_large_message())


def _delete_files(capture: Capture, *names: str) -> None:
    for name in names:
        field = getattr(capture, name)
        if field and field.name:
            try:
                field.storage.delete(field.name)
            except OSError:
                logger.exception("could not delete %s of capture %s", field.name, capture.pk)


def capture_enqueue_proxy(*, capture: Capture) -> bool:
    """Queue the proxy task (django-q2); the worker claims it with a guarded update.

    Runs after the capture was committed. When the broker cannot be reached (Redis down), the
    capture stays safely stored and its proxy is marked failed with a message saying to retry:
    an archivist would rather keep a 50 GB upload than be told to send it again. Returns False
    then.
    """
    from django_q.tasks import async_task

    try:
        async_task(PROXY_TASK, capture.pk, task_name=f"capture-proxy-{capture.pk}", group="proxy")
    except Exception as exc:
        logger.exception("could not queue the proxy of capture %s", capture.pk)
        message = (
            "The task queue could not be reached, so the browser copy was not started "
            f"({type(exc).__name__}). The original is stored safely; retry the browser copy "
            "when the queue is back."
        )
        _proxy_failed(capture, message, permanent=False, only_if_pending=True)
        return False
    return True


def _proxy_failed(
    capture: Capture, message: str, *, permanent: bool, only_if_pending: bool = False
) -> bool:
    """Mark the capture's browser copy failed with ``message`` and record it, in one
    transaction; with ``only_if_pending``, only while it has not started (False otherwise)."""
    with transaction.atomic():
        rows = Capture.objects.filter(pk=capture.pk)
        if only_if_pending:
            rows = rows.filter(proxy_status=ProxyStatus.PENDING)
        marked = rows.update(
            proxy_status=ProxyStatus.FAILED, proxy_error=message[:2000], proxy_finished_at=_now()
        )
        if marked:
            audit_record(
                actor=None,
                institution=capture.institution,
                action="capture.proxy_failed",
                target=capture,
                tape=capture.tape,
                details={"error": message[:500], "permanent": permanent},
            )
    return bool(marked)


def capture_proxy_retry(*, capture: Capture, actor: Any) -> bool:
    """Put a failed proxy back in the queue. Returns False when it was not failed."""
    require_role(actor, capture.institution, Role.ARCHIVIST)
    with transaction.atomic():
        reset = Capture.objects.filter(pk=capture.pk, proxy_status=ProxyStatus.FAILED).update(
            proxy_status=ProxyStatus.PENDING, proxy_error="", proxy_finished_at=None
        )
        if reset:
            audit_record(
                actor=actor,
                institution=capture.institution,
                action="capture.proxy_retried",
                target=capture,
                tape=capture.tape,
            )
            transaction.on_commit(lambda: capture_enqueue_proxy(capture=capture))
    return bool(reset)


def _progress_recorder(capture_id: int, *, every_s: float = 2.0) -> Any:
    """A make_access_copy progress callback that stores the fraction done, at most every 2 s."""
    last = [0.0]

    def record(done: int, total: int, eta_s: float | None) -> None:
        now = time.monotonic()
        if total > 0 and now - last[0] >= every_s:
            last[0] = now
            Capture.objects.filter(pk=capture_id, proxy_status=ProxyStatus.RUNNING).update(
                proxy_progress=min(done / total, 1.0)
            )

    return record


def capture_proxy_build(*, capture_id: int) -> bool:
    """Make the H.264/AAC MP4 browser proxy of a capture. Returns False when not claimed.

    Claiming is a guarded update (pending -> running), so a redelivered task never makes the
    same proxy twice at once.
    """
    from restoration.engine.exceptions import EngineError
    from restoration.engine.writers import make_access_copy

    claimed = Capture.objects.filter(pk=capture_id, proxy_status=ProxyStatus.PENDING).update(
        proxy_status=ProxyStatus.RUNNING,
        proxy_started_at=_now(),
        proxy_error="",
        proxy_progress=0.0,
    )
    if not claimed:
        return False
    capture = Capture.objects.select_related("tape", "institution").get(pk=capture_id)
    fd, dst = tempfile.mkstemp(prefix="proxy-", suffix=".mp4", dir=temp_dir())
    os.close(fd)
    try:
        with local_copy(capture.original) as src:
            # Browsers show interlaced frames combed: the access copy is deinterlaced (the
            # original keeps its fields untouched).
            make_access_copy(
                src,
                dst,
                progress=_progress_recorder(capture_id),
                deinterlace="bwdif" if capture.interlaced else "off",
            )
        with transaction.atomic(), open(dst, "rb") as handle:
            if capture.proxy:
                _delete_files(capture, "proxy")
            capture.proxy.save("proxy.mp4", File(handle), save=False)
            capture.proxy_status = ProxyStatus.READY
            capture.proxy_progress = 1.0
            capture.proxy_finished_at = _now()
            capture.proxy_size_bytes = os.path.getsize(dst)
            capture.save(
                update_fields=[
                    "proxy",
                    "proxy_status",
                    "proxy_progress",
                    "proxy_finished_at",
                    "proxy_size_bytes",
                ]
            )
            audit_record(
                actor=None,
                institution=capture.institution,
                action="capture.proxy_ready",
                target=capture,
                tape=capture.tape,
            )
            webhook_events.proxy_ready(capture=capture)  # sent after commit
        return True
    except Exception as exc:
        permanent = getattr(exc, "permanent", not isinstance(exc, OSError))
        message = str(exc) if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
        logger.exception("proxy of capture %s failed", capture_id)
        _proxy_failed(capture, message, permanent=permanent)
        raise ProxyError(
            f"Could not make the browser proxy: {message}", permanent=permanent
        ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(dst)


def capture_delete(*, capture: Capture, actor: Any, membership: Membership | None = None) -> None:
    """Delete a capture and its files (managers only: originals are archival masters)."""
    membership = acting_membership(actor, capture.institution, membership)
    refuse_if(capture_delete_refusal(membership=membership, capture=capture))
    with transaction.atomic():
        audit_record(
            actor=actor,
            institution=capture.institution,
            action="capture.deleted",
            target=capture,
            tape=capture.tape,
            changes={"file": [capture.original_filename, None]},
            details={"sha256": capture.sha256},
        )
        names = [
            (f.storage, f.name) for f in (capture.original, capture.poster, capture.proxy) if f
        ]
        try:
            capture.delete()
        except ProtectedError as exc:  # restoration jobs/versions keep their source (provenance)
            raise CaptureError(
                "This capture is the source of restoration jobs and restored versions, which "
                "must keep their provenance: it cannot be deleted."
            ) from exc
        transaction.on_commit(lambda: _delete_stored(names))


def _delete_stored(names: list[tuple[Any, str]]) -> None:
    for storage, name in names:
        try:
            storage.delete(name)
        except OSError:
            logger.exception("could not delete %s", name)
