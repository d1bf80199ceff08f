import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.catalog.models import Collection, Tape
from portal.catalog.services import collection_create, tape_create


@pytest.fixture
def tape(institution, archivist):
    return tape_create(
        actor=archivist,
        institution=institution,
        identifier="VHS-001",
        title="Festival",
        metadata={"donor": "Ada"},
    )


@pytest.fixture
def collection(institution, archivist):
    return collection_create(actor=archivist, institution=institution, name="Donation 1990")


def _object_urls(tape, collection):
    return [
        ("get", reverse("catalog:tape_detail", args=[tape.pk])),
        ("get", reverse("catalog:tape_edit", args=[tape.pk])),
        ("post", reverse("catalog:tape_edit", args=[tape.pk])),
        ("get", reverse("catalog:tape_history", args=[tape.pk])),
        ("post", reverse("catalog:tape_delete", args=[tape.pk])),
        ("get", reverse("catalog:collection_edit", args=[collection.pk])),
        ("post", reverse("catalog:collection_edit", args=[collection.pk])),
        ("post", reverse("catalog:collection_delete", args=[collection.pk])),
    ]


def test_outsider_gets_404_on_every_object_page(outsider_client, tape, collection):
    for method, url in _object_urls(tape, collection):
        response = getattr(outsider_client, method)(url, {"identifier": "HACKED", "name": "HACKED"})
        assert response.status_code == 404, (method, url)
    assert Tape.objects.get(pk=tape.pk).identifier == "VHS-001"
    assert Collection.objects.get(pk=collection.pk).name == "Donation 1990"


def test_outsider_lists_and_export_show_nothing_of_ours(outsider_client, tape, collection):
    for name in ("catalog:tape_list", "catalog:collection_list"):
        response = outsider_client.get(reverse(name))
        assert response.status_code == 200
        assert b"VHS-001" not in response.content and b"Donation 1990" not in response.content
    exported = b"".join(outsider_client.get(reverse("catalog:tape_export")).streaming_content)
    assert b"VHS-001" not in exported


def test_anonymous_is_sent_to_login(client, tape):
    response = client.get(reverse("catalog:tape_detail", args=[tape.pk]))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_create_edit_and_delete_a_tape_through_the_pages(archivist_client, collection):
    response = archivist_client.post(
        reverse("catalog:tape_create"),
        {
            "identifier": "UM-7",
            "title": "Strike",
            "collection": collection.pk,
            "carrier_format": "u-matic",
            "video_standard": "pal",
            "recording_date": "1970s",
            "duration": "0:20:00",
            "condition": "fair",
            "metadata": "donor: Union\nreel: 2",
        },
    )
    tape = Tape.objects.get(identifier="UM-7")
    assert response.status_code == 302 and response.url == reverse(
        "catalog:tape_detail", args=[tape.pk]
    )
    assert {m.key: m.value for m in tape.metadata.all()} == {"donor": "Union", "reel": "2"}
    page = archivist_client.get(response.url)
    assert b"Strike" in page.content and b"Union" in page.content and b"Captures" in page.content

    response = archivist_client.post(
        reverse("catalog:tape_edit", args=[tape.pk]),
        {
            "identifier": "UM-7",
            "title": "Dock strike",
            "collection": collection.pk,
            "carrier_format": "u-matic",
            "video_standard": "pal",
            "recording_date": "1970s",
            "duration": "0:20:00",
            "condition": "fair",
            "metadata": "donor: Union",
        },
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="tape.updated")
    assert event.changes == {"title": ["Strike", "Dock strike"], "meta:reel": ["2", None]}
    history = archivist_client.get(reverse("catalog:tape_history", args=[tape.pk]))
    assert b"Dock strike" in history.content and b"tape.created" in history.content

    response = archivist_client.post(reverse("catalog:tape_delete", args=[tape.pk]))
    assert response.status_code == 302 and not Tape.objects.filter(pk=tape.pk).exists()


def test_create_and_rename_a_collection_through_the_pages(archivist_client):
    response = archivist_client.post(
        reverse("catalog:collection_create"), {"name": "Union films", "description": ""}
    )
    collection = Collection.objects.get(name="Union films")
    assert response.status_code == 302 and response.url == reverse("catalog:collection_list")
    page = archivist_client.get(response.url)
    assert "Collection Union films created." in page.content.decode()

    response = archivist_client.post(
        reverse("catalog:collection_edit", args=[collection.pk]),
        {"name": "Union films 1970s", "description": "Donated 1990"},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="collection.updated")
    assert event.changes["name"] == ["Union films", "Union films 1970s"]
    page = archivist_client.get(response.url)
    assert "Collection Union films 1970s saved." in page.content.decode()


def test_form_errors_are_shown_and_nothing_is_saved(archivist_client, tape):
    response = archivist_client.post(
        reverse("catalog:tape_create"),
        {
            "identifier": "VHS-001",
            "carrier_format": "vhs",
            "condition": "unknown",
            "recording_date": "someday",
            "metadata": "no colon here",
        },
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "recording date" in content and "key: value" in content
    assert "already exists" in content
    assert Tape.objects.count() == 1


def test_list_search_filter_and_sort(archivist_client, institution, archivist, collection):
    tape_create(
        actor=archivist,
        institution=institution,
        identifier="A-1",
        title="Harbour",
        collection=collection,
        carrier_format="vhs",
    )
    tape_create(
        actor=archivist,
        institution=institution,
        identifier="B-1",
        title="Fields",
        carrier_format="hi8",
        metadata={"place": "harbour road"},
    )
    tape_create(actor=archivist, institution=institution, identifier="C-1", title="Town")
    url = reverse("catalog:tape_list")

    def listed(**params):
        content = archivist_client.get(url, params).content.decode()
        return [i for i in ("A-1", "B-1", "C-1") if f">{i}<" in content]

    assert listed(q="harbour") == ["A-1", "B-1"]
    assert listed(collection=collection.pk) == ["A-1"]
    assert listed(format="hi8") == ["B-1"]
    assert listed(has_captures="no") == ["A-1", "B-1", "C-1"]
    content = archivist_client.get(url, {"sort": "-identifier"}).content.decode()
    assert content.index(">C-1<") < content.index(">A-1<")


def test_list_query_count_does_not_grow_with_page_size(
    archivist_client, institution, archivist, collection
):
    for index in range(120):
        tape_create(
            actor=None,
            institution=institution,
            identifier=f"T-{index:03d}",
            collection=collection if index % 2 else None,
        )
    counts = {}
    for per_page in (25, 100):
        with CaptureQueriesContext(connection) as queries:
            response = archivist_client.get(reverse("catalog:tape_list"), {"per_page": per_page})
        assert response.status_code == 200
        assert response.content.count(b'href="/tapes/') >= per_page
        # The page's own queries; the cached fragments' reads and writes (the database cache
        # here, Redis in production) are a fixed few per page (portal.cache).
        counts[per_page] = len(
            [
                q
                for q in queries.captured_queries
                if "portal_cache" not in q["sql"] and "SAVEPOINT" not in q["sql"]
            ]
        )
    assert counts[25] == counts[100], counts
    assert counts[25] <= 8, counts


def test_csv_import_page_shows_row_errors(archivist_client):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [["identifier", "carrier_format"], ["X-1", "vhs"], ["X-2", "Laserdisc"]]
    )
    upload = io.BytesIO(buffer.getvalue().encode())
    upload.name = "tapes.csv"
    response = archivist_client.post(reverse("catalog:tape_import"), {"file": upload})
    assert response.status_code == 200
    assert b"Nothing was imported" in response.content and b"Laserdisc" in response.content
    assert b"1 row with errors" in response.content
    assert not Tape.objects.exists()
    # A file that cannot be read at all is not reported as "1 row with errors".
    upload = io.BytesIO("identifier\nCaf\xe9\n".encode("latin-1"))
    upload.name = "tapes.csv"
    response = archivist_client.post(reverse("catalog:tape_import"), {"file": upload})
    assert b"the file was refused" in response.content and b"UTF-8" in response.content
    assert b"row with errors" not in response.content
    upload = io.BytesIO(b"identifier,title\nX-1,Fine\n")
    upload.name = "tapes.csv"
    response = archivist_client.post(reverse("catalog:tape_import"), {"file": upload})
    assert response.status_code == 302
    assert Tape.objects.get().title == "Fine"


def test_collection_pages(archivist_client, institution):
    response = archivist_client.post(reverse("catalog:collection_create"), {"name": "Series A"})
    assert response.status_code == 302
    collection = Collection.objects.get(institution=institution)
    archivist_client.post(
        reverse("catalog:collection_edit", args=[collection.pk]),
        {"name": "Series B", "description": "x"},
    )
    assert Collection.objects.get().name == "Series B"
    assert b"Series B" in archivist_client.get(reverse("catalog:collection_list")).content
    archivist_client.post(reverse("catalog:collection_delete", args=[collection.pk]))
    assert not Collection.objects.exists()
    assert [e.action for e in AuditEvent.objects.order_by("id")] == [
        "collection.created",
        "collection.updated",
        "collection.deleted",
    ]


def test_tape_with_captures_is_counted_filtered_and_not_deleted(
    archivist_client, institution, archivist, tape, video_factory
):
    from django.core.files import File

    from portal.captures.services import capture_create

    tape_create(actor=archivist, institution=institution, identifier="EMPTY-1")
    with open(video_factory("master.mkv"), "rb") as handle:
        capture_create(tape=tape, upload=File(handle, name="master.mkv"), actor=archivist)
    content = archivist_client.get(
        reverse("catalog:tape_list"), {"has_captures": "yes"}
    ).content.decode()
    assert ">VHS-001<" in content and ">EMPTY-1<" not in content
    assert '<td class="num" data-label="Captures">1</td>' in content
    content = archivist_client.get(
        reverse("catalog:tape_list"), {"has_captures": "no"}
    ).content.decode()
    assert ">VHS-001<" not in content and ">EMPTY-1<" in content
    response = archivist_client.post(reverse("catalog:tape_delete", args=[tape.pk]), follow=True)
    assert b"delete them first" in response.content
    assert b"a manager can" in response.content  # archivists cannot delete captures themselves
    assert Tape.objects.filter(pk=tape.pk).exists()


def test_csv_import_never_creates_a_collection_without_being_asked(archivist_client, institution):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal.catalog.models import Collection, Tape

    def upload(**extra):
        data = b"identifier,collection\nT-1,Festivl\n"
        return archivist_client.post(
            reverse("catalog:tape_import"),
            {"file": SimpleUploadedFile("t.csv", data, content_type="text/csv"), **extra},
        )

    refused = upload().content.decode()
    assert "does not exist" in refused and "Festivl" in refused
    assert not Collection.objects.exists() and not Tape.objects.exists()
    done = upload(create_collections="on")
    assert done.status_code == 302
    assert Collection.objects.get().name == "Festivl" and Tape.objects.get().identifier == "T-1"


def test_tape_bulk_goes_back_to_the_list_it_came_from_never_to_another_site(
    archivist_client, tape, collection
):
    came_from = reverse("catalog:tape_list") + "?q=Festival"
    response = archivist_client.post(
        reverse("catalog:tape_bulk"),
        {
            "tape": [tape.pk, "x", ""],
            "action": "collection",
            "collection": collection.pk,
            "next": came_from,
        },
    )
    assert response.status_code == 302 and response.url == came_from
    tape.refresh_from_db()
    assert tape.collection == collection
    page = archivist_client.get(came_from).content.decode()
    assert "1 tape added to Donation 1990." in page
    response = archivist_client.post(
        reverse("catalog:tape_bulk"),
        {"tape": [tape.pk], "action": "nothing", "next": "https://elsewhere.example/"},
    )
    assert response.url == reverse("catalog:tape_list")


def test_selected_ids_keeps_whole_numbers_up_to_the_limit():
    from portal.selection import selected_ids

    assert selected_ids(["3", "x", "-1", "", "7", "9"], limit=2) == [3, 7]
