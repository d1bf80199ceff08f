"""CSV export and import of tapes, the way archives move catalogs between systems.

Columns: the Tape fields (``collection`` by name, choices by value or label, ``duration`` as
H:MM:SS) plus one ``meta:<key>`` column per metadata key. Import validates every row first and
reports all errors by line; only a file without errors is written, in one transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.dateparse import parse_duration

from accounts.models import Institution, Role
from accounts.permissions import require_role
from portal.audit.services import json_value
from portal.catalog.models import (
    CarrierFormat,
    Collection,
    Condition,
    Tape,
    TapeMetadata,
    VideoStandard,
)
from portal.catalog.services import collection_create, tape_create, tape_update_changes
from portal.spreadsheet import safe_cell, unescape_cell

META_PREFIX = "meta:"
COLUMNS: tuple[str, ...] = Tape.FIELDS
_CHOICES = {
    "carrier_format": CarrierFormat,
    "video_standard": VideoStandard,
    "condition": Condition,
}
MAX_IMPORT_ROWS = 50_000


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_rows(tapes: Iterable[Tape], meta_keys: list[str]) -> Iterator[list[str]]:
    for row in _export_rows(tapes, meta_keys):
        yield [safe_cell(cell) for cell in row]


def _export_rows(tapes: Iterable[Tape], meta_keys: list[str]) -> Iterator[list[str]]:
    yield [*COLUMNS, *(f"{META_PREFIX}{key}" for key in meta_keys)]
    for tape in tapes:
        metadata = {item.key: item.value for item in tape.metadata.all()}
        row = []
        for name in COLUMNS:
            value = getattr(tape, name)
            if name == "collection":
                value = tape.collection.name if tape.collection_id else ""
            row.append("" if value is None else str(json_value(value)))
        row.extend(metadata.get(key, "") for key in meta_keys)
        yield row


def export_csv_lines(
    *,
    institution: Institution,
    tapes: QuerySet[Tape] | None = None,
    tape_ids: Iterable[int] | None = None,
) -> Iterator[str]:
    """Tapes as CSV text, produced row by row (streams to the client).

    ``tapes``: the tapes to write (e.g. the catalog list with its filters), ``tape_ids``: a
    bulk selection; by default the institution's whole catalog. Formula-like cells are
    escaped (``safe_cell``).
    """
    selected = Tape.objects.for_institution(institution) if tapes is None else tapes
    selected = selected.filter(institution=institution)  # never another institution's rows
    if tape_ids is not None:
        selected = selected.filter(pk__in=list(tape_ids))
    meta_keys = list(
        TapeMetadata.objects.filter(tape__in=selected.values("pk"))
        .order_by("key")
        .values_list("key", flat=True)
        .distinct()
    )
    if not selected.query.order_by:
        selected = selected.order_by("identifier")
    rows = (
        selected.select_related("collection").prefetch_related("metadata").iterator(chunk_size=1000)
    )
    writer = csv.writer(_Echo())
    yield "\ufeff"  # BOM: spreadsheet programs then read the file as UTF-8
    for row in export_rows(rows, meta_keys):
        yield writer.writerow(row)


@dataclass
class RowError:
    line: int
    identifier: str
    messages: list[str]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    collections_created: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _ParsedRow:
    line: int
    identifier: str
    fields: dict[str, Any]
    collection_name: str | None
    metadata: dict[str, str] | None
    existing: Tape | None


def _choice(name: str, raw: str) -> str:
    choices = _CHOICES[name]
    wanted = raw.strip().lower()
    for value, label in choices.choices:
        if wanted in (str(value).lower(), str(label).lower()):
            return str(value)
    allowed = ", ".join(str(label) for _, label in choices.choices)
    raise ValidationError(f"{name}: {raw!r} is not one of {allowed}.")


def _convert(name: str, raw: str) -> Any:
    raw = unescape_cell(raw.strip())
    if name in _CHOICES:
        if raw == "" and name == "video_standard":
            return ""
        if raw == "":
            return Tape._meta.get_field(name).default
        return _choice(name, raw)
    if name == "duration":
        if raw == "":
            return None
        value = parse_duration(raw)
        if value is None:
            raise ValidationError(f"duration: {raw!r} is not a duration (write H:MM:SS).")
        return value
    return raw


def _read(file: IO[bytes]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")
        reader = csv.DictReader(text)
        header = [name.strip() for name in (reader.fieldnames or [])]
        reader.fieldnames = header
        rows = []
        for row in reader:
            if len(rows) >= MAX_IMPORT_ROWS:
                raise ValidationError(f"The file has more than {MAX_IMPORT_ROWS} rows; split it.")
            if None in row:
                raise ValidationError(f"Line {reader.line_num}: more values than header columns.")
            rows.append((reader.line_num, row))
    except UnicodeDecodeError as exc:
        raise ValidationError("The file is not UTF-8 text; save it as CSV UTF-8.") from exc
    except csv.Error as exc:
        raise ValidationError(f"Not a readable CSV file: {exc}") from exc
    return header, rows


def _parse_row(
    line: int,
    row: dict[str, str],
    header: list[str],
    institution: Institution,
    existing: dict[str, Tape],
) -> _ParsedRow:
    identifier = unescape_cell((row.get("identifier") or "").strip())
    if not identifier:
        raise ValidationError("identifier is empty.")
    messages: list[str] = []
    values: dict[str, Any] = {}
    for name in COLUMNS:
        if name in header and name not in ("identifier", "collection"):
            try:
                values[name] = _convert(name, row[name] or "")
            except ValidationError as exc:
                messages.extend(exc.messages)
    collection_name = (
        unescape_cell((row["collection"] or "").strip()) if "collection" in header else None
    )
    metadata = None
    meta_columns = [name for name in header if name.startswith(META_PREFIX)]
    if meta_columns:
        tape = existing.get(identifier)
        metadata = {item.key: item.value for item in tape.metadata.all()} if tape else {}
        for column in meta_columns:
            if row[column] is None:  # a key one API row leaves out: unchanged
                continue
            value = unescape_cell((row[column] or "").strip())
            metadata[column[len(META_PREFIX) :].strip()] = value
    tape = existing.get(identifier)
    # Validate the whole row as a model without writing: field lengths, choices, the date text.
    # Columns that failed to convert above are left out, so every problem of the row is listed.
    candidate = Tape(institution=institution, identifier=identifier)
    if tape is not None:
        candidate = Tape(
            institution=institution,
            **{name: getattr(tape, name) for name in Tape.FIELDS if name != "collection"},
        )
    for name, value in values.items():
        setattr(candidate, name, value)
    failed = [
        name
        for name in COLUMNS
        if name in header and name not in values and name not in ("identifier", "collection")
    ]
    try:
        candidate.full_clean(exclude=["collection", *failed], validate_constraints=False)
    except ValidationError as exc:
        messages.extend(
            f"{name}: {message}" for name, errors in exc.message_dict.items() for message in errors
        )
    if messages:
        raise ValidationError(messages)
    if collection_name is not None and len(collection_name) > 200:
        raise ValidationError("collection: names are at most 200 characters.")
    return _ParsedRow(line, identifier, values, collection_name, metadata, tape)


def tapes_import_csv(
    *, actor: Any, institution: Institution, file: IO[bytes], create_collections: bool = True
) -> ImportReport:
    """Create or update tapes (matched by identifier) from CSV. All rows or none are written.
    ``create_collections=False``: a collection name the institution does not have is an error
    of that row (the web page asks for an explicit tick before creating any)."""
    if actor is not None:
        require_role(actor, institution, Role.ARCHIVIST)
    try:
        header, rows = _read(file)
    except ValidationError as exc:
        report = ImportReport()
        report.errors.append(RowError(1, "", exc.messages))
        return report
    return tapes_import_rows(
        actor=actor,
        institution=institution,
        header=header,
        rows=rows,
        create_collections=create_collections,
    )


def tapes_import_rows(
    *,
    actor: Any,
    institution: Institution,
    header: list[str],
    rows: list[tuple[int, dict[str, str]]],
    create_collections: bool = True,
) -> ImportReport:
    """The import's checks and writes for rows already read (CSV lines or API objects).

    ``header`` names the columns (``COLUMNS`` and ``meta:<key>``), ``rows`` are
    ``(line or position, {column: text})``. All rows or none are written.
    """
    if actor is not None:
        require_role(actor, institution, Role.ARCHIVIST)
    report = ImportReport()
    if "identifier" not in header:
        report.errors.append(RowError(1, "", ["The header has no identifier column."]))
        return report
    unknown = [name for name in header if name not in COLUMNS and not name.startswith(META_PREFIX)]
    if unknown:
        allowed = f"{', '.join(COLUMNS)} or {META_PREFIX}<key>"
        message = f"Unknown columns: {', '.join(unknown)}. Use {allowed}."
        report.errors.append(RowError(1, "", [message]))
        return report

    existing = {
        tape.identifier: tape
        for tape in Tape.objects.for_institution(institution).prefetch_related("metadata")
    }
    parsed: list[_ParsedRow] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        identifier = unescape_cell((row.get("identifier") or "").strip())
        if identifier and identifier in seen:
            report.errors.append(
                RowError(line, identifier, [f"identifier repeats line {seen[identifier]}."])
            )
            continue
        seen[identifier] = line
        try:
            parsed.append(_parse_row(line, row, header, institution, existing))
        except ValidationError as exc:
            report.errors.append(RowError(line, identifier, exc.messages))
    collections = {c.name: c for c in Collection.objects.for_institution(institution)}
    if not create_collections:
        for item in parsed:
            if item.collection_name and item.collection_name not in collections:
                message = (
                    f"collection: {item.collection_name!r} does not exist. Create it first, "
                    "correct the name, or tick “Create the collections this file names”."
                )
                report.errors.append(RowError(item.line, item.identifier, [message]))
    if report.errors:
        return report

    with transaction.atomic():
        for item in parsed:
            fields = dict(item.fields)
            if item.collection_name is not None:
                if item.collection_name and item.collection_name not in collections:
                    collections[item.collection_name] = collection_create(
                        actor=actor, institution=institution, name=item.collection_name
                    )
                    report.collections_created.append(item.collection_name)
                fields["collection"] = collections.get(item.collection_name)
            try:
                if item.existing is None:
                    tape_create(
                        actor=actor,
                        institution=institution,
                        identifier=item.identifier,
                        metadata=item.metadata,
                        **fields,
                    )
                    report.created += 1
                else:
                    changes = tape_update_changes(
                        actor=actor, tape=item.existing, metadata=item.metadata, **fields
                    )
                    report.updated += int(bool(changes))
                    report.unchanged += int(not changes)
            except ValidationError as exc:
                # Should have been caught above; report it and write nothing.
                report.errors.append(RowError(item.line, item.identifier, exc.messages))
        if report.errors:
            transaction.set_rollback(True)
            report.created = report.updated = report.unchanged = 0
            report.collections_created = []
    return report
