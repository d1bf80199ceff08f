"""Bulk create/update of tapes through the API: a JSON array or a CSV file, all or nothing.

Both go through the web CSV import's checks and writes (``tapes_import_rows``): rows are
matched by identifier (created or updated), every row is checked first, and one bad row
writes nothing and lists every problem by row.
"""

from __future__ import annotations

import io
from typing import Any

from rest_framework import serializers
from rest_framework.parsers import BaseParser

from accounts.models import Institution
from portal.catalog.csv_io import META_PREFIX, ImportReport, _read, tapes_import_rows
from portal.catalog.models import Collection, Tape
from portal.exceptions import ApplicationError

MAX_BULK_ROWS = 5000


class CSVTextParser(BaseParser):
    """``text/csv`` bodies: passed on as bytes (the import reads them)."""

    media_type = "text/csv"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> bytes:
        return stream.read() if stream is not None else b""


class BulkImportError(ApplicationError):
    """Some rows are invalid: nothing was written (``details.rows`` lists them)."""

    status = 400
    code = "bulk_invalid"


class BulkResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    collections_created = serializers.ListField(child=serializers.CharField())


class BulkTapeRowSerializer(serializers.Serializer):
    """One tape of a bulk request (the CSV import's columns, as JSON values)."""

    identifier = serializers.CharField(max_length=100)
    title = serializers.CharField(required=False, allow_blank=True)
    collection = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Collection id or name (a new name creates the collection).",
    )
    carrier_format = serializers.CharField(required=False, allow_blank=True)
    video_standard = serializers.CharField(required=False, allow_blank=True)
    recording_date = serializers.CharField(required=False, allow_blank=True)
    duration = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    condition = serializers.CharField(required=False, allow_blank=True)
    condition_notes = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    subjects = serializers.CharField(required=False, allow_blank=True)
    language = serializers.CharField(required=False, allow_blank=True)
    rights_statement = serializers.CharField(required=False, allow_blank=True)
    shelf_location = serializers.CharField(required=False, allow_blank=True)
    metadata = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def rows_from_json(
    items: Any, *, institution: Institution
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Array of objects -> (header, rows) of the CSV import; shape errors raise at once."""
    if not isinstance(items, list) or not items:
        raise BulkImportError("Send a non-empty JSON array of tapes (or a text/csv body).")
    if len(items) > MAX_BULK_ROWS:
        raise BulkImportError(f"At most {MAX_BULK_ROWS} tapes per request; split the list.")
    known = set(Tape.FIELDS) | {"metadata"}
    collections = {
        str(pk): name
        for pk, name in Collection.objects.for_institution(institution).values_list("pk", "name")
    }
    problems: list[dict[str, Any]] = []
    rows: list[tuple[int, dict[str, str]]] = []
    first_keys: set[str] | None = None
    for position, item in enumerate(items, start=1):
        identifier = _text(item.get("identifier")) if isinstance(item, dict) else ""
        if not isinstance(item, dict):
            problems.append(_problem(position, "", "Each tape is a JSON object."))
            continue
        keys = set(item)
        if unknown := sorted(keys - known):
            problems.append(
                _problem(position, identifier, f"Unknown fields: {', '.join(unknown)}.")
            )
            continue
        if first_keys is None:
            first_keys = keys
        elif keys != first_keys:
            problems.append(
                _problem(
                    position,
                    identifier,
                    "Every object needs the same fields (like the columns of a CSV file); "
                    f"the first has {', '.join(sorted(first_keys))}.",
                )
            )
            continue
        row: dict[str, str] = {}
        for name, value in item.items():
            if name == "metadata":
                if not isinstance(value, dict):
                    problems.append(_problem(position, identifier, "metadata is an object."))
                    break
                for key, text in value.items():
                    row[f"{META_PREFIX}{key}"] = _text(text)
            elif name == "collection" and isinstance(value, int) and not isinstance(value, bool):
                if str(value) not in collections:
                    problems.append(_problem(position, identifier, f"No collection {value}."))
                    break
                row[name] = collections[str(value)]
            else:
                row[name] = _text(value)
        rows.append((position, row))
    if problems:
        raise BulkImportError(_summary(len(problems)), extra={"rows": problems})
    header = sorted({name for _, row in rows for name in row})
    for _, row in rows:  # metadata keys may differ per row: a missing one stays unchanged
        for name in header:
            row.setdefault(name, None)  # type: ignore[arg-type]
    return header, rows


def rows_from_csv(body: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    from django.core.exceptions import ValidationError

    try:
        return _read(io.BytesIO(body))
    except ValidationError as exc:
        raise BulkImportError(" ".join(exc.messages)) from exc


def _problem(row: int, identifier: str, message: str) -> dict[str, Any]:
    return {"row": row, "identifier": identifier, "messages": [message]}


def _summary(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''} with errors; nothing was written."


def tapes_bulk_write(
    *, actor: Any, institution: Institution, header: list[str], rows: list[Any]
) -> ImportReport:
    report = tapes_import_rows(actor=actor, institution=institution, header=header, rows=rows)
    if not report.ok:
        problems = [
            {"row": error.line, "identifier": error.identifier, "messages": error.messages}
            for error in report.errors
        ]
        raise BulkImportError(_summary(len(problems)), extra={"rows": problems})
    return report
