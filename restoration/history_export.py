"""CSV and JSON export of the audit history: institution-wide (managers, same filters as the
history page of ``portal.audit``) and per tape. Reads through ``portal.audit.selectors``; the
history pages themselves are portal.audit's (they link here)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import Role
from accounts.permissions import member_required
from accounts.selectors import get_for_institution
from portal.audit.models import AuditEvent
from portal.audit.selectors import institution_history, tape_history
from portal.catalog.models import Tape

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
        writer.writerow(row)
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


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@member_required(Role.MANAGER)
@require_GET
def institution_history_export(request: HttpRequest, fmt: str) -> StreamingHttpResponse:
    institution = request.institution  # type: ignore[attr-defined]
    params = request.GET
    actor = params.get("actor", "")
    events = institution_history(
        institution=institution,
        action=params.get("action", ""),
        actor_id=int(actor) if actor.isdigit() else None,
        date_from=_date(params.get("from")),
        date_to=_date(params.get("to")),
    )
    return export_response(events, fmt=fmt, name=f"{institution.slug}-history")


@member_required(Role.ARCHIVIST)
@require_GET
def tape_history_export(request: HttpRequest, tape_id: int, fmt: str) -> StreamingHttpResponse:
    institution = request.institution  # type: ignore[attr-defined]
    tape: Tape = get_for_institution(Tape.objects.all(), institution, pk=tape_id)
    events = tape_history(institution=institution, tape_id=tape.pk)
    return export_response(events, fmt=fmt, name=f"{institution.slug}-tape-{tape.identifier}")
