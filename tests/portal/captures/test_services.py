"""The upload service: real PyAV videos in, probe fields, poster, audit; bad files leave nothing."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from portal.audit.models import AuditEvent
from portal.captures.exceptions import CaptureRejected, ProxyError, UploadTooLarge
from portal.captures.models import Capture, ProxyStatus
from portal.captures.services import capture_create, capture_delete, capture_proxy_build
from portal.captures.tasks import build_capture_proxy
from tests.portal.captures.conftest import stored_files

pytestmark = pytest.mark.django_db


def _upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def test_capture_of_real_video_has_probe_fields_hash_and_poster(
    tape: Any, archivist: Any, video_factory: Callable[..., Path]
) -> None:
    path = video_factory("tape1.mkv", frames=12, size=(64, 48), audio=True)
    capture = capture_create(tape=tape, upload=_upload(path), actor=archivist)

    capture.refresh_from_db()
    assert capture.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert capture.size_bytes == path.stat().st_size
    assert capture.original_filename == "tape1.mkv"
    assert capture.institution == tape.institution and capture.uploaded_by == archivist
    assert "matroska" in capture.container
    assert capture.video_codec == "ffv1"
    assert (capture.width, capture.height) == (64, 48)
    assert capture.display_aspect == "4/3"
    assert capture.frame_rate == "25/1"
    assert capture.frame_count == 12
    assert capture.duration_s == pytest.approx(12 / 25, abs=0.05)
    assert capture.audio_streams and capture.audio_streams[0]["channels"] == 2
    assert capture.proxy_status == ProxyStatus.PENDING
    # The original is stored byte for byte; the poster is a real JPEG.
    with capture.original.open("rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == capture.sha256
    assert Path(capture.original.path).stat().st_mode & 0o222 == 0  # read-only on disk
    with capture.poster.open("rb") as poster:
        assert poster.read(3) == b"\xff\xd8\xff"
    event = AuditEvent.objects.get(action="capture.created")
    assert event.actor == archivist and event.tape_id == tape.pk
    assert event.details["sha256"] == capture.sha256


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.mkv", b"", "empty"),
        ("notes.txt", b"This is a text file, not a video.\n" * 50, "cannot be used as a capture"),
        # ffmpeg's tty demuxer renders text as "video": still refused.
        ("readme.txt", b"plain text, no video\n" * 40, "cannot be used as a capture"),
        ("photo.png", "png", "still image, not a video"),
        ("photo.jpg", "jpeg", "still image, not a video"),
    ],
)
def test_non_video_and_empty_files_are_rejected_leaving_nothing(
    tape: Any, archivist: Any, name: str, content: bytes | str, expected: str
) -> None:
    if isinstance(content, str):  # an image format: encode a real picture
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), "orange").save(buffer, format=content)
        content = buffer.getvalue()
    with pytest.raises(CaptureRejected, match=expected) as raised:
        capture_create(tape=tape, upload=SimpleUploadedFile(name, content), actor=archivist)
    assert name in raised.value.message
    assert Capture.objects.count() == 0
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not AuditEvent.objects.filter(action="capture.created").exists()


def test_truncated_video_is_rejected_leaving_nothing(
    tape: Any, archivist: Any, video_factory: Callable[..., Path]
) -> None:
    path = video_factory("long.mkv", frames=60, audio=False)
    data = path.read_bytes()
    truncated = SimpleUploadedFile("cut.mkv", data[: len(data) * 6 // 10])
    with pytest.raises(CaptureRejected, match="truncated|cut off|damaged"):
        capture_create(tape=tape, upload=truncated, actor=archivist)
    assert Capture.objects.count() == 0
    assert stored_files(settings.MEDIA_ROOT) == []


def test_upload_over_the_size_limit_is_refused(
    tape: Any, archivist: Any, video_factory: Callable[..., Path], settings: Any
) -> None:
    path = video_factory()
    settings.CAPTURE_MAX_UPLOAD_SIZE = path.stat().st_size - 1
    with pytest.raises(UploadTooLarge, match="CAPTURE_MAX_UPLOAD_SIZE"):
        capture_create(tape=tape, upload=_upload(path), actor=archivist)
    assert Capture.objects.count() == 0


def test_outsider_and_reviewer_roles(
    other_tape: Any, tape: Any, outsider: Any, reviewer: Any, video_factory: Callable[..., Path]
) -> None:
    path = video_factory()
    with pytest.raises(PermissionDenied):
        capture_create(tape=tape, upload=_upload(path), actor=outsider)
    # A reviewer ranks above an archivist, so may upload too.
    assert capture_create(tape=tape, upload=_upload(path), actor=reviewer).pk


def test_proxy_task_makes_a_playable_h264_mp4_and_keeps_the_original(
    tape: Any, make_capture: Callable[..., Capture]
) -> None:
    capture = make_capture(tape)
    original_hash = capture.sha256
    assert build_capture_proxy(capture.pk) is True
    capture.refresh_from_db()
    assert capture.proxy_status == ProxyStatus.READY and capture.proxy_error == ""
    assert capture.proxy_progress == 1.0
    proxy_path = capture.proxy.path
    with av.open(proxy_path) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == capture.frame_count
    with open(proxy_path, "rb") as handle:
        head = handle.read(64 * 1024)
    assert head.find(b"moov") < head.find(b"mdat") or b"mdat" not in head  # faststart
    with capture.original.open("rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == original_hash
    # A redelivered task does not build it again.
    assert build_capture_proxy(capture.pk) is False


def test_proxy_failure_is_recorded_with_its_message(
    tape: Any, make_capture: Callable[..., Capture]
) -> None:
    capture = make_capture(tape)
    # The stored original disappears (a storage fault): the task fails and says why.
    Path(capture.original.path).unlink()
    with pytest.raises(ProxyError):
        capture_proxy_build(capture_id=capture.pk)
    capture.refresh_from_db()
    assert capture.proxy_status == ProxyStatus.FAILED
    assert capture.proxy_error
    assert AuditEvent.objects.filter(action="capture.proxy_failed").exists()


def test_delete_needs_manager_and_removes_files(
    tape: Any,
    make_capture: Callable[..., Capture],
    archivist: Any,
    manager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    capture = make_capture(tape)
    with pytest.raises(PermissionDenied):
        capture_delete(capture=capture, actor=archivist)
    with django_capture_on_commit_callbacks(execute=True):
        capture_delete(capture=capture, actor=manager)
    assert Capture.objects.count() == 0
    assert stored_files(settings.MEDIA_ROOT) == []
    assert AuditEvent.objects.filter(action="capture.deleted").exists()
