"""Harvest the OAI-PMH provider end to end: every verb, a resumption token, both formats,
sets, the protocol's errors; only public tapes are records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.test import Client

from portal.catalog.models import Collection, Tape
from portal.catalog.pbcore import NS as PBCORE
from portal.oai.provider import DC, OAI, OAI_DC

pytestmark = pytest.mark.django_db
O = f"{{{OAI}}}"


def harvest(client: Client, **params: str) -> ET.Element:
    response = client.get("/oai/", params)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{O}OAI-PMH" and root.find(f"{O}responseDate") is not None
    return root


def error_code(root: ET.Element) -> str | None:
    error = root.find(f"{O}error")
    return error.get("code") if error is not None else None


@pytest.fixture
def repository(
    institution: Any,
    other_institution: Any,
    outsider: Any,
    publish: Callable[..., Tape],
    settings: Any,
) -> dict[str, Any]:
    settings.OAI_PAGE_SIZE = 2
    institution.public_access = True
    institution.save()
    collection = Collection.objects.create(institution=institution, name="Parades")
    tapes = [
        publish(institution, collection, recording_date="c. 1975", subjects="carnival"),
        publish(institution, collection),
        publish(institution),
    ]
    Tape.objects.create(institution=institution, identifier="NOT-PUBLISHED")
    publish(
        other_institution, actor=outsider
    )  # its institution does not show publications to the public
    return {"tapes": tapes, "collection": collection}


def test_harvest_all_verbs_with_a_resumption_token(client: Client, repository: Any) -> None:
    identify = harvest(client, verb="Identify").find(f"{O}Identify")
    assert identify.find(f"{O}protocolVersion").text == "2.0"
    assert identify.find(f"{O}baseURL").text.endswith("/oai/")

    formats = harvest(client, verb="ListMetadataFormats")
    prefixes = {e.text for e in formats.iter(f"{O}metadataPrefix")}
    assert prefixes == {"oai_dc", "pbcore"}

    sets = harvest(client, verb="ListSets")
    assert [e.text for e in sets.iter(f"{O}setSpec")] == [
        f"collection:{repository['collection'].pk}"
    ]

    # ListRecords in two pages (page size 2, three public tapes)
    first = harvest(client, verb="ListRecords", metadataPrefix="oai_dc")
    records = first.findall(f"{O}ListRecords/{O}record")
    token = first.find(f"{O}ListRecords/{O}resumptionToken")
    assert len(records) == 2 and token.get("completeListSize") == "3" and token.text
    second = harvest(client, verb="ListRecords", resumptionToken=token.text)
    records += second.findall(f"{O}ListRecords/{O}record")
    last_token = second.find(f"{O}ListRecords/{O}resumptionToken")
    assert last_token is not None and not last_token.text  # the list is complete
    titles = [r.find(f".//{{{DC}}}title").text for r in records]
    assert sorted(titles) == sorted(t.title for t in repository["tapes"])
    dc = records[0].find(f"{O}metadata/{{{OAI_DC}}}dc")
    assert dc.find(f"{{{DC}}}date").text == "1975~"  # EDTF

    identifiers = harvest(
        client,
        verb="ListIdentifiers",
        metadataPrefix="pbcore",
        set=sets.find(f".//{O}setSpec").text,
    )
    headers = identifiers.findall(f"{O}ListIdentifiers/{O}header")
    assert len(headers) == 2
    record = harvest(
        client,
        verb="GetRecord",
        identifier=headers[0].find(f"{O}identifier").text,
        metadataPrefix="pbcore",
    )
    document = record.find(f".//{{{PBCORE}}}pbcoreDescriptionDocument")
    generations = [e.text for e in document.iter(f"{{{PBCORE}}}instantiationGenerations")]
    assert generations == ["Original", "Preservation capture", "Restored master", "Access copy"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"verb": "Dance"}, "badVerb"),
        ({}, "badVerb"),
        ({"verb": "ListRecords"}, "badArgument"),
        ({"verb": "Identify", "extra": "1"}, "badArgument"),
        ({"verb": "ListRecords", "metadataPrefix": "marc21"}, "cannotDisseminateFormat"),
        ({"verb": "ListRecords", "resumptionToken": "garbage"}, "badResumptionToken"),
        (
            {"verb": "GetRecord", "identifier": "oai:x:tape:1", "metadataPrefix": "oai_dc"},
            "idDoesNotExist",
        ),
        (
            {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2999-01-01"},
            "noRecordsMatch",
        ),
        ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "yesterday"}, "badArgument"),
    ],
)
def test_protocol_errors(
    client: Client, repository: Any, params: dict[str, str], code: str
) -> None:
    assert error_code(harvest(client, **params)) == code


def test_unpublished_and_private_tapes_are_not_records(client: Client, repository: Any) -> None:
    hidden = Tape.objects.get(identifier="NOT-PUBLISHED")
    root = harvest(
        client,
        verb="GetRecord",
        identifier=f"oai:tape-archive.example.org:tape:{hidden.pk}",
        metadataPrefix="oai_dc",
    )
    assert error_code(root) == "idDoesNotExist"


def test_withdrawn_tape_is_a_deleted_record(client: Client, repository: Any, manager: Any) -> None:
    from restoration import services

    tape = repository["tapes"][0]
    identifier = f"oai:tape-archive.example.org:tape:{tape.pk}"
    identify = harvest(client, verb="Identify").find(f"{O}Identify")
    assert identify.find(f"{O}deletedRecord").text == "transient"
    before = harvest(client, verb="GetRecord", identifier=identifier, metadataPrefix="oai_dc")
    stamp_before = before.find(f".//{O}header/{O}datestamp").text

    services.tape_unpublish(actor=manager, tape=tape)
    record = harvest(client, verb="GetRecord", identifier=identifier, metadataPrefix="oai_dc")
    header = record.find(f"{O}GetRecord/{O}record/{O}header")
    assert header.get("status") == "deleted"
    assert record.find(f"{O}GetRecord/{O}record/{O}metadata") is None
    assert header.find(f"{O}datestamp").text >= stamp_before
    listed = harvest(
        client,
        verb="ListIdentifiers",
        metadataPrefix="oai_dc",
        set=(f"collection:{repository['collection'].pk}"),
    )
    statuses = {h.find(f"{O}identifier").text: h.get("status") for h in listed.iter(f"{O}header")}
    assert statuses[identifier] == "deleted" and list(statuses.values()).count(None) == 1


def test_incremental_harvest_sees_a_publication_of_an_old_tape(
    client: Client, repository: Any, institution: Any, manager: Any
) -> None:
    """A tape edited long ago and published today is new to a harvester that asks `from`
    yesterday: the datestamp is the publication, not the last edit."""
    import datetime as dt

    from django.utils import timezone

    tape = repository["tapes"][2]
    long_ago = timezone.now() - dt.timedelta(days=400)
    Tape.objects.filter(pk=tape.pk).update(updated_at=long_ago)
    yesterday = (timezone.now() - dt.timedelta(days=1)).date().isoformat()
    root = harvest(client, verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": yesterday})
    identifiers = {e.text for e in root.iter(f"{O}identifier")}
    token = root.find(f"{O}ListIdentifiers/{O}resumptionToken")
    while token is not None and token.text:  # page size 2: follow the tokens
        page = harvest(client, verb="ListIdentifiers", resumptionToken=token.text)
        identifiers |= {e.text for e in page.iter(f"{O}identifier")}
        token = page.find(f"{O}ListIdentifiers/{O}resumptionToken")
    assert f"oai:tape-archive.example.org:tape:{tape.pk}" in identifiers
    old = (long_ago - dt.timedelta(days=1)).date().isoformat()
    until_then = harvest(client, verb="ListIdentifiers", metadataPrefix="oai_dc", until=old)
    assert error_code(until_then) == "noRecordsMatch"
