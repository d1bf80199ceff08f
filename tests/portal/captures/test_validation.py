"""Defects 5 and 7 (files) of issue 12: what the upload check refuses, each with a clear reason.

Truncated captures are refused exactly: a file one byte shorter than its container structure
declares, or with fewer frames than its header promises. Giant frames, animated GIFs and absurd
frame rates are refused before anything is decoded. Every refusal leaves nothing stored.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from portal.captures.exceptions import CaptureRejected
from portal.captures.models import Capture
from portal.captures.services import capture_create
from tests.portal.captures.conftest import stored_files

pytestmark = pytest.mark.django_db

CONTAINERS = {
    "mkv-ffv1": ("cap.mkv", {"codec": "ffv1"}),
    "mp4-h264": ("cap.mp4", {"codec": "libx264"}),
    "mkv-h264": ("cap.mkv", {"codec": "libx264"}),
    "avi-ffv1": ("cap.avi", {"codec": "ffv1", "audio": False}),
}


def _refused(tape: Any, actor: Any, name: str, data: bytes, match: str) -> None:
    with pytest.raises(CaptureRejected, match=match):
        capture_create(tape=tape, upload=SimpleUploadedFile(name, data), actor=actor)
    assert Capture.objects.count() == 0
    assert stored_files(settings.MEDIA_ROOT) == []


@pytest.mark.parametrize("kind", sorted(CONTAINERS))
@pytest.mark.parametrize("keep", ["97%", "one byte short"])
def test_truncated_capture_is_refused_exactly(
    kind: str, keep: str, tape: Any, archivist: Any, video_factory: Callable[..., Path]
) -> None:
    name, options = CONTAINERS[kind]
    data = video_factory(name, frames=30, **options).read_bytes()
    cut = len(data) - 1 if keep == "one byte short" else len(data) * 97 // 100
    _refused(tape, archivist, name, data[:cut], "truncated|cut off|damaged")


@pytest.mark.parametrize("kind", sorted(CONTAINERS))
def test_complete_capture_of_each_container_is_accepted(
    kind: str, tape: Any, archivist: Any, video_factory: Callable[..., Path]
) -> None:
    name, options = CONTAINERS[kind]
    path = video_factory(name, frames=30, **options)
    capture = capture_create(
        tape=tape, upload=SimpleUploadedFile(name, path.read_bytes()), actor=archivist
    )
    assert capture.frame_count == 30


def test_trailing_bytes_after_a_complete_container_are_kept(
    tape: Any, archivist: Any, video_factory: Callable[..., Path]
) -> None:
    """Longer than declared is not truncation (some capture tools pad): accepted as is."""
    data = video_factory("cap.mkv", frames=12).read_bytes() + b"\0" * 100
    capture = capture_create(tape=tape, upload=SimpleUploadedFile("cap.mkv", data), actor=archivist)
    assert capture.size_bytes == len(data)


def _y4m(
    width: int, height: int, *, fps: str = "25:1", frames: int = 2, data: bool = True
) -> bytes:
    out = bytearray(f"YUV4MPEG2 W{width} H{height} F{fps} Ip A1:1 C420jpeg\n".encode())
    for index in range(frames):
        out += b"FRAME\n"
        if data:
            out += bytes([index * 40 % 256]) * (width * height * 3 // 2)
    return bytes(out)


def test_giant_frames_are_refused_with_the_limit(tape: Any, archivist: Any) -> None:
    _refused(tape, archivist, "big.y4m", _y4m(8192, 8192), r"8192x8192.*larger than.*4096x4096")


def test_absurd_header_dimensions_get_a_clear_message(tape: Any, archivist: Any) -> None:
    _refused(
        tape,
        archivist,
        "absurd.y4m",
        _y4m(100000, 100000, data=False),
        r"100000x100000.*larger than",
    )


def test_absurd_frame_rate_is_refused(tape: Any, archivist: Any) -> None:
    _refused(
        tape, archivist, "fast.y4m", _y4m(64, 48, fps="1000000:1", frames=3), r"1,000,000 frames"
    )


def test_animated_gif_is_refused(tape: Any, archivist: Any, tmp_path: Path) -> None:
    frames = [Image.new("RGB", (64, 48), (index * 80, 0, 0)) for index in range(3)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    _refused(tape, archivist, "anim.gif", path.read_bytes(), "animated GIF")


def test_small_y4m_at_a_tape_frame_rate_is_accepted(tape: Any, archivist: Any) -> None:
    capture = capture_create(
        tape=tape,
        upload=SimpleUploadedFile("ok.y4m", _y4m(64, 48, fps="30000:1001", frames=3)),
        actor=archivist,
    )
    assert (capture.width, capture.height) == (64, 48)


def test_limits_follow_settings(tape: Any, archivist: Any, settings: Any) -> None:
    settings.CAPTURE_MAX_WIDTH = settings.CAPTURE_MAX_HEIGHT = 32
    _refused(tape, archivist, "small.y4m", _y4m(64, 48), r"64x48.*larger than.*32x32")
