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


CODE_BITS = 8


def coded_frame(index: int, size: tuple[int, int]) -> np.ndarray:
    """A frame whose number can be read back from its pixels after lossy coding: CODE_BITS
    vertical bars, white for a 1 bit (least significant bit left), black for 0, over a
    mid-grey background row at the bottom (so the frame is never all black)."""
    width, height = size
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    bar = width // CODE_BITS
    for bit in range(CODE_BITS):
        if (index >> bit) & 1:
            rgb[: height * 3 // 4, bit * bar : (bit + 1) * bar] = 255
    rgb[height * 3 // 4 :, :] = 128
    return rgb


def make_coded_video(
    path: str | Path,
    *,
    frames: int,
    first_index: int = 0,
    size: tuple[int, int] = (160, 96),
    codec: str = "ffv1",
    rate: int = 25,
) -> Path:
    """A video whose frame ``i`` shows the number ``first_index + i`` as bars (``coded_frame``);
    "ffv1" (lossless, .mkv) or "libx264" (.mp4, every frame a keyframe-free GOP as usual)."""
    path = Path(path)
    width, height = size
    with av.open(str(path), mode="w") as container:
        video = container.add_stream(codec, rate=rate)
        video.width, video.height = width, height
        video.pix_fmt = "yuv420p" if codec == "libx264" else "yuv444p"
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(
                coded_frame(first_index + index, size), format="rgb24"
            )
            frame.pts = index
            frame.time_base = Fraction(1, rate)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
    return path


# JavaScript that reads the frame number drawn by ``coded_frame`` from a video element.
READ_CODE_JS = """(video) => {
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(video, 0, 0);
  const bar = Math.floor(canvas.width / BITS);
  let value = 0;
  for (let bit = 0; bit < BITS; bit++) {
    const x = bit * bar + Math.floor(bar / 2);
    const px = ctx.getImageData(x, Math.floor(canvas.height / 3), 1, 1).data;
    if (px[0] > 128) value |= (1 << bit);
  }
  return value;
}""".replace("BITS", str(CODE_BITS))
