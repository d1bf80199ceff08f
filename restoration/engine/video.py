"""Streaming video I/O on PyAV: probe, decode frame by frame, write a preservation master
(FFV1 in Matroska) and a browser access copy (H.264 in MP4), carrying every audio stream along.

Nothing here holds a whole video in memory: frames are decoded and encoded one at a time, and
audio packets are interleaved with the video as it is written (see `_AudioCarrier`).

Deinterlacing (`deinterlace="bwdif"`) runs libavfilter's bwdif in `send_frame` mode: one
progressive frame per interlaced frame, so the frame count, frame rate and audio sync of the
capture are kept. The default is "off": restoration works on the frames as captured, and an
archive master should not silently change the scan type; deinterlacing is an access decision.
"""

from __future__ import annotations

import abc
import itertools
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Self

import av
import numpy as np

from .exceptions import CancelledError, ConfigError, InvalidVideoError
from .matroska import write_matroska_display_size

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, float | None], None]
"""progress(frames_done, frames_total, eta_seconds_or_None)."""
CancelHook = Callable[[], bool]
"""cancel() -> True to stop; checked between frames/windows, raises CancelledError."""

DEINTERLACE_MODES = ("off", "bwdif")
# AVFieldOrder values as PyAV exposes them (an int on the codec context).
_FIELD_ORDERS = {1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}
_FIELD_ORDER_CODES = {name: code for code, name in _FIELD_ORDERS.items()}
# bwdif parity is the field *displayed* first: "tb" is top coded first, bottom displayed first.
_BWDIF_PARITY = {"tt": "tff", "bt": "tff", "bb": "bff", "tb": "bff"}
# FFV1 can store these losslessly as they come from the capture; anything else is kept as RGB.
_FFV1_PIXEL_FORMATS = frozenset(
    {"yuv420p", "yuv422p", "yuv444p", "yuv411p", "yuv410p", "gray", "bgr0"}
)
# Audio codecs browsers play from MP4 as they are; others are transcoded to AAC in access copies.
_MP4_AUDIO_COPY = frozenset({"aac", "mp3"})
_SAR_TAG = "SAMPLE_ASPECT_RATIO"
_SEEK_AFTER_S = 2.0  # seek rather than decode when the range starts this late
_SEEK_MARGIN_S = 1.0  # land this much before the first wanted frame (B-frames, bwdif context)


@dataclass(frozen=True)
class AudioStreamInfo:
    index: int
    codec: str
    sample_rate: int
    channels: int
    layout: str | None


@dataclass(frozen=True)
class VideoInfo:
    path: str
    container: str
    video_codec: str
    pixel_format: str | None
    width: int
    height: int
    sample_aspect: Fraction
    display_aspect: Fraction
    frame_rate: Fraction
    time_base: Fraction
    frame_count: int
    duration_s: float
    interlaced: bool | None
    field_order: str | None  # "progressive", "tt", "bb", "tb", "bt" or None (unknown)
    audio_streams: tuple[AudioStreamInfo, ...]
    bit_rate: int | None
    start_time_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: fractions become "num/den" strings."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, Fraction):
                data[key] = f"{value.numerator}/{value.denominator}"
        data["audio_streams"] = [asdict(a) for a in self.audio_streams]
        return data


# ---------------------------------------------------------------------------------------------
# Reading


def _open_input(path: str | os.PathLike[str]) -> av.container.InputContainer:
    file_path = Path(path)
    if not file_path.exists():
        raise InvalidVideoError(f"{file_path}: file not found")
    if file_path.is_dir():
        raise InvalidVideoError(f"{file_path}: is a directory, not a video file")
    if file_path.stat().st_size == 0:
        raise InvalidVideoError(f"{file_path}: file is empty (0 bytes)")
    try:
        return av.open(str(file_path), mode="r")
    except av.error.FFmpegError as exc:
        raise InvalidVideoError(
            f"{file_path}: not a readable video (unknown format, or truncated): "
            f"{exc.strerror or exc}"
        ) from exc


def _video_stream(container: av.container.InputContainer, path: str) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise InvalidVideoError(f"{path}: contains no video stream")
    return container.streams.video[0]


def _frame_rate(stream: av.video.stream.VideoStream) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return Fraction(rate)
    raise InvalidVideoError(f"{stream.container.name}: the video stream has no frame rate")


def _tagged_sar(stream: av.video.stream.VideoStream) -> Fraction:
    """SAR from our own stream tag (masters written by MasterWriter), else square pixels."""
    tags = {key.upper(): value for key, value in stream.metadata.items()}
    try:
        return Fraction(tags.get(_SAR_TAG, "1"))
    except (ValueError, ZeroDivisionError):
        return Fraction(1)


def _count_packets(path: str) -> int:
    """Frame count for containers that don't store one (Matroska): demux, don't decode."""
    container = _open_input(path)
    try:
        stream = _video_stream(container, path)
        return sum(1 for packet in container.demux(stream) if packet.size > 0)
    except av.error.FFmpegError as exc:
        raise InvalidVideoError(
            f"{path}: damaged video stream while counting frames: {exc}"
        ) from exc
    finally:
        container.close()


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Describe a video file; decodes its first frame to be sure it really is a video."""
    path = str(path)
    container = _open_input(path)
    try:
        stream = _video_stream(container, path)
        ctx = stream.codec_context
        first_frame = None
        try:
            for first_frame in container.decode(stream):
                break
        except av.error.FFmpegError as exc:
            raise InvalidVideoError(
                f"{path}: the first video frame cannot be decoded: {exc}"
            ) from exc
        if first_frame is None:
            raise InvalidVideoError(
                f"{path}: contains no decodable video frames (empty or truncated)"
            )
        frame_rate = _frame_rate(stream)
        time_base = Fraction(stream.time_base) if stream.time_base else 1 / frame_rate
        sar = Fraction(stream.sample_aspect_ratio or ctx.sample_aspect_ratio or _tagged_sar(stream))
        if sar <= 0:
            sar = Fraction(1)
        width, height = ctx.width or first_frame.width, ctx.height or first_frame.height
        field_order = _FIELD_ORDERS.get(int(ctx.field_order or 0))
        interlaced: bool | None
        if field_order is not None:
            interlaced = field_order != "progressive"
        else:
            interlaced = True if first_frame.interlaced_frame else None
        audio = tuple(
            AudioStreamInfo(
                index=a.index,
                codec=a.codec_context.name,
                sample_rate=int(a.rate or 0),
                channels=int(a.channels or 0),
                layout=a.layout.name if a.layout else None,
            )
            for a in container.streams.audio
        )
        start_time_s = (
            float(stream.start_time * time_base) if stream.start_time is not None else 0.0
        )
        if stream.duration:
            duration_s = float(stream.duration * time_base)
        elif container.duration:
            duration_s = container.duration / av.time_base
        else:
            duration_s = 0.0
        header_frames = int(stream.frames or 0)
        info = VideoInfo(
            path=path,
            container=container.format.name,
            video_codec=ctx.name,
            pixel_format=ctx.pix_fmt,
            width=width,
            height=height,
            sample_aspect=sar,
            display_aspect=Fraction(width * sar.numerator, height * sar.denominator),
            frame_rate=frame_rate,
            time_base=time_base,
            frame_count=header_frames,
            duration_s=duration_s,
            interlaced=interlaced,
            field_order=field_order,
            audio_streams=audio,
            bit_rate=int(container.bit_rate) if container.bit_rate else None,
            start_time_s=start_time_s,
        )
    finally:
        container.close()
    if info.frame_count <= 0:
        count = _count_packets(path)
        duration = info.duration_s or float(count / info.frame_rate)
        info = _replace(info, frame_count=count, duration_s=duration)
    return info


def _replace(info: VideoInfo, **changes: Any) -> VideoInfo:
    from dataclasses import replace

    return replace(info, **changes)


def _deinterlacer(stream: av.video.stream.VideoStream, field_order: str | None) -> av.filter.Graph:
    graph = av.filter.Graph()
    source = graph.add_buffer(template=stream)
    parity = _BWDIF_PARITY.get(field_order or "", "auto")
    # send_frame: one output frame per input frame (frame count and rate unchanged);
    # deint=all: the user asked for it, so don't rely on per-frame interlace flags.
    bwdif = graph.add("bwdif", f"mode=send_frame:parity={parity}:deint=all")
    sink = graph.add("buffersink")
    source.link_to(bwdif)
    bwdif.link_to(sink)
    graph.configure()
    return graph


def _drain(graph: av.filter.Graph) -> Iterator[av.VideoFrame]:
    while True:
        try:
            yield graph.vpull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return


def _check_request(deinterlace: str, start: int, end: int | None) -> None:
    if deinterlace not in DEINTERLACE_MODES:
        raise ConfigError(f"deinterlace must be one of {DEINTERLACE_MODES}, not {deinterlace!r}")
    if start < 0 or (end is not None and end < start):
        raise ConfigError(f"invalid frame range start={start} end={end}")


def iter_av_frames(
    path: str | os.PathLike[str],
    *,
    start: int = 0,
    end: int | None = None,
    deinterlace: str = "off",
    seek: bool = True,
) -> Iterator[av.VideoFrame]:
    """Decoded PyAV frames [start, end) in presentation order, optionally deinterlaced.

    A late `start` seeks (to a keyframe a second before it) instead of decoding everything
    before it; frames are numbered from their timestamps there, so constant frame rate is
    assumed, and anything unexpected falls back to decoding from the first frame.
    """
    _check_request(deinterlace, start, end)
    path = str(path)
    field_order = probe(path).field_order if deinterlace == "bwdif" else None
    container = _open_input(path)
    try:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        graph = _deinterlacer(stream, field_order) if deinterlace == "bwdif" else None
        position = _seek_before(container, stream, start) if seek else None
        index = 0

        def frames() -> Iterator[av.VideoFrame]:
            try:
                for frame in container.decode(stream):
                    if graph is None:
                        yield frame
                    else:
                        graph.push(frame)
                        yield from _drain(graph)
            except av.error.FFmpegError as exc:
                raise InvalidVideoError(
                    f"{path}: video stream damaged near frame {index}: {exc}"
                ) from exc
            if graph is not None:
                graph.push(None)
                yield from _drain(graph)

        decoded = frames()
        if position is not None:
            first = next(decoded, None)
            if first is None or position(first) > start:
                # Landed past the start (odd timestamps) or nowhere: decode from the top.
                container.close()
                yield from iter_av_frames(
                    path, start=start, end=end, deinterlace=deinterlace, seek=False
                )
                return
            index = position(first)
            decoded = itertools.chain([first], decoded)
        for frame in decoded:
            if end is not None and index >= end:
                break
            if index >= start:
                yield frame
            index += 1
    finally:
        container.close()


def _seek_before(container: Any, stream: Any, start: int) -> Callable[[av.VideoFrame], int] | None:
    """Seek to a keyframe a little before frame `start`; returns how to number the first frame
    decoded there (from its timestamp), or None when decoding from the top is simpler."""
    rate, time_base = stream.average_rate or stream.guessed_rate, stream.time_base
    if not rate or not time_base:
        return None
    target_s = float(start / Fraction(rate)) - _SEEK_MARGIN_S
    if target_s < _SEEK_AFTER_S:
        return None
    origin = stream.start_time or 0
    try:
        container.seek(origin + int(target_s / Fraction(time_base)), stream=stream, backward=True)
    except av.error.FFmpegError:
        return None

    def number(frame: av.VideoFrame) -> int:
        if frame.pts is None:
            return start + 1  # can't tell: forces the sequential path
        return round((frame.pts - origin) * Fraction(time_base) * Fraction(rate))

    return number


def frame_to_rgb(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="rgb24")


def iter_frames(
    path: str | os.PathLike[str],
    *,
    start: int = 0,
    end: int | None = None,
    deinterlace: str = "off",
) -> Iterator[np.ndarray]:
    """Frames [start, end) as (H, W, 3) uint8 RGB arrays, one at a time."""
    for frame in iter_av_frames(path, start=start, end=end, deinterlace=deinterlace):
        yield frame_to_rgb(frame)


def read_frames_at(path: str | os.PathLike[str], indices: list[int]) -> dict[int, np.ndarray]:
    """RGB frames at the given indices, by one sequential decode (exact for any frame rate)."""
    wanted = sorted(set(indices))
    result: dict[int, np.ndarray] = {}
    if not wanted:
        return result
    position = 0
    for offset, frame in enumerate(iter_av_frames(path, start=0, end=wanted[-1] + 1)):
        if offset == wanted[position]:
            result[offset] = frame_to_rgb(frame)
            position += 1
            if position == len(wanted):
                break
    return result


def extract_frame(path: str | os.PathLike[str], *, at_s: float | None = None) -> np.ndarray:
    """A poster frame (RGB uint8): at `at_s` seconds, or by default 10% into the video."""
    info = probe(path)
    target = info.duration_s * 0.1 if at_s is None else max(0.0, float(at_s))
    container = _open_input(path)
    try:
        stream = _video_stream(container, str(path))
        if target > 0:
            try:
                seek_pts = int((target + info.start_time_s) / info.time_base)
                container.seek(seek_pts, stream=stream, backward=True, any_frame=False)
            except av.error.FFmpegError:
                container.seek(0)
        chosen = None
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is None or frame.time - info.start_time_s >= target - 1e-6:
                break
        if chosen is None:
            raise InvalidVideoError(f"{path}: no frame could be decoded at {target:.3f}s")
        return frame_to_rgb(chosen)
    finally:
        container.close()


# ---------------------------------------------------------------------------------------------
# Writing


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
