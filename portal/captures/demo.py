"""The demo capture: a short clip the project makes itself, no download.

A still photo bundled with scikit-image is filmed by a virtual camera (slow pan and zoom), then
run through the engine's analog-tape simulator (medium preset: noise, dropouts, fringing lines,
mistracking bands, with clean stretches between) into a 5-second FFV1/Matroska file with a quiet
tone on a stereo PCM track: the kind of lossless master an archive digitizes from a worn tape, so
the demo has something to restore. ``rundemo`` adds it to a demo tape.
"""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import numpy as np

from portal.catalog.demo import DemoSummary, seed_catalog

if TYPE_CHECKING:
    from portal.captures.models import Capture

DEMO_FILENAME = "demo-capture.mkv"


def _photo() -> Any:
    from PIL import Image
    from skimage import data

    return Image.fromarray(data.coffee())  # 400x600 RGB, ships with scikit-image


def write_demo_clip(
    path: str | Path,
    *,
    seconds: float = 5.0,
    size: tuple[int, int] = (384, 288),
    rate: int = 25,
    tape_preset: str | None = "medium",
    seed: int = 1978,
) -> Path:
    """Write the demo clip to ``path`` (FFV1 video + PCM audio in Matroska).

    ``tape_preset`` names the simulator preset that "wears" the clip; ``None`` keeps it clean.
    """
    from PIL import Image

    from restoration.simulation.degrade import TapeSimulator

    simulator = TapeSimulator(seed=seed, preset=tape_preset) if tape_preset else None

    path = Path(path)
    width, height = size
    photo = _photo()
    frames = int(seconds * rate)
    with av.open(str(path), mode="w", format="matroska") as container:
        video = container.add_stream("ffv1", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv422p"
        audio = container.add_stream("pcm_s16le", rate=48000)
        audio.layout = "stereo"
        for index in range(frames):
            progress = index / max(frames - 1, 1)
            # Zoom in from the whole photo to 70% of it while panning left to right.
            zoom = 1.0 - 0.3 * progress
            crop_w = min(photo.width, photo.height * width / height) * zoom
            crop_h = crop_w * height / width
            left = (photo.width - crop_w) * progress
            top = (photo.height - crop_h) * (0.5 - 0.2 * np.sin(np.pi * progress))
            window = photo.resize(
                (width, height),
                Image.Resampling.BILINEAR,
                box=(left, top, left + crop_w, top + crop_h),
            )
            pixels = np.asarray(window)
            if simulator is not None:
                pixels, _labels = simulator.process(pixels)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, rate)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        _write_tone(container, audio, seconds=frames / rate)
    return path


def _write_tone(container: Any, stream: Any, *, seconds: float, sample_rate: int = 48000) -> None:
    block = 1024
    total = int(seconds * sample_rate)
    for start in range(0, total, block):
        count = min(block, total - start)
        t = np.arange(start, start + count) / sample_rate
        tone = (0.1 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
        stereo = np.repeat(tone, 2).reshape(1, -1)  # packed s16: L R L R ...
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = sample_rate
        frame.pts = start
        frame.time_base = Fraction(1, sample_rate)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def ensure_demo_capture(*, tape: Any, actor: Any) -> Capture:
    """The tape's first capture; when it has none, make the demo clip and upload it.

    Idempotent: running the demo setup twice adds nothing the second time.
    """
    from django.core.files import File

    from portal.captures.services import capture_create

    existing = tape.captures.order_by("created_at", "id").first()
    if existing is not None:
        return existing
    with tempfile.TemporaryDirectory(prefix="demo-capture-") as folder:
        clip = write_demo_clip(Path(folder) / DEMO_FILENAME)
        with open(clip, "rb") as handle:
            return capture_create(tape=tape, upload=File(handle, name=DEMO_FILENAME), actor=actor)


def seed_demo(*, with_capture: bool = True) -> DemoSummary:
    """The catalog's demo data, then (outside the catalog transaction) the demo capture: the
    capture service streams a file to storage and queues its proxy, which must only happen for
    a committed tape."""
    summary, archivist, first_tape = seed_catalog()
    if with_capture:
        summary.capture = ensure_demo_capture(tape=first_tape, actor=archivist)
    return summary
