from portal.catalog.selectors import tape_list
from portal.catalog.services import collection_create, tape_create


def _identifiers(queryset):
    return [tape.identifier for tape in queryset]


def test_search_covers_identifier_title_description_and_metadata(institution, archivist):
    tape_create(actor=archivist, institution=institution, identifier="VHS-7", title="Harbour")
    tape_create(
        actor=archivist, institution=institution, identifier="U-1", description="A harbour strike"
    )
    tape_create(
        actor=archivist,
        institution=institution,
        identifier="U-2",
        metadata={"place": "Harbourside"},
    )
    tape_create(actor=archivist, institution=institution, identifier="U-3", title="Other")
    assert _identifiers(tape_list(institution=institution, search="harbour")) == [
        "U-1",
        "U-2",
        "VHS-7",
    ]
    assert _identifiers(tape_list(institution=institution, search="vhs-")) == ["VHS-7"]


def test_filters_and_sorting(institution, archivist):
    festival = collection_create(actor=archivist, institution=institution, name="Festival")
    tape_create(
        actor=archivist,
        institution=institution,
        identifier="A",
        carrier_format="u-matic",
        video_standard="pal",
        recording_date="1975",
        collection=festival,
    )
    tape_create(
        actor=archivist,
        institution=institution,
        identifier="B",
        carrier_format="vhs",
        video_standard="ntsc",
        recording_date="1980s",
    )
    tape_create(
        actor=archivist,
        institution=institution,
        identifier="C",
        carrier_format="vhs",
        video_standard="pal",
        recording_date="1971-03",
    )
    assert _identifiers(tape_list(institution=institution, carrier_format="vhs")) == ["B", "C"]
    assert _identifiers(tape_list(institution=institution, video_standard="pal")) == ["A", "C"]
    assert _identifiers(tape_list(institution=institution, collection_id=festival.pk)) == ["A"]
    assert _identifiers(tape_list(institution=institution, sort="date")) == ["C", "A", "B"]
    assert _identifiers(tape_list(institution=institution, sort="-identifier")) == ["C", "B", "A"]
    assert _identifiers(tape_list(institution=institution, has_captures=True)) == []
    assert _identifiers(tape_list(institution=institution, has_captures=False)) == ["A", "B", "C"]


def test_list_never_shows_other_institutions(institution, other_institution, archivist, outsider):
    tape_create(actor=outsider, institution=other_institution, identifier="THEIRS")
    assert _identifiers(tape_list(institution=institution)) == []
    assert _identifiers(tape_list(institution=None)) == []
