import csv
import io

from portal.audit.models import AuditEvent
from portal.catalog.csv_io import export_csv_lines, tapes_import_csv
from portal.catalog.models import Collection, Tape
from portal.catalog.services import collection_create, tape_create


def _csv(rows):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return io.BytesIO(buffer.getvalue().encode("utf-8"))


def _export(institution):
    return "".join(export_csv_lines(institution=institution))


def test_export_then_import_elsewhere_round_trips_every_field(
    institution, other_institution, archivist, outsider
):
    festival = collection_create(actor=archivist, institution=institution, name="Festival")
    tape_create(
        actor=archivist,
        institution=institution,
        identifier="UM-1",
        title='Crowds, "quoted"',
        collection=festival,
        carrier_format="u-matic",
        video_standard="pal",
        recording_date="c. 1975",
        condition="poor",
        condition_notes="Sticky shed",
        description="Line one\nline two",
        subjects="festival; music",
        language="de",
        rights_statement="CC BY 4.0",
        shelf_location="B2-14",
        metadata={"donor": "Ada", "reel": "3"},
    )
    tape_create(
        actor=archivist, institution=institution, identifier="VHS-2", metadata={"donor": "Bo"}
    )
    exported = _export(institution)
    assert exported.startswith("\ufeff")
    header = next(csv.reader(io.StringIO(exported.lstrip("\ufeff"))))
    assert header[-2:] == ["meta:donor", "meta:reel"]

    report = tapes_import_csv(
        actor=outsider, institution=other_institution, file=io.BytesIO(exported.encode("utf-8"))
    )
    assert report.ok, report.errors
    assert (report.created, report.updated, report.collections_created) == (2, 0, ["Festival"])
    fields = [f for f in Tape.FIELDS if f != "collection"]
    original = Tape.objects.get(institution=institution, identifier="UM-1")
    copy = Tape.objects.get(institution=other_institution, identifier="UM-1")
    assert [getattr(copy, f) for f in fields] == [getattr(original, f) for f in fields]
    assert copy.collection.name == "Festival" and copy.collection.institution == other_institution
    assert {m.key: m.value for m in copy.metadata.all()} == {"donor": "Ada", "reel": "3"}
    # The re-exported file is the same text, byte for byte.
    assert _export(other_institution) == exported


def test_import_updates_known_identifiers_and_records_diffs(institution, archivist):
    tape_create(actor=archivist, institution=institution, identifier="T-1", title="Old")
    report = tapes_import_csv(
        actor=archivist,
        institution=institution,
        file=_csv([["identifier", "title", "meta:box"], ["T-1", "New", "7"], ["T-2", "Fresh", ""]]),
    )
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    event = AuditEvent.objects.get(action="tape.updated")
    assert event.changes == {"title": ["Old", "New"], "meta:box": [None, "7"]}
    again = tapes_import_csv(
        actor=archivist,
        institution=institution,
        file=_csv([["identifier", "title"], ["T-1", "New"]]),
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_import_reports_every_bad_row_and_writes_nothing(institution, archivist):
    tape_create(actor=archivist, institution=institution, identifier="KEEP", title="Untouched")
    rows = [
        [
            "identifier",
            "title",
            "carrier_format",
            "video_standard",
            "recording_date",
            "duration",
            "collection",
        ],
        ["OK-1", "Fine", "VHS", "PAL", "1980s", "0:30:00", "New collection"],
        ["BAD-FORMAT", "", "Laserdisc", "", "", "", ""],
        ["", "No identifier", "", "", "", "", ""],
        ["BAD-DATE", "", "vhs", "pal", "next tuesday", "", ""],
        ["BAD-DURATION", "", "", "", "", "ninety minutes", ""],
        ["BAD-BOTH", "", "Laserdisc", "", "yesterday", "", ""],
        ["OK-1", "Repeated", "", "", "", "", ""],
        ["KEEP", "Changed", "", "", "", "", ""],
    ]
    report = tapes_import_csv(actor=archivist, institution=institution, file=_csv(rows))
    assert not report.ok
    by_line = {error.line: " ".join(error.messages) for error in report.errors}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8]
    assert "Laserdisc" in by_line[3] and "U-matic" in by_line[3]
    assert "identifier is empty" in by_line[4]
    assert "recording_date" in by_line[5]
    assert "H:MM:SS" in by_line[6]
    # Every problem of a row is listed at once, not only the first one.
    assert "Laserdisc" in by_line[7] and "recording_date" in by_line[7]
    assert "repeats line 2" in by_line[8]
    assert list(Tape.objects.values_list("identifier", "title")) == [("KEEP", "Untouched")]
    assert not Collection.objects.exists()
    assert AuditEvent.objects.count() == 1  # only the creation of KEEP


def test_import_refuses_unknown_columns_and_non_utf8(institution, archivist):
    report = tapes_import_csv(
        actor=archivist,
        institution=institution,
        file=_csv([["identifier", "colour"], ["T-1", "red"]]),
    )
    assert "Unknown columns: colour" in report.errors[0].messages[0]
    report = tapes_import_csv(
        actor=archivist,
        institution=institution,
        file=io.BytesIO("identifier,title\nT-1,Caf\xe9\n".encode("latin-1")),
    )
    assert "UTF-8" in report.errors[0].messages[0]
    assert not Tape.objects.exists()
