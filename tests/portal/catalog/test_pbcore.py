"""PBCore 2.1 XML: a tape (physical instantiation) with its captures (digital instantiations,
essence tracks, SHA-256) exported per tape and per collection, and imported back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from portal.captures.services import capture_create
from portal.catalog.models import Collection, Tape, TapeMetadata
from portal.catalog.pbcore import NS, rows_from_pbcore, tape_xml
from tests.personas import api_token

pytestmark = pytest.mark.django_db
P = f"{{{NS}}}"


@pytest.fixture
def api(archivist: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token(archivist)}")
    return client


@pytest.fixture
def tape(institution: Any) -> Tape:
    collection = Collection.objects.create(institution=institution, name="Meier donation")
    tape = Tape.objects.create(
        institution=institution,
        collection=collection,
        identifier="VHS-042",
        title="Carnival parade",
        carrier_format="u-matic",
        video_standard="pal",
        recording_date="c. 1975",
        duration=dt.timedelta(minutes=62, seconds=5),
        condition="fair",
        condition_notes="Mould on the edge",
        description="Street parade, colour.",
        subjects="carnival; parades",
        language="de",
        rights_statement="© Anna Meier",
        shelf_location="Shelf 12/3",
    )
    TapeMetadata.objects.create(tape=tape, key="donor", value="Anna Meier")
    return tape


def test_tape_exports_physical_and_digital_instantiations(
    tape: Tape, archivist: Any, video_factory: Callable[..., Path]
) -> None:
    video = video_factory("cap.mkv", frames=6, audio=True)
    capture = capture_create(
        tape=tape, upload=SimpleUploadedFile("cap.mkv", video.read_bytes()), actor=archivist
    )
    root = ET.fromstring(tape_xml(tape))
    assert root.tag == f"{P}pbcoreDescriptionDocument"
    assert root.find(f"{P}pbcoreAssetDate").text == "1975~"
    instantiations = root.findall(f"{P}pbcoreInstantiation")
    physical, digital = instantiations
    assert physical.find(f"{P}instantiationPhysical").text == "U-matic"
    assert physical.find(f"{P}instantiationStandard").text == "PAL"
    assert physical.find(f"{P}instantiationDuration").text == "01:02:05"
    checksums = [
        element.text
        for element in digital.findall(f"{P}instantiationIdentifier")
        if element.get("source") == "SHA-256"
    ]
    assert checksums == [capture.sha256]
    tracks = digital.findall(f"{P}instantiationEssenceTrack")
    assert [t.find(f"{P}essenceTrackType").text for t in tracks] == ["Video", "Audio"]
    assert tracks[0].find(f"{P}essenceTrackFrameSize").text == f"{capture.width}x{capture.height}"


def test_pbcore_round_trips_a_tape(tape: Tape, api: APIClient, institution: Any) -> None:
    exported = api.get(f"/api/v1/tapes/{tape.pk}/pbcore/")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("application/xml")
    fields = {name: getattr(tape, name) for name in Tape.FIELDS if name != "collection"}
    Tape.objects.filter(pk=tape.pk).delete()
    imported = api.generic(
        "POST", "/api/v1/tapes/pbcore-import/", exported.content, content_type="application/xml"
    )
    assert imported.status_code == 200, imported.content
    assert imported.json()["created"] == 1
    again = Tape.objects.get(institution=institution, identifier="VHS-042")
    assert {name: getattr(again, name) for name in fields} == {
        **fields,
        "recording_date": "1975~",  # exported in EDTF, the same range
    }
    assert (again.date_start, again.date_end) == (dt.date(1975, 1, 1), dt.date(1975, 12, 31))
    assert again.collection.name == "Meier donation"
    assert {m.key: m.value for m in again.metadata.all()} == {"donor": "Anna Meier"}


def test_collection_export_and_bad_xml(tape: Tape, api: APIClient) -> None:
    response = api.get(f"/api/v1/collections/{tape.collection_id}/pbcore/")
    root = ET.fromstring(response.content)
    assert root.tag == f"{P}pbcoreCollection"
    assert len(root.findall(f"{P}pbcoreDescriptionDocument")) == 1
    _header, rows = rows_from_pbcore(response.content)
    assert rows[0][1]["identifier"] == "VHS-042"
    refused = api.generic(
        "POST", "/api/v1/tapes/pbcore-import/", b"<not-pbcore/>", content_type="application/xml"
    )
    assert refused.status_code == 400 and "PBCore" in refused.json()["error"]["message"]
