"""Tiny real video files for tests, encoded with PyAV (no fixtures on disk, no downloads)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_video(
    path: str | Path,
    *,
    frames: int = 12,
    size: tuple[int, int] = (64, 48),
    codec: str = "ffv1",
    audio: bool = True,
    rate: int = 25,
) -> Path:
    """Write a short moving test pattern (and a 440 Hz tone when ``audio``) to ``path``.

    ``size`` is (width, height). ``codec`` "ffv1" (use .mkv) or "libx264" (use .mp4/.mkv).
    """
    path = Path(path)
    width, height = size
    pix_fmt = "yuv420p" if codec == "libx264" else "yuv422p"
    with av.open(str(path), mode="w") as container:
        video = container.add_stream(codec, rate=rate)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        audio_stream = None
        sample_rate = 48000
        if audio:
            audio_stream = container.add_stream(
                "aac" if codec == "libx264" else "pcm_s16le", rate=sample_rate
            )
            audio_stream.layout = "stereo"
        ys, xs = np.mgrid[0:height, 0:width]
        for index in range(frames):
            rgb = np.stack(
                [
                    (xs * 4 + index * 8) % 256,
                    (ys * 4 + index * 4) % 256,
                    np.full_like(xs, (index * 20) % 256),
                ],
                axis=-1,
            ).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = index
            frame.time_base = Fraction(1, rate)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if audio_stream is not None:
            _write_tone(container, audio_stream, seconds=frames / rate, sample_rate=sample_rate)
    return path


def _write_tone(
    container: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    *,
    seconds: float,
    sample_rate: int,
) -> None:
    samples_per_frame = 1024
    total = int(seconds * sample_rate)
    position = 0
    while position < total:
        count = min(samples_per_frame, total - position)
        t = (np.arange(position, position + count) / sample_rate).astype(np.float64)
        tone = (0.2 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
        stereo = np.stack([tone, tone]).reshape(1, -1, order="F")  # packed s16: L R L R ...
        frame = av.AudioFrame.from_ndarray(stereo, format="s16", layout="stereo")
        frame.sample_rate = sample_rate
        frame.pts = position
        frame.time_base = Fraction(1, sample_rate)
        for packet in stream.encode(frame):
            container.mux(packet)
        position += count
    for packet in stream.encode():
        container.mux(packet)
