"""Reading video on PyAV: probe, decode frame by frame, and the facts about a file the portal
checks (is it a moving image, how many packets). Writing is ``writers.py``'s.

Nothing here holds a whole video in memory: frames are decoded one at a time.

Deinterlacing (`deinterlace="bwdif"`) runs libavfilter's bwdif in `send_frame` mode: one
progressive frame per interlaced frame, so the frame count, frame rate and audio sync of the
capture are kept. The default is "off": restoration works on the frames as captured, and an
archive master should not silently change the scan type; deinterlacing is an access decision.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from .exceptions import ConfigError, InvalidVideoError

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


@dataclass(frozen=True)
class PacketSummary:
    """One demux of the video stream (nothing decoded) beside what its header promises."""

    promised: int  # frames the header announces (0: it does not say)
    packets: int  # non-empty packets present: one per frame
    end_s: float  # where the last packet ends
    stream_duration_s: float  # the video stream's declared duration (0: not declared)
    container_duration_s: float  # the container's, which includes audio (0: not declared)
    frame_rate: float  # average or guessed (0: unknown)


def demux_video(path: str | os.PathLike[str], *, refuse_corrupt: bool = False) -> PacketSummary:
    """Count the video packets of `path` and where they end. `refuse_corrupt`: a packet the
    demuxer flags as corrupt (a frame cut off) is an InvalidVideoError, not a frame."""
    container = _open_input(path)
    try:
        stream = _video_stream(container, str(path))
        time_base = stream.time_base
        packets, end_s = 0, 0.0
        for packet in container.demux(stream):
            if packet.size <= 0:
                continue
            if refuse_corrupt and packet.is_corrupt:
                raise InvalidVideoError(
                    f"{path}: the file is damaged: a video frame is cut off or corrupt"
                )
            packets += 1
            if packet.pts is not None and time_base is not None:
                end_s = max(end_s, float((packet.pts + (packet.duration or 0)) * time_base))
        return PacketSummary(
            promised=int(stream.frames or 0),
            packets=packets,
            end_s=end_s,
            stream_duration_s=(
                float(stream.duration * time_base) if stream.duration and time_base else 0.0
            ),
            container_duration_s=(container.duration or 0) / av.time_base,
            frame_rate=float(stream.average_rate or stream.guessed_rate or 0),
        )
    except av.error.FFmpegError as exc:
        raise InvalidVideoError(f"{path}: the video stream is damaged or cut off ({exc})") from exc
    finally:
        container.close()


# ffmpeg "decodes" text files (tty/ansi) and still images (image2, *_pipe) as video streams.
_TEXT_CONTAINERS = frozenset({"tty", "bin", "xbin", "idf", "adf"})
_TEXT_CODECS = frozenset({"ansi", "bintext", "xbin", "idf", "text"})
_STILL_CONTAINERS = frozenset({"image2", "webp_pipe"})
_ANIMATIONS = frozenset({"gif", "apng", "webp"})


def image_kind(info: VideoInfo) -> str:
    """What a probed file really is: "video" (a moving image), "text", "animation" (an animated
    GIF, APNG or WebP) or "still" (a still image, or a single frame)."""
    container = info.container.split(",")[0]
    if info.video_codec in _TEXT_CODECS or container in _TEXT_CONTAINERS:
        return "text"
    if container in _ANIMATIONS or info.video_codec in _ANIMATIONS:
        return "animation"
    if container in _STILL_CONTAINERS or container.endswith("_pipe") or info.frame_count < 2:
        return "still"
    return "video"


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
        count = demux_video(path).packets  # Matroska stores no frame count
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
