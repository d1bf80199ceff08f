"""CSV and JSON export of audit events, streamed (never the whole history in memory). Used by
the institution's export (``portal.audit.views``) and a tape's (``portal.catalog.views``).
CSV cells that a spreadsheet would run as formulas are escaped (``portal.spreadsheet``); the
JSON export keeps every value exactly."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.spreadsheet import safe_cell

COLUMNS = [
    "id",
    "created_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "tape_id",
    "changes",
    "details",
]
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.pk,
        "created_at": event.created_at.isoformat(),
        "actor": event.actor_label,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "tape_id": event.tape_id,
        "changes": event.changes,
        "details": event.details,
    }


def _csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for event in events:
        row = _row(event)
        row["changes"] = json.dumps(row["changes"], sort_keys=True)
        row["details"] = json.dumps(row["details"], sort_keys=True)
        # Labels are typed by people (a tape titled "=HYPERLINK(...)"): text, not formulas.
        writer.writerow({k: safe_cell(v) if isinstance(v, str) else v for k, v in row.items()})
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()


def _json_chunks(events: Iterable[AuditEvent]) -> Iterator[str]:
    yield "["
    for index, event in enumerate(events):
        yield ("," if index else "") + "\n" + json.dumps(_row(event), sort_keys=True)
    yield "\n]\n"


def export_response(events: Any, *, fmt: str, name: str) -> StreamingHttpResponse:
    """Stream ``events`` (oldest first) as CSV or JSON; never holds the whole history."""
    ordered = events.order_by("created_at", "id").iterator(chunk_size=500)
    chunks = _csv_lines(ordered) if fmt == "csv" else _json_chunks(ordered)
    response = StreamingHttpResponse(chunks, content_type=FORMATS[fmt])
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{timezone.now():%Y%m%d-%H%M}.{fmt}"'
    )
    return response
