"""Writes of resumable uploads: create, append bytes, terminate, finish into a capture, expire.

The transport (tus) lives here; what a capture must be (a complete, decodable video) is decided
by ``portal.captures.services.capture_create``, which the finished file goes through exactly as
a one-shot upload does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from accounts.permissions import Role, require_role
from portal.audit.services import audit_record
from portal.captures.exceptions import CaptureError
from portal.captures.services import capture_create, upload_size_limit
from portal.catalog.models import Tape
from portal.uploads import hashing
from portal.uploads.exceptions import (
    ChecksumMismatch,
    OffsetMismatch,
    UploadBusy,
    UploadError,
    UploadFinished,
    UploadGone,
    UploadTooLargeForInstitution,
)
from portal.uploads.models import GONE, ResumableUpload, UploadStatus

logger = logging.getLogger(__name__)

FINALIZE_TASK = "portal.uploads.tasks.finalize_upload"
#: Bytes read from the request per step (the bound on memory an append uses).
READ_SIZE = 1024 * 1024
#: The stored offset is committed at least this often during a long PATCH, so a process killed
#: mid-request loses at most this much.
COMMIT_EVERY = 32 * 1024 * 1024
#: tus checksum extension: the algorithms a PATCH's Upload-Checksum may name (hashlib names).
CHECKSUM_ALGORITHMS = ("sha256", "sha512", "sha1", "md5")


def _now() -> dt.datetime:
    return timezone.now()


def _expiry() -> dt.datetime:
    return _now() + dt.timedelta(seconds=settings.UPLOAD_EXPIRY_SECONDS)


def upload_create(
    *,
    actor: Any,
    tape: Tape,
    filename: str,
    length: int,
    client_sha256: str = "",
    metadata: dict[str, str] | None = None,
) -> ResumableUpload:
    """Open a resumable upload of ``length`` bytes for a capture of ``tape``."""
    require_role(actor, tape.institution, Role.ARCHIVIST)
    limit = upload_size_limit(institution=tape.institution)
    if length > limit:
        raise UploadTooLargeForInstitution(
            f"“{filename}” is {length} bytes; the upload limit of {tape.institution} is "
            f"{limit} bytes ({limit / 1024**3:.3g} GiB). Ask a manager to raise it."
        )
    if length <= 0:
        raise UploadError(f"“{filename}” is empty (0 bytes). Choose the video file again.")
    client_sha256 = client_sha256.strip().lower()
    if client_sha256 and (
        len(client_sha256) != 64 or any(c not in "0123456789abcdef" for c in client_sha256)
    ):
        raise UploadError("The sha256 metadata must be 64 hexadecimal characters.")
    now = _now()
    upload = ResumableUpload(
        institution=tape.institution,
        tape=tape,
        created_by=actor,
        filename=filename[:255] or "capture",
        length=length,
        client_sha256=client_sha256,
        metadata=dict(metadata or {}),
        created_at=now,
        updated_at=now,
        expires_at=_expiry(),
    )
    upload.partial_path.parent.mkdir(parents=True, exist_ok=True)
    upload.partial_path.touch(mode=0o600, exist_ok=False)
    try:
        upload.save()
    except BaseException:
        upload.partial_path.unlink(missing_ok=True)
        raise
    return upload


def _check_appendable(upload: ResumableUpload) -> None:
    if upload.status in GONE:
        raise UploadGone("This upload expired or was cancelled; start it again.")
    if upload.status != UploadStatus.RECEIVING:
        raise UploadFinished("This upload is complete; it takes no more bytes.")


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[Any]:
    """The partial file opened for writing, locked against concurrent appends (any process)."""
    try:
        handle = open(path, "r+b")  # noqa: SIM115 - closed below
    except FileNotFoundError as exc:  # finished or removed since the caller looked
        raise UploadGone("The bytes of this upload are gone; start it again.") from exc
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise UploadBusy(
                "Another request is sending bytes to this upload; wait for it to finish."
            ) from exc
        yield handle
    finally:
        handle.close()  # releases the lock


def upload_append(
    *,
    upload: ResumableUpload,
    offset: int,
    read: Callable[[int], bytes],
    content_length: int,
    checksum: tuple[str, bytes] | None = None,
) -> ResumableUpload:
    """Append the request body at ``offset`` (tus PATCH). Returns the upload, reloaded.

    ``read(n)`` returns up to n bytes of the body, b"" (or raises OSError) when the client
    went away: whatever arrived until then is kept, and the client resumes from there.

    ``checksum`` (tus checksum extension: an algorithm of ``CHECKSUM_ALGORITHMS`` and the
    digest the client computed of this body) makes the body all or nothing: its bytes are kept
    only when all of them arrived and their digest matches; otherwise the upload stays where it
    was (``ChecksumMismatch``, 460, when the digest differs) and the client sends the body again.
    """
    if checksum is not None and checksum[0] not in CHECKSUM_ALGORITHMS:
        raise UploadError(
            f"Upload-Checksum algorithm {checksum[0]!r} is not supported; use one of "
            f"{', '.join(CHECKSUM_ALGORITHMS)}."
        )
    if not upload.partial_path.exists():  # finished, failed or expired: its file is gone
        upload.refresh_from_db()
        _check_appendable(upload)
        raise UploadGone("The bytes of this upload are gone; start it again.")
    with _exclusive(upload.partial_path) as handle:
        upload.refresh_from_db()
        _check_appendable(upload)
        if offset != upload.offset:
            raise OffsetMismatch(
                f"Upload-Offset {offset} does not match the {upload.offset} bytes stored; "
                "ask with HEAD where to resume."
            )
        if upload.offset + content_length > upload.length:
            raise UploadError(
                f"The body ({content_length} bytes) goes past the announced Upload-Length "
                f"({upload.length})."
            )
        key = str(upload.uuid)
        hasher = hashing.hasher_at(key, upload.partial_path, upload.offset)
        handle.truncate(upload.offset)  # bytes past the committed offset (a crash) are dropped
        handle.seek(upload.offset)
        start = position = committed = upload.offset
        body_hasher = hashlib.new(checksum[0]) if checksum is not None else None
        remaining = content_length
        try:
            while remaining > 0:
                chunk = read(min(READ_SIZE, remaining))
                if not chunk:
                    break
                handle.write(chunk)
                hasher.update(chunk)
                if body_hasher is not None:
                    body_hasher.update(chunk)
                position += len(chunk)
                remaining -= len(chunk)
                if body_hasher is None and position - committed >= COMMIT_EVERY:
                    committed = _commit(upload, handle, hasher, position)
        except OSError:
            logger.info("upload %s: client went away at byte %s", key, position)
        if checksum is not None and body_hasher is not None:
            _check_body(upload, handle, start, remaining, checksum, body_hasher.digest())
        _commit(upload, handle, hasher, position)
    if upload.is_complete:
        upload_complete(upload=upload, sha256=hasher.hexdigest())
    return upload


def _check_body(
    upload: ResumableUpload,
    handle: Any,
    start: int,
    missing: int,
    checksum: tuple[str, bytes],
    digest: bytes,
) -> None:
    """Keep a checksummed body only when it is whole and its digest is the client's: else cut
    the partial file back to ``start`` (nothing committed) and say why."""
    if missing == 0 and digest == checksum[1]:
        return
    handle.truncate(start)
    handle.flush()
    if missing:
        raise UploadError(
            f"The body ended {missing} bytes short, so its Upload-Checksum cannot be checked; "
            f"nothing of it was kept. Send it again from offset {start}."
        )
    raise ChecksumMismatch(
        f"The body's {checksum[0]} digest does not match its Upload-Checksum: it was damaged "
        f"on the way, and nothing of it was kept. Send it again from offset {start}."
    )


def _commit(upload: ResumableUpload, handle: Any, hasher: Any, position: int) -> int:
    handle.flush()
    os.fsync(handle.fileno())
    now = _now()
    ResumableUpload.objects.filter(pk=upload.pk).update(
        offset=position, updated_at=now, expires_at=_expiry()
    )
    upload.offset, upload.updated_at = position, now
    hashing.remember(str(upload.uuid), position, hasher)
    return position


def upload_complete(*, upload: ResumableUpload, sha256: str) -> None:
    """All bytes are in: check the client's checksum, then hand the file to capture creation
    (inline for small files, on the default queue for big ones)."""
    hashing.forget(str(upload.uuid))
    if upload.client_sha256 and upload.client_sha256 != sha256:
        _fail(
            upload,
            f"The file arrived with SHA-256 {sha256}, not the {upload.client_sha256} announced: "
            "it was changed or damaged on the way. Upload it again.",
            delete_bytes=True,
        )
        raise ChecksumMismatch(upload.error)
    ResumableUpload.objects.filter(pk=upload.pk, status=UploadStatus.RECEIVING).update(
        status=UploadStatus.PROCESSING, sha256=sha256, updated_at=_now()
    )
    upload.status, upload.sha256 = UploadStatus.PROCESSING, sha256
    if upload.length <= settings.UPLOAD_INLINE_FINALIZE_BYTES:
        upload_finalize(upload_id=upload.pk)
        upload.refresh_from_db()
    else:
        from portal.broker import task_enqueue

        # The bytes are safe on disk: a broker outage keeps the task for later (no 500).
        task_enqueue(FINALIZE_TASK, upload.pk, task_name=f"upload-{upload.uuid}", group="upload")


class AssembledFile(File):
    """The finished partial file, as capture_create takes an upload: on disk, hash known."""

    def __init__(self, path: Path, *, name: str, size: int, sha256: str) -> None:
        super().__init__(open(path, "rb"), name=name)  # noqa: SIM115 - closed by the caller
        self._path, self.size, self.sha256 = str(path), size, sha256

    def temporary_file_path(self) -> str:
        return self._path


def upload_finalize(*, upload_id: int) -> bool:
    """Create the capture from a complete upload. Returns False when nothing was to be done."""

    upload = ResumableUpload.objects.select_related("tape", "created_by").get(pk=upload_id)
    if upload.status != UploadStatus.PROCESSING or upload.capture_id:
        return False
    assembled = AssembledFile(
        upload.partial_path, name=upload.filename, size=upload.length, sha256=upload.sha256
    )
    try:
        capture = capture_create(
            tape=upload.tape, upload=assembled, actor=upload.created_by, filename=upload.filename
        )
    except CaptureError as exc:
        _fail(upload, str(exc), delete_bytes=True)
        return False
    finally:
        assembled.close()
    ResumableUpload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.DONE, capture=capture, updated_at=_now()
    )
    upload.partial_path.unlink(missing_ok=True)  # local storage moved it already
    return True


def _fail(upload: ResumableUpload, message: str, *, delete_bytes: bool) -> None:
    ResumableUpload.objects.filter(pk=upload.pk).update(
        status=UploadStatus.FAILED, error=message[:2000], updated_at=_now()
    )
    upload.status, upload.error = UploadStatus.FAILED, message
    if delete_bytes:
        upload.partial_path.unlink(missing_ok=True)


def upload_terminate(*, upload: ResumableUpload, actor: Any) -> None:
    """Cancel an upload and delete its bytes (tus termination)."""
    require_role(actor, upload.institution, Role.ARCHIVIST)
    with _exclusive(upload.partial_path) if upload.partial_path.exists() else _nothing():
        ResumableUpload.objects.filter(pk=upload.pk).update(
            status=UploadStatus.TERMINATED, updated_at=_now()
        )
        upload.partial_path.unlink(missing_ok=True)
    hashing.forget(str(upload.uuid))


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


def uploads_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the bytes of uploads abandoned past their expiry (the cleanup schedule)."""
    now = now or _now()
    expired = 0
    stale = ResumableUpload.objects.filter(status=UploadStatus.RECEIVING, expires_at__lt=now)
    for upload in stale.select_related("institution", "tape"):
        try:
            lock = _exclusive(upload.partial_path) if upload.partial_path.exists() else _nothing()
            with lock, transaction.atomic():
                changed = ResumableUpload.objects.filter(
                    pk=upload.pk, status=UploadStatus.RECEIVING, expires_at__lt=now
                ).update(status=UploadStatus.EXPIRED, updated_at=now)
                if not changed:
                    continue
                audit_record(
                    actor=None,
                    institution=upload.institution,
                    action="upload.expired",
                    target=upload.tape,
                    tape=upload.tape,
                    details={
                        "file": upload.filename,
                        "bytes_received": upload.offset,
                        "length": upload.length,
                    },
                )
                upload.partial_path.unlink(missing_ok=True)
        except UploadBusy:  # bytes are arriving right now: not abandoned after all
            continue
        hashing.forget(str(upload.uuid))
        expired += 1
    return expired
