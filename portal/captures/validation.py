"""Is an uploaded file a complete capture of a tape? Probe, limits, completeness.

Refused, each with a reason the uploader can act on, before anything is stored:
- not a moving image (text, still images, animated GIFs);
- frames larger than ``CAPTURE_MAX_WIDTH`` x ``CAPTURE_MAX_HEIGHT`` or a frame rate above
  ``CAPTURE_MAX_FRAME_RATE`` (checked from the header, before any frame is decoded);
- truncated files, exactly: the container's own structure declares its length (Matroska's
  Segment size, the MP4/MOV top-level boxes, AVI's RIFF chunks), so one missing byte is found;
  and the frames present must be all the header promises (its frame count, else its duration).
"""

from __future__ import annotations

import re
import struct
from fractions import Fraction
from typing import Any, BinaryIO

from django.conf import settings

from portal.captures.exceptions import CaptureRejected


def _limits() -> tuple[int, int, float]:
    return (
        settings.CAPTURE_MAX_WIDTH,
        settings.CAPTURE_MAX_HEIGHT,
        float(settings.CAPTURE_MAX_FRAME_RATE),
    )


class _Refused(Exception):
    """A reason, completed into a CaptureRejected message by ``probe_capture``."""


def probe_capture(path: str, filename: str) -> tuple[Any, Any]:
    """(probe info, RGB poster frame) of an acceptable capture, else CaptureRejected."""
    from restoration.engine.exceptions import InvalidVideoError
    from restoration.engine.video import extract_frame, probe

    try:
        _check_declared_frame_size(path)
        info = probe(path)
        if info.width <= 0 or info.height <= 0 or info.frame_count <= 0:
            raise _Refused("the file has no decodable video frames")
        _check_is_moving_image(info)
        _check_limits(info.width, info.height, info.frame_rate)
        _check_structure_complete(path)
        _check_frames_complete(path)
        poster_rgb = extract_frame(path, at_s=min(1.0, info.duration_s / 3))
    except (InvalidVideoError, _Refused) as exc:
        # The engine names the file by its path: show the uploader's name, not a temp path.
        reason = str(exc).replace(f"{path}: ", "").replace(path, "the file")
        raise CaptureRejected(
            f"“{filename}” cannot be used as a capture: {reason}. Upload a complete video file "
            "(for example FFV1/MKV, DV, ProRes, MPEG-2 or H.264)."
        ) from exc
    return info, poster_rgb


_NOT_A_VIDEO = {
    "text": "it is a text file, not a video",
    "animation": "it is an animated GIF or similar image animation, not a video of a tape",
    "still": "it is a still image, not a video",
}


def _check_is_moving_image(info: Any) -> None:
    from restoration.engine.video import image_kind

    kind = image_kind(info)
    if kind != "video":
        raise _Refused(_NOT_A_VIDEO[kind])


def _check_limits(width: int, height: int, frame_rate: Any) -> None:
    max_width, max_height, max_rate = _limits()
    if width > max_width or height > max_height:
        raise _Refused(
            f"its frames are {width}x{height} pixels, larger than the {max_width}x{max_height} "
            "this portal accepts (CAPTURE_MAX_WIDTH/CAPTURE_MAX_HEIGHT)"
        )
    rate = float(frame_rate or 0)
    if rate > max_rate:
        raise _Refused(
            f"its header claims {_rate_text(rate)} frames per second; "
            "video tapes run at 60 or fewer, "
            f"and this portal accepts up to {max_rate:g} (CAPTURE_MAX_FRAME_RATE)"
        )


def _rate_text(rate: float) -> str:
    return f"{rate:,.0f}" if rate >= 1000 else f"{rate:.6g}"


_Y4M_HEADER = re.compile(rb"^YUV4MPEG2 (?P<params>[^\n]*)\n")


def _check_declared_frame_size(path: str) -> None:
    """Y4M headers are text: read their size and rate before ffmpeg tries to allocate frames
    of absurd size (which it reports only as "Device or resource busy")."""
    with open(path, "rb") as handle:
        match = _Y4M_HEADER.match(handle.read(256))
    if match is None:
        return
    params = {token[:1]: token[1:] for token in match["params"].split()}
    try:
        width, height = int(params.get(b"W", b"0")), int(params.get(b"H", b"0"))
        rate_text = params.get(b"F", b"25:1").decode()
        rate = Fraction(*map(int, rate_text.split(":"))) if ":" in rate_text else 0
    except (ValueError, ZeroDivisionError) as exc:
        raise _Refused(f"its YUV4MPEG2 header is malformed ({exc})") from exc
    _check_limits(width, height, rate)


# --- Completeness: the container's declared length -------------------------------------------


def _read_vint(handle: BinaryIO) -> tuple[int, int, bool]:
    """(value, length in bytes, all-ones 'unknown size') of an EBML variable-size integer."""
    first = handle.read(1)
    if not first:
        raise _Refused("the file is truncated: its Matroska header is cut off")
    byte = first[0]
    length = next((n for n in range(8) if byte & (0x80 >> n)), None)
    if length is None:
        raise _Refused("its Matroska header is damaged")
    rest = handle.read(length)
    if len(rest) < length:
        raise _Refused("the file is truncated: its Matroska header is cut off")
    value = byte & (0xFF >> (length + 1))
    for extra in rest:
        value = (value << 8) | extra
    unknown = value == (1 << (7 * (length + 1))) - 1
    return value, length + 1, unknown


def _matroska_declared_end(handle: BinaryIO) -> int | None:
    """Byte offset where the first Segment ends (None: 'unknown size', a live-written file)."""
    handle.seek(4)  # EBML header ID 1A 45 DF A3
    size, _n, _unknown = _read_vint(handle)
    handle.seek(size, 1)
    segment_id = handle.read(4)
    if segment_id != b"\x18\x53\x80\x67":
        raise _Refused("the file is truncated or damaged: its Matroska Segment is missing")
    size, _n, unknown = _read_vint(handle)
    return None if unknown else handle.tell() + size


def _mp4_declared_end(handle: BinaryIO, file_size: int) -> int:
    """Offset where the last top-level box ends; boxes must tile the file."""
    offset = 0
    while offset < file_size:
        handle.seek(offset)
        header = handle.read(8)
        if len(header) < 8:
            return offset + 8  # a box header cut off
        size, _kind = struct.unpack(">I4s", header)
        if size == 1:
            large = handle.read(8)
            if len(large) < 8:
                return offset + 16
            size = struct.unpack(">Q", large)[0]
        elif size == 0:  # "to the end of the file"
            return file_size
        if size < 8:
            raise _Refused("its MP4/QuickTime structure is damaged")
        offset += size
    return offset


def _riff_declared_end(handle: BinaryIO, file_size: int) -> int:
    """Offset where the last RIFF chunk ends (AVI, OpenDML 'AVIX' extensions included)."""
    offset = 0
    while offset + 8 <= file_size:
        handle.seek(offset)
        kind, size = struct.unpack("<4sI", handle.read(8))
        if kind != b"RIFF":
            break  # trailing data after the last RIFF chunk
        offset += 8 + size + (size & 1)
    return offset


def _check_structure_complete(path: str) -> None:
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        file_size = handle.tell()
        handle.seek(0)
        head = handle.read(12)
        if head[:4] == b"\x1a\x45\xdf\xa3":
            declared = _matroska_declared_end(handle)
        elif head[4:8] in {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}:
            declared = _mp4_declared_end(handle, file_size)
        elif head[:4] == b"RIFF" and head[8:12] == b"AVI ":
            declared = _riff_declared_end(handle, file_size)
        else:
            return  # no declared length (MPEG-TS/PS, DV, Y4M): the frame check decides
    if declared is not None and declared > file_size:
        raise _Refused(
            f"the file is truncated: its container declares {declared} bytes but only "
            f"{file_size} arrived ({declared - file_size} missing). The upload or the copy was "
            "probably interrupted"
        )


# --- Completeness: the frames the header promises ---------------------------------------------


def _check_frames_complete(path: str) -> None:
    """Every frame the header promises is present and undamaged.

    With a frame count in the header (MP4, AVI, ...) all of them must be there. Otherwise the
    last frame must end at the duration the header announces: exactly (half a frame) for the
    video stream's own duration; with 2 frames or 0.5 s of slack when only the container's
    duration is known, as that one includes audio, which often runs a little longer.
    """
    from restoration.engine.video import demux_video

    found = demux_video(path, refuse_corrupt=True)
    if found.promised and found.packets < found.promised:
        raise _Refused(
            f"the file is truncated: its header announces {found.promised} frames but only "
            f"{found.packets} are present. The upload or the copy was probably interrupted"
        )
    frame_s = 1 / found.frame_rate if found.frame_rate > 0 else 0.04
    if found.stream_duration_s:
        announced = found.stream_duration_s
        missing = announced - found.end_s > frame_s / 2
    else:
        announced = found.container_duration_s
        missing = announced - found.end_s > max(2 * frame_s, 0.5)
    if not found.promised and found.end_s and missing:
        raise _Refused(
            f"the file is truncated: its header announces {announced:.2f} s of video but the "
            f"frames present end at {found.end_s:.2f} s. The upload or the copy was probably "
            "interrupted"
        )
