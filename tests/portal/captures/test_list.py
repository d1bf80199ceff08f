"""The captures list, its CSV export and its bulk actions: only the institution's own captures,
filters shared by the list and the export, a selection of someone else's ids refused."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from portal.catalog.models import Collection, Tape

pytestmark = pytest.mark.django_db


def export_rows(response: Any) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_list_and_export_show_only_own_captures_with_the_same_filters(
    archivist_client: Client, make_capture: Any, tape: Tape, other_tape: Tape, outsider: Any
) -> None:
    mine = make_capture(tape, name="holiday.mkv")
    other = Tape.objects.create(institution=tape.institution, identifier="BETA-1", title="=cmd")
    make_capture(other, name="beta.mkv")
    make_capture(other_tape, actor=outsider, name="theirs.mkv")
    page = archivist_client.get(reverse("captures:list"))
    assert page.status_code == 200
    assert b"holiday.mkv" in page.content and b"beta.mkv" in page.content
    assert b"theirs.mkv" not in page.content
    filtered = archivist_client.get(reverse("captures:list"), {"q": "holiday"})
    assert b"beta.mkv" not in filtered.content and b"1 found" in filtered.content
    exported = export_rows(archivist_client.get(reverse("captures:export"), {"q": "holiday"}))
    assert [row["file"] for row in exported] == ["holiday.mkv"]
    assert exported[0]["sha256"] == mine.sha256 and exported[0]["tape"] == "VHS-001"
    everything = export_rows(archivist_client.get(reverse("captures:export")))
    assert {row["file"] for row in everything} == {"holiday.mkv", "beta.mkv"}
    assert {row["tape_title"] for row in everything} == {"Holiday 1984", "'=cmd"}  # escaped


def test_bulk_refuses_another_institutions_captures_and_adds_tapes_to_a_collection(
    archivist_client: Client, make_capture: Any, tape: Tape, other_tape: Tape, outsider: Any
) -> None:
    theirs = make_capture(other_tape, actor=outsider)
    refused = archivist_client.post(
        reverse("captures:bulk"), {"capture": [theirs.pk], "action": "export"}, follow=True
    )
    assert "Select at least one capture first" in refused.content.decode()
    mine = make_capture(tape)
    shelf = Collection.objects.create(institution=tape.institution, name="Shelf 2")
    archivist_client.post(
        reverse("captures:bulk"),
        {"capture": [mine.pk, theirs.pk], "action": "collection", "collection": shelf.pk},
    )
    assert list(Tape.objects.filter(collection=shelf)) == [tape]
    other_tape.refresh_from_db()
    assert other_tape.collection_id is None
    restore = archivist_client.post(
        reverse("captures:bulk"), {"capture": [mine.pk, theirs.pk], "action": "restore"}
    )
    assert restore.status_code == 302
    assert restore["Location"].endswith(f"?capture={mine.pk}")


def test_tape_list_filters_published_tapes(archivist_client: Client, tape: Tape) -> None:
    Tape.objects.create(institution=tape.institution, identifier="NEVER-1")
    response = archivist_client.get(reverse("catalog:tape_list"), {"published": "yes"})
    assert b"0 found" in response.content
    response = archivist_client.get(reverse("catalog:tape_list"), {"published": "no"})
    assert b"2 found" in response.content
