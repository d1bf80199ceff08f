import pytest

from portal.audit.models import AuditEvent, ImmutableHistoryError
from portal.audit.services import audit_record
from portal.catalog.services import tape_create, tape_update


def test_tape_update_records_old_and_new_value_per_field(institution, archivist):
    tape = tape_create(actor=archivist, institution=institution, identifier="T-1", title="Old")
    tape_update(actor=archivist, tape=tape, title="New", metadata={"donor": "Ada"})
    event = AuditEvent.objects.get(action="tape.updated")
    assert event.changes == {"title": ["Old", "New"], "meta:donor": [None, "Ada"]}
    assert event.actor == archivist and event.actor_label == "archivist"
    assert event.tape_id == tape.pk and event.institution == institution


def test_update_without_changes_records_nothing(institution, archivist):
    tape = tape_create(actor=archivist, institution=institution, identifier="T-1", title="Same")
    tape_update(actor=archivist, tape=tape, title="Same")
    assert not AuditEvent.objects.filter(action="tape.updated").exists()


def test_audit_events_cannot_be_changed_or_deleted(institution, archivist):
    event = audit_record(actor=archivist, institution=institution, action="x.done", target=None)
    event.action = "x.undone"
    with pytest.raises(ImmutableHistoryError):
        event.save()
    with pytest.raises(ImmutableHistoryError):
        event.delete()
    with pytest.raises(ImmutableHistoryError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x.undone")
    with pytest.raises(ImmutableHistoryError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "x.done"


def test_history_survives_deleting_the_tape(institution, archivist):
    from portal.catalog.services import tape_delete

    tape = tape_create(actor=archivist, institution=institution, identifier="T-9")
    tape_id = tape.pk
    tape_delete(actor=archivist, tape=tape)
    actions = list(AuditEvent.objects.for_tape(tape_id).values_list("action", flat=True))
    assert actions == ["tape.deleted", "tape.created"]


def test_database_refuses_raw_updates_of_history(institution, archivist):
    from django.db import DatabaseError, connection, transaction

    event = audit_record(actor=archivist, institution=institution, action="x.done", target=None)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditevent SET action = 'x.forged' WHERE id = %s", [event.pk])
    if connection.vendor == "postgresql":
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "x.done"
