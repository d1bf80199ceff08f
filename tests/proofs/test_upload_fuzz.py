"""Upload fuzz corpus of issue 12, made on the fly from real videos: cut, flipped, padded,
mislabelled and foreign files sent to the API and to the upload page.

Every answer is 201 or a clear 4xx (never a 5xx), and after each one the storage holds exactly
the files of the captures in the database: a refused file leaves nothing behind, an accepted
one leaves its original and poster.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from PIL import Image

from portal.captures.models import Capture
from portal.catalog.models import Tape
from tests.media import make_video

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _y4m(width: int, height: int, fps: str = "25:1", frames: int = 2) -> bytes:
    out = bytearray(f"YUV4MPEG2 W{width} H{height} F{fps} Ip A1:1 C420jpeg\n".encode())
    for _ in range(frames):
        out += b"FRAME\n" + bytes(width * height * 3 // 2)
    return bytes(out)


def _image(fmt: str, frames: int = 1) -> bytes:
    buffer = io.BytesIO()
    images = [Image.new("RGB", (32, 24), (i * 60, 0, 0)) for i in range(frames)]
    images[0].save(buffer, format=fmt, save_all=frames > 1, append_images=images[1:])
    return buffer.getvalue()


def corpus(tmp: Path) -> Iterator[tuple[str, str, bytes]]:
    """(case, file name, bytes): deterministic (seeded), about 40 files."""
    rng = random.Random(12)
    sources = {
        "mkv": make_video(tmp / "s.mkv", frames=10).read_bytes(),
        "mp4": make_video(tmp / "s.mp4", frames=10, codec="libx264").read_bytes(),
        "avi": make_video(tmp / "s.avi", frames=10, audio=False).read_bytes(),
    }
    for ext, data in sources.items():
        yield f"{ext}-intact", f"ok.{ext}", data
        for cut in (0.1, 0.5, 0.9):
            yield f"{ext}-cut-{cut}", f"cut.{ext}", data[: int(len(data) * cut)]
        yield f"{ext}-one-byte-short", f"short.{ext}", data[:-1]
        for index in range(3):
            flipped = bytearray(data)
            for _ in range(8):
                position = rng.randrange(0, min(len(data), 400))
                flipped[position] ^= 1 << rng.randrange(8)
            yield f"{ext}-header-flips-{index}", f"flip.{ext}", bytes(flipped)
        yield f"{ext}-as-txt", "video.txt", data
        yield f"{ext}-garbage-prefix", f"prefix.{ext}", rng.randbytes(512) + data
    yield "empty", "empty.mkv", b""
    yield "random", "random.mkv", rng.randbytes(4096)
    yield "text", "notes.mkv", b"not a video\n" * 100
    yield "png", "still.png", _image("PNG")
    yield "gif", "anim.gif", _image("GIF", frames=3)
    yield "y4m-ok", "ok.y4m", _y4m(32, 24)
    yield "y4m-giant", "giant.y4m", _y4m(8192, 8192, frames=1)[:4096]
    yield "y4m-absurd-size", "absurd.y4m", b"YUV4MPEG2 W100000 H100000 F25:1\nFRAME\n"
    yield "y4m-absurd-fps", "fast.y4m", _y4m(32, 24, fps="1000000:1", frames=3)
    yield "y4m-bad-header", "bad.y4m", b"YUV4MPEG2 Wx H24 F25:1\nFRAME\n" + bytes(1152)


def _stored(media_root: Path) -> set[str]:
    return {p.relative_to(media_root).as_posix() for p in media_root.rglob("*") if p.is_file()}


def _expected() -> set[str]:
    names: set[str] = set()
    for capture in Capture.objects.all():
        names |= {f.name for f in (capture.original, capture.poster, capture.proxy) if f}
    return names


@pytest.mark.parametrize("endpoint", ["api", "page"])
def test_upload_fuzz_corpus_gives_4xx_or_201_and_consistent_storage(
    endpoint: str, archivist_client: Client, institution: Any, tmp_path: Path
) -> None:
    archivist_client.raise_request_exception = False
    tape = Tape.objects.create(institution=institution, identifier="FUZZ-1")
    media_root = Path(settings.MEDIA_ROOT)
    outcomes: dict[str, int] = {}
    problems: list[str] = []
    for case, name, data in corpus(tmp_path):
        upload = io.BytesIO(data)
        upload.name = name
        if endpoint == "api":
            response = archivist_client.post("/api/v1/captures/", {"tape": tape.pk, "file": upload})
        else:
            response = archivist_client.post(
                reverse("captures:upload", args=[tape.pk]),
                {"file": upload},
                HTTP_ACCEPT="application/json",
            )
        outcomes[case] = response.status_code
        if response.status_code >= 500 or response.status_code not in (201, 400, 413, 415):
            problems.append(f"{case}: {response.status_code} {response.content[:200]!r}")
        elif response.status_code != 201 and not response.json()["error"]["message"]:
            problems.append(f"{case}: refused without a message")
        if _stored(media_root) != _expected():
            problems.append(f"{case}: storage and database disagree after the upload")
    assert problems == []
    accepted = {case for case, status in outcomes.items() if status == 201}
    # Intact files (and nothing else but harmless variants) become captures.
    assert {"mkv-intact", "mp4-intact", "avi-intact", "y4m-ok"} <= accepted
    for refused in (
        "empty",
        "random",
        "text",
        "png",
        "gif",
        "y4m-giant",
        "y4m-absurd-size",
        "y4m-absurd-fps",
        "mkv-one-byte-short",
        "mp4-one-byte-short",
        "avi-one-byte-short",
        "mkv-cut-0.5",
        "mp4-cut-0.9",
    ):
        assert outcomes[refused] in (400, 413, 415), (refused, outcomes[refused])
    assert Capture.objects.count() == len(accepted)
