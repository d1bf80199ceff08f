"""Values as a person reads them: history changes, job options, timings, probe results.

Pages never show Python reprs (``{'preview': False}``, ``None``) or stored codes
(``u-matic``); they ask this module. Pure functions over plain values; the template filters in
``portal/audit/templatetags/human.py`` are thin wrappers, and the job page, the history and
the capture page all use the same wording.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

#: Field and option names shown as words (anything missing falls back to "word word").
LABELS: dict[str, str] = {
    "identifier": "identifier",
    "carrier_format": "format",
    "video_standard": "standard",
    "recording_date": "recorded",
    "duration_minutes": "duration (min)",
    "collection": "collection",
    "shelf_location": "shelf location",
    "model": "model",
    "scorer": "reference selector",
    "references": "references",
    "frame_start": "first frame",
    "frame_end": "last frame",
    "deinterlace": "deinterlace",
    "preview": "preview only",
    "preview_seconds": "preview length",
    "strength": "strength",
    "capture_id": "capture",
    "job_id": "job",
    "version_id": "version",
    "decision_id": "decision",
    "publication_id": "publication",
    "replaces_version_id": "replaces version",
    "replaced_by_version_id": "replaced by version",
    "retry_of": "retry of job",
    "worker_host": "worker",
    "device": "device",
    "permanent": "permanent failure",
    "error": "error",
    "restore_s": "restoring took",
    "sha256": "SHA-256",
    "master_sha256": "master SHA-256",
    "access_sha256": "access copy SHA-256",
    "weights_sha256": "weights SHA-256",
    "model_variant": "model",
    "engine_version": "engine version",
    "frames": "frames",
    "size": "size",
    "role": "role",
    "public_access": "public access",
    "allow_self_approval": "allow self-approval",
    "last_heartbeat": "last heartbeat",
    "stale_after_s": "stale after",
    "frame": "frame",
    "timecode": "timecode",
}

#: Stored codes of choice fields, by field name (filled lazily from the models' choices).
_CHOICES: dict[str, dict[str, str]] = {}

#: Keys whose value is the id of an object with a page: (url name, noun).
_LINKS: dict[str, tuple[str, str]] = {
    "capture_id": ("captures:detail", "capture"),
    "job_id": ("restoration:job_detail", "job"),
    "retry_of": ("restoration:job_detail", "job"),
    "version_id": ("restoration:version_detail", "version"),
    "replaces_version_id": ("restoration:version_detail", "version"),
    "replaced_by_version_id": ("restoration:version_detail", "version"),
}

_SECONDS_KEYS = ("_s", "_seconds")
_SCORER_WORDS = {
    "offline": "artifact scorer (offline)",
    "clip": "CLIP similarity",
    "none": "none (first frames)",
}
_CONTAINERS = {
    "matroska": "Matroska",
    "matroska,webm": "Matroska",
    "webm": "WebM",
    "mov,mp4,m4a,3gp,3g2,mj2": "QuickTime / MP4",
    "mov": "QuickTime",
    "mp4": "MP4",
    "avi": "AVI",
    "mxf": "MXF",
    "mpegts": "MPEG transport stream",
    "mpeg": "MPEG program stream",
    "dv": "DV",
}


def _choices() -> dict[str, dict[str, str]]:
    if not _CHOICES:
        from accounts.models import Role
        from portal.catalog.models import CarrierFormat, VideoStandard
        from restoration.models import Decision, JobStatus

        _CHOICES.update(
            carrier_format=dict(CarrierFormat.choices),
            video_standard=dict(VideoStandard.choices),
            role=dict(Role.choices),
            status=dict(JobStatus.choices),
            decision=dict(Decision.choices),
            scorer=_SCORER_WORDS,
        )
    return _CHOICES


def label(key: str) -> str:
    """``carrier_format`` -> "format"; ``meta:donor`` -> "donor"; unknown keys as words."""
    if key.startswith("meta:"):
        return key[5:]
    return LABELS.get(key, key.replace("_", " "))


def duration(seconds: float | None) -> str:
    """1.5 -> "1.5 s"; 75 -> "1 min 15 s"; 7260 -> "2 h 1 min"."""
    if seconds is None:
        return "none"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds % 1 else f"{int(seconds)} s"
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _last_frame(frame_end: Any) -> str:
    """``frame_end`` is stored as the frame after the last one; people name the last one."""
    if frame_end is None or frame_end == "":
        return "end of the capture"
    if isinstance(frame_end, int) and not isinstance(frame_end, bool):
        return str(frame_end - 1)
    return str(frame_end)


def value(key: str, raw: Any) -> str:
    """One stored value as words: yes/no, "none", choice labels, durations, nested dicts."""
    if key == "frame_end":
        return _last_frame(raw)
    if raw is None or raw == "":
        return "none"
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    if isinstance(raw, Mapping):
        return "; ".join(f"{label(str(k))}: {value(str(k), v)}" for k, v in raw.items()) or "none"
    if isinstance(raw, list | tuple):
        if key == "frames" and len(raw) == 2 and all(isinstance(v, int) for v in raw):
            return f"{raw[0]}–{raw[1] - 1}"
        return ", ".join(value(key, item) for item in raw) or "none"
    choices = _choices().get(key)
    if choices is not None and str(raw) in choices:
        return str(choices[str(raw)])
    if isinstance(raw, int | float) and key.endswith(_SECONDS_KEYS):
        return duration(raw)
    if key == "preview_seconds" and isinstance(raw, int | float):
        return duration(raw)
    if key == "size" and isinstance(raw, int):
        from django.template.defaultfilters import filesizeformat

        return str(filesizeformat(raw))
    return str(raw)


def value_html(key: str, raw: Any) -> SafeString:
    """Like ``value`` but ids of objects with a page become links ("job #12")."""
    link = _LINKS.get(key)
    if link is not None and isinstance(raw, int) and not isinstance(raw, bool):
        try:
            url = reverse(link[0], args=[raw])
        except NoReverseMatch:  # pragma: no cover - the url names are part of this project
            url = ""
        if url:
            return format_html('<a href="{}">{} #{}</a>', url, link[1], raw)
    return format_html("{}", value(key, raw))


#: The phases of a job people care about, in order (seconds); other keys are engine internals.
TIMING_LABELS = {
    "fetch_s": "fetching the capture",
    "load_s": "loading the model",
    "score_before_s": "scoring the frames",
    "restore_s": "restoring",
    "store_s": "storing the results",
    "worker_total_s": "total on the worker",
}


def timing_rows(timings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The main phases as (words, duration); see ``timing_internals`` for the rest."""
    return [
        (name, duration(timings[key]))
        for key, name in TIMING_LABELS.items()
        if isinstance(timings.get(key), int | float) and not isinstance(timings.get(key), bool)
    ]


def timing_internals(timings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Engine-internal measurements (for developers), wall-clock stamps left out."""
    rows = []
    for key, raw in sorted(timings.items()):
        if key in TIMING_LABELS or key.endswith("_unix") or isinstance(raw, bool):
            continue
        if not isinstance(raw, int | float):
            continue
        name = key.removesuffix("_s").replace("_", " ")
        rows.append((name, duration(raw) if key.endswith("_s") else str(raw)))
    return rows


def container(raw: str | None) -> str:
    """FFmpeg's demuxer name as people call the format ("matroska,webm" -> "Matroska")."""
    if not raw:
        return "unknown"
    return _CONTAINERS.get(raw, _CONTAINERS.get(raw.split(",")[0], raw))


def bit_rate(bits_per_second: int | None) -> str:
    """157_000_000 -> "157 Mb/s"; 800_000 -> "800 kb/s"; None -> "unknown"."""
    if not bits_per_second:
        return "unknown"
    if bits_per_second >= 1_000_000:
        mbps = bits_per_second / 1_000_000
        return f"{mbps:.0f} Mb/s" if mbps >= 10 else f"{mbps:.1f} Mb/s"
    return f"{bits_per_second / 1000:.0f} kb/s"


def scan(interlaced: bool | None, field_order: str | None) -> str:
    if interlaced is None:
        return "scan type unknown (the file does not say)"
    if not interlaced:
        return "progressive"
    order = {"tt": "top field first", "tb": "top field first", "bb": "bottom field first"}.get(
        field_order or "", field_order or ""
    )
    return f"interlaced, {order}" if order else "interlaced"


def when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "none"


#: Ids of records that have no page and say nothing the event's own words do not (the
#: decision of a "review: approved" event, the publication period of "publication published").
#: Pages leave them out; the CSV and JSON exports keep every key.
_BOOKKEEPING_KEYS = frozenset({"decision_id", "publication_id"})


def detail_rows(details: Mapping[str, Any], skip: Iterable[str] = ()) -> list[tuple[str, Any]]:
    skipped = set(skip) | _BOOKKEEPING_KEYS
    return [(label(k), value_html(k, v)) for k, v in details.items() if k not in skipped]


_ACTION_WORDS = {
    "review.approve": "review: approved",
    "review.approved": "review: approved",
    "review.reject": "review: rejected",
    "review.rejected": "review: rejected",
    "review.request_changes": "review: changes requested",
    "review.changes_requested": "review: changes requested",
    "version.master_downloaded": "master downloaded",
    "job.cancel_requested": "job: cancel requested",
}


def action(raw: str) -> str:
    """A dotted audit action as words: "tape.created" -> "tape created"."""
    if raw in _ACTION_WORDS:
        return _ACTION_WORDS[raw]
    return raw.replace(".", " ").replace("_", " ")
