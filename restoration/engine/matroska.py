"""Patching the display size (sample aspect ratio) into a Matroska file FFmpeg wrote, in place.

PyAV cannot set ``AVStream.sample_aspect_ratio``, the field FFmpeg's Matroska muxer writes as
the display size. The muxer reserves a Void element inside each video TrackEntry; the display
elements take its place inside the Video element, so no other byte moves (cues and seek entries
stay valid), and the CRC-32 of Tracks is recomputed.
"""

from __future__ import annotations

import zlib
from fractions import Fraction

# EBML element ids (Matroska specification).
_SEGMENT = 0x18538067
_TRACKS = 0x1654AE6B
_TRACK_ENTRY = 0xAE
_TRACK_TYPE = 0x83
_VIDEO = 0xE0
_VOID = 0xEC
_DISPLAY_UNIT = 0x54B2
_CRC32 = 0xBF
_VIDEO_TRACK = b"\x01"

#: (id, element start, payload start, element end) of one element.
Element = tuple[int, int, int, int]


def _ebml_id(data: bytes, at: int) -> tuple[int, int]:
    first, length = data[at], 1
    while length <= 4 and not first & (0x80 >> (length - 1)):
        length += 1
    return int.from_bytes(data[at : at + length], "big"), length


def _ebml_size(data: bytes, at: int) -> tuple[int, int]:
    first, length = data[at], 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    value = first & ((0x80 >> (length - 1)) - 1)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    return value, length


def _ebml_children(data: bytes, start: int, end: int) -> list[Element]:
    """(id, element start, payload start, element end) of the elements in data[start:end]."""
    children = []
    at = start
    while at < end:
        element, id_length = _ebml_id(data, at)
        size, size_length = _ebml_size(data, at + id_length)
        payload = at + id_length + size_length
        children.append((element, at, payload, payload + size))
        at = payload + size
    return children


def _display_size_elements(width: int, height: int, sar: Fraction, room: int) -> bytes | None:
    """DisplayWidth/DisplayHeight elements giving `sar`, exactly `room` bytes long (or None)."""
    if (width * sar.numerator) % sar.denominator == 0:
        display = (width * sar.numerator // sar.denominator, height)
    else:  # keep the ratio exact rather than round it
        display = (width * sar.numerator, height * sar.denominator)
    height_bytes = 2 if display[1] < 1 << 16 else 3
    for width_bytes in (3, 4):
        elements = (
            b"\x54\xb0"
            + bytes([0x80 | width_bytes])
            + display[0].to_bytes(width_bytes, "big")
            + b"\x54\xba"
            + bytes([0x80 | height_bytes])
            + display[1].to_bytes(height_bytes, "big")
        )
        padding = room - len(elements)
        if padding == 0:
            return elements
        if 2 <= padding <= 128:
            return elements + b"\xec" + bytes([0x80 | (padding - 2)]) + bytes(padding - 2)
    return None


def _find(elements: list[Element], element_id: int) -> Element | None:
    return next((element for element in elements if element[0] == element_id), None)


def _tracks_element(head: bytes) -> Element | None:
    """The Tracks element, when the file starts with a Segment holding it within ``head``."""
    try:
        segment = _ebml_children(head, 0, len(head))[1]
    except (IndexError, ValueError):
        return None
    if segment[0] != _SEGMENT:
        return None
    tracks = _find(_ebml_children(head, segment[2], len(head)), _TRACKS)
    if tracks is None or tracks[3] > len(head):
        return None
    return tracks


def _is_video_track(head: bytes, entry: Element) -> bool:
    children = _ebml_children(head, entry[2], entry[3])
    return any(c[0] == _TRACK_TYPE and head[c[2] : c[3]] == _VIDEO_TRACK for c in children)


def _video_and_void(head: bytes, entry: Element) -> tuple[Element, Element] | None:
    """(Video element, the Void after it) of a video TrackEntry; None when it lacks them."""
    children = _ebml_children(head, entry[2], entry[3])
    video = _find(children, _VIDEO)
    if video is None:
        return None
    void = next((c for c in children if c[0] == _VOID and c[1] > video[1]), None)
    return (video, void) if void is not None else None


def _grown_video(
    head: bytes, video: Element, void: Element, width: int, height: int, sar: Fraction
) -> tuple[bytes, int] | None:
    """(the Video element with the display size appended, exactly as long as Video + Void,
    its new payload size)."""
    _, id_length = _ebml_id(head, video[1])
    _, size_length = _ebml_size(head, video[1] + id_length)
    elements = _display_size_elements(width, height, sar, void[3] - void[1])
    if elements is None:
        return None
    new_size = video[3] - video[2] + len(elements)
    if new_size >= (1 << (7 * size_length)) - 1:
        return None
    size_field = (new_size | (1 << (7 * size_length))).to_bytes(size_length, "big")
    rebuilt = (
        head[video[1] : video[1] + id_length]
        + size_field
        + head[video[2] : video[3]]
        + elements
        + head[video[3] : void[1]]
    )
    assert len(rebuilt) == void[3] - video[1], "the display size must fill the Void exactly"
    return rebuilt, new_size


def _fix_unit_and_crc(data: bytearray, video_payload: int, video_end: int, tracks: Element) -> None:
    # FFmpeg marks the display size "unknown" (DisplayUnit 4) when it has no SAR, and readers
    # then ignore it: make it pixels (0), same length.
    for unit in _ebml_children(bytes(data), video_payload, video_end):
        if unit[0] == _DISPLAY_UNIT:
            data[unit[2] : unit[3]] = bytes(unit[3] - unit[2])
    crc = _find(_ebml_children(bytes(data), tracks[2], tracks[3]), _CRC32)
    if crc is not None:
        checksum = zlib.crc32(bytes(data[crc[3] : tracks[3]]))
        data[crc[2] : crc[3]] = checksum.to_bytes(4, "little")


def write_matroska_display_size(path: str, width: int, height: int, sar: Fraction) -> bool:
    """Put DisplayWidth/DisplayHeight (the SAR) into the first video track of ``path``.

    Returns False (file untouched) if the layout is not the expected one.
    """
    with open(path, "r+b") as handle:
        head = handle.read(1 << 16)
        tracks = _tracks_element(head)
        if tracks is None:
            return False
        for entry in _ebml_children(head, tracks[2], tracks[3]):
            if entry[0] != _TRACK_ENTRY:
                continue
            if not _is_video_track(head, entry):
                continue
            found = _video_and_void(head, entry)
            if found is None:
                return False
            video, void = found
            grown = _grown_video(head, video, void, width, height, sar)
            if grown is None:
                return False
            rebuilt, new_size = grown
            data = bytearray(head)
            data[video[1] : void[3]] = rebuilt
            _fix_unit_and_crc(data, video[2], video[2] + new_size, tracks)
            handle.seek(0)
            handle.write(bytes(data[: tracks[3]]))
            return True
    return False
