"""Writes to the catalog. Each service checks the actor's role, changes the rows and records the
audit event in one transaction. ``actor=None`` means the system (management commands)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Institution, Role
from accounts.permissions import require_role
from portal.audit.services import audit_record
from portal.catalog.exceptions import CollectionNotEmptyError, TapeHasCapturesError
from portal.catalog.models import Collection, Tape, TapeMetadata
from portal.db import assign, diff, snapshot

COLLECTION_FIELDS = ("name", "description")
EDIT_ROLE = Role.ARCHIVIST


def _check(actor: Any, institution: Institution) -> None:
    if actor is not None:
        require_role(actor, institution, EDIT_ROLE)


def _metadata_snapshot(tape: Tape) -> dict[str, str]:
    # A fresh query, never a prefetched cache that may predate the change.
    rows = TapeMetadata.objects.filter(tape=tape).values_list("key", "value")
    return {f"meta:{key}": value for key, value in rows}


def _set_metadata(tape: Tape, metadata: Mapping[str, str]) -> None:
    """Replace the tape's key/value metadata by ``metadata`` (empty values remove a key)."""
    wanted = {key.strip(): str(value) for key, value in metadata.items() if key.strip()}
    wanted = {key: value for key, value in wanted.items() if value != ""}
    existing = {item.key: item for item in TapeMetadata.objects.filter(tape=tape)}
    for key, item in existing.items():
        if key not in wanted:
            item.delete()
        elif item.value != wanted[key]:
            item.value = wanted[key]
            item.save(update_fields=["value"])
    TapeMetadata.objects.bulk_create(
        [
            TapeMetadata(tape=tape, key=key, value=value)
            for key, value in wanted.items()
            if key not in existing
        ]
    )
    getattr(tape, "_prefetched_objects_cache", {}).pop("metadata", None)


def tape_create(
    *,
    actor: Any,
    institution: Institution,
    metadata: Mapping[str, str] | None = None,
    **fields: Any,
) -> Tape:
    """Create a tape; ``fields`` are Tape.FIELDS (``collection`` a Collection or None)."""
    _check(actor, institution)
    unknown = set(fields) - set(Tape.FIELDS)
    if unknown:
        raise TypeError(f"unknown tape fields: {sorted(unknown)}")
    with transaction.atomic():
        tape = Tape(institution=institution, created_by=actor, **fields)
        tape.full_clean()
        tape.save()
        if metadata:
            _set_metadata(tape, metadata)
        new = {**snapshot(tape, Tape.FIELDS), **_metadata_snapshot(tape)}
        audit_record(
            actor=actor,
            institution=institution,
            action="tape.created",
            target=tape,
            tape=tape,
            changes=diff({}, {key: value for key, value in new.items() if value not in ("", None)}),
        )
    return tape


def tape_update(
    *,
    actor: Any,
    tape: Tape,
    metadata: Mapping[str, str] | None = None,
    **fields: Any,
) -> Tape:
    """Change fields (and, when given, replace the metadata); records the diff if any."""
    tape_update_changes(actor=actor, tape=tape, metadata=metadata, **fields)
    return tape


def tape_update_changes(
    *,
    actor: Any,
    tape: Tape,
    metadata: Mapping[str, str] | None = None,
    **fields: Any,
) -> dict[str, list[Any]]:
    """``tape_update`` that returns the recorded ``{field: [old, new]}`` (empty: no change)."""
    _check(actor, tape.institution)
    with transaction.atomic():
        old_metadata = _metadata_snapshot(tape)
        changes = assign(tape, fields, allowed=Tape.FIELDS, what="tape")
        if changes:
            tape.save()
        if metadata is not None:
            _set_metadata(tape, metadata)
        changes |= diff(old_metadata, _metadata_snapshot(tape))
        if changes:
            audit_record(
                actor=actor,
                institution=tape.institution,
                action="tape.updated",
                target=tape,
                tape=tape,
                changes=changes,
            )
    return changes


def tape_delete(*, actor: Any, tape: Tape) -> None:
    """Delete a tape that has no captures (delete those first: each deletion is audited)."""
    _check(actor, tape.institution)
    capture_count = tape.captures.count()
    if capture_count:
        raise TapeHasCapturesError(
            f"Tape {tape.identifier} has {capture_count} capture(s); delete them first "
            "(a manager can, from each capture's page; restored captures are kept)."
        )
    with transaction.atomic():
        old = {**snapshot(tape, Tape.FIELDS), **_metadata_snapshot(tape)}
        audit_record(
            actor=actor,
            institution=tape.institution,
            action="tape.deleted",
            target=tape,
            tape=tape,
            changes=diff(old, {}),
        )
        tape.delete()


def collection_create(
    *, actor: Any, institution: Institution, name: str, description: str = ""
) -> Collection:
    _check(actor, institution)
    with transaction.atomic():
        collection = Collection(institution=institution, name=name, description=description)
        collection.full_clean()
        collection.save()
        audit_record(
            actor=actor,
            institution=institution,
            action="collection.created",
            target=collection,
            changes=diff(
                {}, {k: v for k, v in snapshot(collection, COLLECTION_FIELDS).items() if v}
            ),
        )
    return collection


def collection_update(*, actor: Any, collection: Collection, **fields: Any) -> Collection:
    _check(actor, collection.institution)
    with transaction.atomic():
        changes = assign(collection, fields, allowed=COLLECTION_FIELDS, what="collection")
        collection.save()
        if changes:
            audit_record(
                actor=actor,
                institution=collection.institution,
                action="collection.updated",
                target=collection,
                changes=changes,
            )
    return collection


def collection_delete(*, actor: Any, collection: Collection) -> None:
    _check(actor, collection.institution)
    tape_count = collection.tapes.count()
    if tape_count:
        raise CollectionNotEmptyError(
            f"Collection {collection.name!r} still holds {tape_count} tape(s); move them to "
            "another collection or delete them first."
        )
    with transaction.atomic():
        audit_record(
            actor=actor,
            institution=collection.institution,
            action="collection.deleted",
            target=collection,
            changes=diff(snapshot(collection, COLLECTION_FIELDS), {}),
        )
        collection.delete()


def tapes_add_to_collection(
    *, actor: Any, institution: Institution, tapes: Iterable[Tape], collection: Collection
) -> int:
    """Move the tapes into ``collection`` (a bulk action): one transaction, one audited
    ``tape.updated`` per tape that changes. Returns how many changed."""
    _check(actor, institution)
    if collection.institution_id != institution.pk:
        raise ValidationError("That collection belongs to another institution.")
    changed = 0
    with transaction.atomic():
        for tape in tapes:
            if tape.institution_id != institution.pk:
                raise ValidationError("A selected tape belongs to another institution.")
            if tape.collection_id == collection.pk:
                continue
            tape_update_changes(actor=actor, tape=tape, collection=collection)
            changed += 1
    return changed
