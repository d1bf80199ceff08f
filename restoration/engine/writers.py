"""Writing video on PyAV: the preservation master (FFV1 in Matroska) and the browser access
copy (H.264 in MP4), frame by frame, carrying every audio stream of the source along.

Audio packets are interleaved with the video as it is written (``_AudioCarrier``), so nothing
holds a whole video in memory. Reading and probing are ``video.py``'s.
"""

from __future__ import annotations

import abc
import logging
import os
import time
from pathlib import Path
from typing import Any, Self

import av
import numpy as np

from .exceptions import CancelledError, ConfigError
from .matroska import write_matroska_display_size
from .video import (
    _FIELD_ORDER_CODES,
    _SAR_TAG,
    CancelHook,
    ProgressCallback,
    VideoInfo,
    frame_to_rgb,
    iter_av_frames,
    probe,
)

logger = logging.getLogger(__name__)

# FFV1 can store these losslessly as they come from the capture; anything else is kept as RGB.
_FFV1_PIXEL_FORMATS = frozenset(
    {"yuv420p", "yuv422p", "yuv444p", "yuv411p", "yuv410p", "gray", "bgr0"}
)
# Audio codecs browsers play from MP4 as they are; others are transcoded to AAC in access copies.
_MP4_AUDIO_COPY = frozenset({"aac", "mp3"})


class _AudioCarrier:
    """Carries the source's audio streams into an output, interleaved with the video.

    `pump(until_s)` muxes source audio up to a time; a second demuxer on the source file keeps
    this streaming. Streams are copied packet for packet (unchanged) unless `transcode_to` says
    the codec can't go into this container, then they are decoded and re-encoded.
    """

    def __init__(
        self,
        output: av.container.OutputContainer,
        source: str,
        *,
        copyable: frozenset[str] | None,
        transcode_to: str = "aac",
        time_range: tuple[float, float | None] | None = None,
        time_offset_s: float = 0.0,
    ) -> None:
        self._input: Any = av.open(source)
        self._output = output
        self._time_range = time_range
        self._offset = time_offset_s
        self._routes: dict[int, tuple[Any, Any, bool]] = {}
        for in_stream in self._input.streams.audio:
            codec = in_stream.codec_context.name
            if copyable is None or codec in copyable:
                out_stream: Any = output.add_stream_from_template(in_stream)
                self._routes[in_stream.index] = (in_stream, out_stream, False)
            else:
                layout = {1: "mono", 2: "stereo"}.get(in_stream.channels, "5.1")
                out_stream = output.add_stream(
                    transcode_to, rate=in_stream.rate or 48000, layout=layout
                )
                self._routes[in_stream.index] = (in_stream, out_stream, True)
        audio_streams = [route[0] for route in self._routes.values()]
        self._packets = iter(self._input.demux(*audio_streams)) if audio_streams else iter(())
        self._pending: Any = None
        self._done = not audio_streams

    @property
    def has_audio(self) -> bool:
        return bool(self._routes)

    def _next_packet(self) -> Any:
        if self._pending is None and not self._done:
            for packet in self._packets:
                if packet.size == 0 or packet.pts is None and packet.dts is None:
                    continue
                self._pending = packet
                break
            else:
                self._done = True
        return self._pending

    def pump(self, until_s: float | None) -> None:
        while True:
            packet = self._next_packet()
            if packet is None:
                return
            when = float((packet.pts if packet.pts is not None else packet.dts) * packet.time_base)
            if until_s is not None and when > until_s:
                return
            self._pending = None
            if self._time_range is not None:
                begin, end = self._time_range
                if when < begin or (end is not None and when >= end):
                    continue
            self._write(packet)

    def _write(self, packet: Any) -> None:
        _, out_stream, transcode = self._routes[packet.stream.index]
        if not transcode:
            shift = round(self._offset / packet.time_base)
            if shift:
                packet.pts = packet.pts - shift if packet.pts is not None else None
                packet.dts = packet.dts - shift if packet.dts is not None else None
            packet.stream = out_stream
            self._output.mux(packet)
            return
        for frame in packet.decode():
            frame.pts = None  # the encoder numbers samples itself
            self._output.mux(out_stream.encode(frame))

    def close(self) -> None:
        self.pump(None)
        for _, out_stream, transcode in self._routes.values():
            if transcode:
                self._output.mux(out_stream.encode(None))
        self._input.close()


class VideoWriter(abc.ABC):
    """Base writer: frames (H, W, 3) uint8 RGB in, one encoded video stream + source audio out.

    Use as a context manager; on an exception the partial output file is removed.
    """

    codec = ""
    container_format = ""
    container_options: dict[str, str] = {}
    audio_copyable: frozenset[str] | None = None

    def __init__(
        self,
        dst: str | os.PathLike[str],
        info: VideoInfo,
        *,
        audio_source: str | os.PathLike[str] | None = None,
        time_range: tuple[float, float | None] | None = None,
        width: int | None = None,
        height: int | None = None,
        progressive: bool = False,
        pixel_format: str | None = None,
    ) -> None:
        self.dst = str(dst)
        self.progressive = progressive
        self._requested_pixel_format = pixel_format
        self.info = info
        self.frames_written = 0
        self._time_offset = 0.0 if time_range is None else time_range[0] - info.start_time_s
        self._last_pts = -1
        Path(self.dst).parent.mkdir(parents=True, exist_ok=True)
        self._output: Any = av.open(
            self.dst, mode="w", format=self.container_format, options=dict(self.container_options)
        )
        try:
            width, height = self._frame_size(width or info.width, height or info.height)
            stream: Any = self._output.add_stream(self.codec, rate=info.frame_rate)
            self._stream = stream
            stream.width, stream.height = width, height
            stream.pix_fmt = self._pixel_format()
            ctx = stream.codec_context
            ctx.time_base = info.time_base
            self._stream.time_base = info.time_base
            ctx.sample_aspect_ratio = info.sample_aspect
            # PyAV can't set AVStream.sample_aspect_ratio, which is what the Matroska muxer
            # turns into DisplayWidth/DisplayHeight; a stream tag carries it (read by probe).
            sar = info.sample_aspect
            self._stream.metadata[_SAR_TAG] = f"{sar.numerator}/{sar.denominator}"
            if progressive:
                ctx.field_order = _FIELD_ORDER_CODES["progressive"]  # deinterlaced frames
            elif info.field_order is not None and self._keeps_field_order():
                ctx.field_order = _FIELD_ORDER_CODES[info.field_order]
            self._configure(ctx)
            self._audio = (
                _AudioCarrier(
                    self._output,
                    str(audio_source),
                    copyable=self.audio_copyable,
                    time_range=time_range,
                    time_offset_s=self._time_offset,
                )
                if audio_source is not None
                else None
            )
        except BaseException:
            self._output.close()
            Path(self.dst).unlink(missing_ok=True)
            raise

    # Hooks for subclasses.
    def _frame_size(self, width: int, height: int) -> tuple[int, int]:
        return width, height

    @abc.abstractmethod
    def _pixel_format(self) -> str:
        """The stream's pixel format (each writer kind decides)."""

    def _configure(self, ctx: Any) -> None:
        pass

    def _keeps_field_order(self) -> bool:
        return True

    def write(self, image: np.ndarray, *, time_s: float | None = None) -> None:
        """Encode one RGB frame; `time_s` is its source presentation time (else index / fps)."""
        assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8, (
            f"expected (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}"
        )
        if time_s is None:
            time_s = (
                self.info.start_time_s
                + self._time_offset
                + float(self.frames_written / self.info.frame_rate)
            )
        pts = round((time_s - self._time_offset) / self.info.time_base)
        pts = max(pts, self._last_pts + 1)
        self._last_pts = pts
        if self._audio is not None:
            self._audio.pump(time_s + 0.5)
        height, width = self._stream.height, self._stream.width
        frame = av.VideoFrame.from_ndarray(
            np.ascontiguousarray(image[:height, :width]), format="rgb24"
        )
        frame = frame.reformat(format=self._stream.pix_fmt)
        frame.pts = pts
        frame.time_base = self.info.time_base
        self._output.mux(self._stream.encode(frame))
        self.frames_written += 1

    def close(self) -> None:
        if self._output is None:
            return
        try:
            self._output.mux(self._stream.encode(None))
            if self._audio is not None:
                self._audio.close()
        finally:
            self._output.close()
            self._output = None

    def abort(self) -> None:
        if self._output is not None:
            try:
                self._output.close()
            except av.error.FFmpegError:
                pass
            self._output = None
        Path(self.dst).unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class MasterWriter(VideoWriter):
    """Preservation master: FFV1 level 3 (lossless, intra-only, slice CRCs) in Matroska.

    Keeps the capture's pixel format where FFV1 stores it, frame rate, sample aspect ratio,
    field order, and every audio stream copied packet for packet.
    """

    codec = "ffv1"
    container_format = "matroska"

    def close(self) -> None:
        if self._output is None:
            return
        super().close()
        sar = self.info.sample_aspect
        if sar != 1 and not write_matroska_display_size(
            self.dst, self._stream.width, self._stream.height, sar
        ):
            logger.warning("%s: sample aspect ratio kept only in the %s tag", self.dst, _SAR_TAG)

    def _pixel_format(self) -> str:
        # Default: the capture's own sampling (archival practice); "bgr0" stores the RGB frames
        # the network produced bit-exactly, at about twice the size of 4:2:2.
        if self._requested_pixel_format is not None:
            if self._requested_pixel_format not in _FFV1_PIXEL_FORMATS:
                raise ConfigError(
                    f"pixel format {self._requested_pixel_format!r} not supported for the master; "
                    f"use one of {sorted(_FFV1_PIXEL_FORMATS)}"
                )
            return self._requested_pixel_format
        source = self.info.pixel_format or ""
        return source if source in _FFV1_PIXEL_FORMATS else "bgr0"

    def _configure(self, ctx: Any) -> None:
        options = {"level": "3", "g": "1", "slicecrc": "1", "context": "1"}
        if ctx.width % 2 == 0 and ctx.height % 2 == 0:
            options["slices"] = "4"  # FFV1 refuses slices for odd sizes
        ctx.options = options
        ctx.thread_count = 2


class AccessWriter(VideoWriter):
    """Access copy: H.264 yuv420p in MP4 with the index up front (faststart) for browsers.

    Audio goes in unchanged when MP4 players take it (AAC, MP3), else transcoded to AAC.
    """

    codec = "libx264"
    container_format = "mp4"
    container_options = {"movflags": "faststart"}
    audio_copyable = _MP4_AUDIO_COPY

    def _frame_size(self, width: int, height: int) -> tuple[int, int]:
        # 4:2:0 needs even dimensions; drop at most one edge row/column.
        return width - width % 2, height - height % 2

    def _pixel_format(self) -> str:
        return "yuv420p"  # the only 4:2:0 profile every browser decodes

    def _configure(self, ctx: Any) -> None:
        ctx.options = {"crf": "20", "preset": "veryfast", "profile": "high"}
        ctx.thread_count = 2

    def _keeps_field_order(self) -> bool:
        return False  # browsers ignore it; x264 encodes progressive


def make_access_copy(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelHook | None = None,
    deinterlace: str = "off",
) -> None:
    """Transcode any readable video to a browser-playable H.264/AAC MP4 (faststart)."""
    info = probe(src)
    started = time.monotonic()
    progressive = deinterlace != "off"
    with AccessWriter(dst, info, audio_source=src, progressive=progressive) as writer:
        for index, frame in enumerate(iter_av_frames(src, deinterlace=deinterlace)):
            if cancel is not None and cancel():
                raise CancelledError("access copy cancelled")
            writer.write(frame_to_rgb(frame), time_s=frame.time)
            if progress is not None:
                done = index + 1
                elapsed = time.monotonic() - started
                remaining = max(info.frame_count - done, 0)
                progress(done, info.frame_count, elapsed / done * remaining)
