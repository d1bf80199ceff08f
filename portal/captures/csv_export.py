"""Captures as CSV (the captures list's "Export CSV" and its bulk selection): one row per
capture, streamed, formula-like cells escaped as in the catalog export."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from portal.captures.models import Capture
from portal.spreadsheet import safe_cell

COLUMNS = (
    "file",
    "tape",
    "tape_title",
    "collection",
    "duration_s",
    "frames",
    "frame_rate",
    "width",
    "height",
    "container",
    "video_codec",
    "size_bytes",
    "sha256",
    "browser_copy",
    "restored_versions",
    "uploaded_at",
    "uploaded_by",
)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _row(capture: Capture) -> list[str]:
    tape = capture.tape
    return [
        capture.original_filename,
        tape.identifier,
        tape.title,
        tape.collection.name if tape.collection_id else "",
        f"{capture.duration_s:.3f}",
        str(capture.frame_count),
        capture.frame_rate,
        str(capture.width),
        str(capture.height),
        capture.container,
        capture.video_codec,
        str(capture.size_bytes),
        capture.sha256,
        capture.get_proxy_status_display(),
        str(getattr(capture, "version_count", "")),
        capture.created_at.isoformat(timespec="seconds"),
        capture.uploaded_by.get_username() if capture.uploaded_by else "",
    ]


def capture_csv_lines(captures: QuerySet[Capture] | Iterable[Capture]) -> Iterator[str]:
    """The header, then one CSV line per capture (a byte-order mark first, so spreadsheet
    programs read the UTF-8 file names correctly)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(COLUMNS)
    rows = captures.iterator(chunk_size=500) if isinstance(captures, QuerySet) else captures
    for capture in rows:
        yield writer.writerow([safe_cell(cell) for cell in _row(capture)])
