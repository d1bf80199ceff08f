"""Cached fragments of the hot pages (portal.cache): a change shows at once, whichever way it
was made, and one institution's cached rows never reach another."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from portal.cache import institution_generation
from portal.catalog import services
from portal.catalog.models import Collection, Tape
from tests.personas import api_token

# Real commits: the generation is replaced when a change commits, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tapes(institution: Any) -> list[Tape]:
    return [
        Tape.objects.create(institution=institution, identifier=f"T-{n:03d}", title=f"Reel {n}")
        for n in range(30)
    ]


def _api(user: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token(user)}")


def test_second_catalog_page_view_reads_no_tapes(archivist_client: Client, tapes: Any) -> None:
    from django.db import connection

    first = archivist_client.get("/tapes/")
    with CaptureQueriesContext(connection) as queries:
        second = archivist_client.get("/tapes/")
    assert (
        first.content.split(b'name="csrfmiddlewaretoken"')[0]
        == second.content.split(b'name="csrfmiddlewaretoken"')[0]
    )
    assert b"T-000" in second.content and b"30 found" in second.content
    assert not [q for q in queries.captured_queries if '"catalog_tape"' in q["sql"]]


def test_catalog_list_shows_a_change_made_through_the_service(
    archivist: Any, archivist_client: Client, tapes: list[Tape]
) -> None:
    assert b"Reel 0<" in archivist_client.get("/tapes/").content
    services.tape_update(actor=archivist, tape=tapes[0], title="Renamed reel")
    page = archivist_client.get("/tapes/").content
    assert b"Renamed reel" in page and b"Reel 0<" not in page


def test_catalog_list_shows_rows_saved_behind_the_services(
    archivist_client: Client, institution: Any, tapes: list[Tape]
) -> None:
    assert b"30 found" in archivist_client.get("/tapes/").content
    Tape.objects.create(institution=institution, identifier="A-NEW", title="Straight to the ORM")
    Collection.objects.create(institution=institution, name="Fresh collection")
    page = archivist_client.get("/tapes/").content
    assert b"31 found" in page and b"A-NEW" in page and b"Fresh collection" in page


def test_api_list_shows_a_change_and_keeps_its_pagination(
    archivist: Any, tapes: list[Tape]
) -> None:
    client = _api(archivist)
    first = client.get("/api/v1/tapes/?page_size=10&page=2").json()
    again = client.get("/api/v1/tapes/?page_size=10&page=2").json()
    assert again == first and first["count"] == 30
    assert "page=3" in first["next"] and "page_size=10" in first["previous"]
    services.tape_update(actor=archivist, tape=tapes[10], title="Changed through the service")
    after = client.get("/api/v1/tapes/?page_size=10&page=2").json()
    assert after["results"][0]["title"] == "Changed through the service"


def test_one_institution_never_gets_another_institutions_cached_rows(
    archivist: Any, outsider: Any, institution: Any, other_institution: Any, tapes: Any
) -> None:
    Tape.objects.create(institution=other_institution, identifier="THEIRS-1", title="Theirs")
    mine, theirs = _api(archivist), _api(outsider)
    assert mine.get("/api/v1/tapes/").json()["count"] == 30
    body = theirs.get("/api/v1/tapes/").json()
    assert body["count"] == 1 and body["results"][0]["identifier"] == "THEIRS-1"
    outsider_client = Client()
    outsider_client.force_login(outsider)
    Client().force_login(archivist)
    page = outsider_client.get("/tapes/").content
    assert b"THEIRS-1" in page and b"T-000" not in page


def test_a_refused_query_is_not_cached(archivist: Any, tapes: Any) -> None:
    client = _api(archivist)
    assert client.get("/api/v1/tapes/?bogus=1").status_code == 400
    assert client.get("/api/v1/tapes/?bogus=1").status_code == 400


def test_generation_changes_with_every_audited_change(archivist: Any, tapes: list[Tape]) -> None:
    before = institution_generation(tapes[0].institution_id)
    assert institution_generation(tapes[0].institution_id) == before
    services.tape_update(actor=archivist, tape=tapes[0], title="Another title")
    assert institution_generation(tapes[0].institution_id) != before


def test_a_transaction_of_many_changes_replaces_the_generation_once(
    archivist: Any, tapes: list[Tape], monkeypatch: pytest.MonkeyPatch
) -> None:
    import portal.cache

    institution_id = tapes[0].institution_id
    committed = institution_generation(institution_id)
    replaced: list[int] = []
    real = portal.cache._replace_generation
    monkeypatch.setattr(
        portal.cache, "_replace_generation", lambda i: (replaced.append(i), real(i))
    )
    with transaction.atomic():  # a CSV import, say
        for tape in tapes[:20]:
            services.tape_update(actor=archivist, tape=tape, title=f"Imported {tape.pk}")
        # This thread sees its own uncommitted changes: nothing cached applies to it.
        assert institution_generation(institution_id) != committed
        assert replaced == []
    assert replaced == [institution_id]
    assert institution_generation(institution_id) != committed


def test_a_rolled_back_transaction_leaves_no_trace(archivist: Any, tapes: list[Tape]) -> None:
    institution_id = tapes[0].institution_id
    committed = institution_generation(institution_id)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.tape_update(actor=archivist, tape=tapes[0], title="Never saved")
        raise RuntimeError
    assert institution_generation(institution_id) == committed
    with transaction.atomic():  # the next transaction's change is still invalidated
        services.tape_update(actor=archivist, tape=tapes[1], title="Saved")
    assert institution_generation(institution_id) != committed
