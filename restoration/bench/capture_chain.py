"""Capture-chain compression for damage family B: DV or MPEG-2, encoded and decoded in memory
frame by frame with PyAV (libavcodec), at any frame size.

DV25 (``dvvideo``) takes exactly 720x576 (PAL, 4:2:0), so a frame is padded (mirrored) to a
multiple of that and compressed tile by tile. MPEG-2 (``mpeg2video``, I and P frames, GOP 12,
low-delay so each frame comes back at once) takes the frame padded to a multiple of 16, at a
bit rate given for 720x576 and scaled by the padded area, so a small clip gets the same bits per
pixel as a broadcast SD stream. One encoder thread: the output is the same on every run.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

__all__ = ["CODECS", "DV_SIZE", "CaptureChain"]

CODECS = ("dv", "mpeg2")
DV_SIZE = (576, 720)  # (H, W) of a PAL DV25 frame


# BT.601 R'G'B' <-> limited-range Y'CbCr (Y 16-235, Cb/Cr 16-240), as a capture card stores it.
# Done here with exact rounding: swscale's rgb24 <-> yuv420p paths darken by about half a level,
# a colour error that is not the codec's.
_KR, _KB = 0.299, 0.114
_TO_YUV = np.array(
    [
        [_KR, 1 - _KR - _KB, _KB],
        [-_KR / (2 - 2 * _KB), -(1 - _KR - _KB) / (2 - 2 * _KB), 0.5],
        [0.5, -(1 - _KR - _KB) / (2 - 2 * _KR), -_KB / (2 - 2 * _KR)],
    ]
)
_FROM_YUV = np.linalg.inv(_TO_YUV)


def rgb_to_yuv420(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB, H and W even -> PyAV's yuv420p array: the Y, U and V planes one
    after the other, (H * 3 / 2, W). Chroma is the mean of each 2x2 block."""
    h, w = image.shape[:2]
    yuv = (image.astype(np.float64) / 255.0) @ _TO_YUV.T
    luma = np.clip(np.round(16 + 219 * yuv[..., 0]), 0, 255)
    chroma = yuv[..., 1:].reshape(h // 2, 2, w // 2, 2, 2).mean(axis=(1, 3))
    chroma = np.clip(np.round(128 + 224 * chroma), 0, 255)
    planes = [luma.ravel(), chroma[..., 0].ravel(), chroma[..., 1].ravel()]
    return np.concatenate(planes).astype(np.uint8).reshape(h * 3 // 2, w)


def yuv420_to_rgb(planes: np.ndarray, h: int, w: int) -> np.ndarray:
    """The inverse of :func:`rgb_to_yuv420` (chroma repeated over its 2x2 block)."""
    flat = planes.ravel().astype(np.float64)
    luma = (flat[: h * w].reshape(h, w) - 16) / 219
    quarter = (h // 2) * (w // 2)
    chroma = [
        (flat[h * w + i * quarter : h * w + (i + 1) * quarter].reshape(h // 2, w // 2) - 128) / 224
        for i in (0, 1)
    ]
    full = [np.repeat(np.repeat(c, 2, axis=0), 2, axis=1) for c in chroma]
    rgb = np.stack([luma, *full], axis=-1) @ _FROM_YUV.T
    return np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)


class CaptureChain:
    """One capture chain, encoding and decoding frame by frame in memory."""

    def __init__(self, name: str, *, mbps: float = 6.0) -> None:
        if name not in CODECS:
            raise ValueError(f"unknown capture chain {name!r}; choose one of {', '.join(CODECS)}")
        self.name, self.mbps = name, mbps
        self._encoder: Any = None  # av.VideoCodecContext once opened
        self._decoder: Any = None
        self._size: tuple[int, int] | None = None
        self._last_index: int | None = None
        self._pts = 0

    def _open(self, size: tuple[int, int]) -> None:
        import av

        h, w = size
        encoder = av.CodecContext.create("dvvideo" if self.name == "dv" else "mpeg2video", "w")
        encoder.width, encoder.height, encoder.pix_fmt = w, h, "yuv420p"
        encoder.time_base, encoder.framerate = Fraction(1, 25), Fraction(25, 1)
        encoder.thread_count = 1  # deterministic
        if self.name == "mpeg2":
            encoder.bit_rate = int(self.mbps * 1e6 * (w * h) / (DV_SIZE[0] * DV_SIZE[1]))
            encoder.gop_size, encoder.max_b_frames = 12, 0
            encoder.flags |= av.codec.context.Flags.low_delay  # one frame in, one frame out
        decoder = av.CodecContext.create(encoder.name, "r")
        decoder.thread_count = 1
        decoder.flags |= av.codec.context.Flags.low_delay
        self._encoder, self._decoder, self._size, self._pts = encoder, decoder, size, 0

    def _round_trip(self, image: np.ndarray) -> np.ndarray:
        import av

        if self._encoder is None or self._size != image.shape[:2]:
            self._open(image.shape[:2])
        frame = av.VideoFrame.from_ndarray(rgb_to_yuv420(image), format="yuv420p")
        frame.pts = self._pts
        self._pts += 1
        decoded = []
        for packet in self._encoder.encode(frame):
            decoded += self._decoder.decode(packet)
        if len(decoded) != 1:
            raise RuntimeError(f"{self.name}: {len(decoded)} frames decoded for one frame in")
        h, w = image.shape[:2]
        return yuv420_to_rgb(decoded[0].to_ndarray(format="yuv420p"), h, w)

    def apply(self, image: np.ndarray, index: int) -> np.ndarray:
        """Encode and decode one (H, W, 3) uint8 frame; any size (padded, cropped back)."""
        if self.name == "mpeg2" and self._last_index is not None and index != self._last_index + 1:
            self._encoder = None  # frames out of order: start a new stream (new GOP)
        self._last_index = index
        h, w = image.shape[:2]
        if self.name == "mpeg2":
            padded = np.pad(image, ((0, -h % 16), (0, -w % 16), (0, 0)), mode="reflect")
            return self._round_trip(np.ascontiguousarray(padded))[:h, :w]
        th, tw = DV_SIZE  # DV takes exactly 720x576: tile a padded frame
        padded = np.pad(image, ((0, -h % th), (0, -w % tw), (0, 0)), mode="reflect")
        out = np.empty_like(padded)
        for y in range(0, padded.shape[0], th):
            for x in range(0, padded.shape[1], tw):
                tile = np.ascontiguousarray(padded[y : y + th, x : x + tw])
                out[y : y + th, x : x + tw] = self._round_trip(tile)
        return out[:h, :w]
