"""Chain the events written before the hash chain existed (migration 0003).

The append-only trigger refuses UPDATE, so it is lifted for this one pass (the migration runs
as the table's owner) and put back before the migration ends.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

# As in 0002_immutable_trigger (a module name that cannot be imported by name).
SQLITE_TRIGGER = """
CREATE TRIGGER audit_event_immutable BEFORE UPDATE ON audit_auditevent
BEGIN SELECT RAISE(ABORT, 'audit history is append-only: UPDATE refused'); END;
"""


def backfill_chain(apps: Any, schema_editor: Any) -> None:
    from portal.audit.chain import GENESIS, event_hash

    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_immutable")
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_immutable")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    previous: dict[int, tuple[int, str]] = {}
    for event in AuditEvent.objects.order_by("institution_id", "created_at", "id").iterator():
        sequence, prev_hash = previous.get(event.institution_id, (0, GENESIS))
        event.sequence, event.prev_hash = sequence + 1, prev_hash
        event.hash = event_hash(SimpleNamespace(**event.__dict__))
        AuditEvent.objects.filter(pk=event.pk).update(
            sequence=event.sequence, prev_hash=event.prev_hash, hash=event.hash
        )
        previous[event.institution_id] = (event.sequence, event.hash)
    if vendor == "postgresql":
        schema_editor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_immutable")


def restore_sqlite_trigger(apps: Any, schema_editor: Any) -> None:
    """SQLite rebuilds the table for the new constraint, which drops its triggers: put the
    append-only trigger back (the last operation of the migration)."""
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS audit_event_immutable")
        schema_editor.execute(SQLITE_TRIGGER)
