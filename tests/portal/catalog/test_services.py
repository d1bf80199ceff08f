import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from portal.audit.models import AuditEvent
from portal.catalog.exceptions import CollectionNotEmptyError
from portal.catalog.models import Tape
from portal.catalog.services import (
    collection_create,
    collection_delete,
    collection_update,
    tape_create,
    tape_delete,
    tape_update,
)


def test_tape_create_parses_date_and_stores_metadata(institution, archivist):
    tape = tape_create(
        actor=archivist,
        institution=institution,
        identifier="VHS-001",
        title="Town festival",
        recording_date="1980s",
        duration=dt.timedelta(minutes=90),
        metadata={"donor": "City council"},
    )
    assert (tape.date_start, tape.date_end) == (dt.date(1980, 1, 1), dt.date(1989, 12, 31))
    assert {m.key: m.value for m in tape.metadata.all()} == {"donor": "City council"}
    event = AuditEvent.objects.get(action="tape.created")
    assert event.changes["identifier"] == [None, "VHS-001"]
    assert event.changes["duration"] == [None, "1:30:00"]
    assert event.changes["meta:donor"] == [None, "City council"]


def test_identifier_is_unique_per_institution_only(
    institution, other_institution, archivist, outsider
):
    tape_create(actor=archivist, institution=institution, identifier="T-1")
    with pytest.raises(ValidationError):
        tape_create(actor=archivist, institution=institution, identifier="T-1")
    # The same shelf mark at another archive is a different tape.
    tape_create(actor=outsider, institution=other_institution, identifier="T-1")
    assert Tape.objects.filter(identifier="T-1").count() == 2


def test_collection_of_another_institution_is_refused(
    institution, other_institution, archivist, outsider
):
    foreign = collection_create(actor=outsider, institution=other_institution, name="Theirs")
    with pytest.raises(ValidationError, match="collection"):
        tape_create(actor=archivist, institution=institution, identifier="T-1", collection=foreign)


def test_non_member_cannot_write(institution, outsider):
    with pytest.raises(PermissionDenied):
        tape_create(actor=outsider, institution=institution, identifier="T-1")
    assert not Tape.objects.exists()
    assert not AuditEvent.objects.exists()


def test_failed_update_writes_neither_change_nor_history(institution, archivist):
    tape = tape_create(actor=archivist, institution=institution, identifier="T-1")
    with pytest.raises(ValidationError):
        tape_update(actor=archivist, tape=tape, recording_date="sometime")
    assert Tape.objects.get(pk=tape.pk).recording_date == ""
    assert not AuditEvent.objects.filter(action="tape.updated").exists()


def test_metadata_changes_and_removals_are_diffed(institution, archivist):
    tape = tape_create(
        actor=archivist, institution=institution, identifier="T-1", metadata={"a": "1", "b": "2"}
    )
    tape_update(actor=archivist, tape=tape, metadata={"a": "one", "c": "3"})
    event = AuditEvent.objects.get(action="tape.updated")
    assert event.changes == {"meta:a": ["1", "one"], "meta:b": ["2", None], "meta:c": [None, "3"]}


def test_collections_are_audited_and_not_deleted_while_holding_tapes(institution, archivist):
    collection = collection_create(actor=archivist, institution=institution, name="Festival")
    collection_update(actor=archivist, collection=collection, name="Festivals")
    tape = tape_create(
        actor=archivist, institution=institution, identifier="T-1", collection=collection
    )
    with pytest.raises(CollectionNotEmptyError, match="1 tape"):
        collection_delete(actor=archivist, collection=collection)
    tape_delete(actor=archivist, tape=tape)
    collection_delete(actor=archivist, collection=collection)
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "changes"))
    assert actions[0] == ("collection.created", {"name": [None, "Festival"]})
    assert actions[1] == ("collection.updated", {"name": ["Festival", "Festivals"]})
    assert [a for a, _ in actions[2:]] == ["tape.created", "tape.deleted", "collection.deleted"]


def test_an_update_with_a_field_the_model_does_not_have_is_refused_before_anything_changes(
    institution, archivist
):
    from portal.catalog.services import collection_create, collection_update

    collection = collection_create(actor=archivist, institution=institution, name="Reels")
    with pytest.raises(TypeError, match="unknown collection fields: \\['colour'\\]"):
        collection_update(actor=archivist, collection=collection, name="Tapes", colour="red")
    collection.refresh_from_db()
    assert collection.name == "Reels"
