"""Fixtures for engine tests: tiny real videos encoded with PyAV (no files on disk, no
downloads)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

# One intra-op thread: on a shared 2-core machine two OpenMP threads wait on each other for
# most of the time (a tiny forward pass measured 0.03 s with one thread, 1-4 s with two).
torch.set_num_threads(1)

FIELD_ORDER_CODES = {"progressive": 1, "tt": 2, "bb": 3, "tb": 4, "bt": 5}


def moving_pattern(index: int, width: int, height: int) -> np.ndarray:
    """A smooth moving gradient with a square: compresses well, changes every frame."""
    ys, xs = np.mgrid[0:height, 0:width]
    rgb = np.stack(
        [
            (xs * 4 + index * 8) % 256,
            (ys * 4 + index * 4) % 256,
            np.full_like(xs, (index * 20) % 256),
        ],
        axis=-1,
    ).astype(np.uint8)
    x0 = (index * 3) % max(width - 8, 1)
    rgb[4:12, x0 : x0 + 8] = 255
    return rgb


def write_video(
    path: Path,
    *,
    frames: int = 12,
    size: tuple[int, int] = (64, 48),
    codec: str = "ffv1",
    pix_fmt: str = "yuv422p",
    rate: Fraction | int = 25,
    audio: str | None = "pcm_s16le",
    sar: Fraction = Fraction(16, 15),
    field_order: str | None = None,
    container_format: str | None = None,
) -> Path:
    width, height = size
    rate = Fraction(rate)
    with av.open(str(path), mode="w", format=container_format) as container:
        video = container.add_stream(codec, rate=rate)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.codec_context.sample_aspect_ratio = sar
        video.metadata["SAMPLE_ASPECT_RATIO"] = f"{sar.numerator}/{sar.denominator}"
        if field_order:
            video.codec_context.field_order = FIELD_ORDER_CODES[field_order]
        audio_stream = None
        if audio:
            audio_stream = container.add_stream(audio, rate=48000, layout="stereo")
        samples_per_frame = int(48000 / rate)
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(moving_pattern(index, width, height), format="rgb24")
            frame.pts = index
            frame.time_base = 1 / rate
            container.mux(video.encode(frame))
            if audio_stream is not None:
                t = np.arange(index * samples_per_frame, (index + 1) * samples_per_frame) / 48000
                tone = (0.2 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
                if audio_stream.codec_context.name == "aac":
                    planar = np.stack([tone, tone]).astype(np.float32) / 32767
                    audio_frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout="stereo")
                else:
                    packed = np.stack([tone, tone]).reshape(1, -1, order="F")
                    audio_frame = av.AudioFrame.from_ndarray(packed, format="s16", layout="stereo")
                audio_frame.sample_rate = 48000
                audio_frame.pts = index * samples_per_frame
                audio_frame.time_base = Fraction(1, 48000)
                container.mux(audio_stream.encode(audio_frame))
        container.mux(video.encode(None))
        if audio_stream is not None:
            container.mux(audio_stream.encode(None))
    return path


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """A 12-frame 64x48 FFV1/PCM Matroska capture with 16:15 pixels, interlaced top field first."""
    return write_video(tmp_path / "capture.mkv", field_order="tt")
