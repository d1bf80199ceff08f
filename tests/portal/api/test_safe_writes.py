"""Managed tokens (scopes, expiry, revocation), ETag/If-Match, Idempotency-Key, bulk tapes,
strict filters and the CSV export through the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from portal.api.models import ApiToken
from portal.api.tokens import hash_secret, token_create, token_revoke_all_for_user
from portal.audit.models import AuditEvent
from portal.captures.models import Capture
from portal.catalog.models import Collection, Tape
from tests.personas import api_token

pytestmark = pytest.mark.django_db


def _client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def api(archivist: Any) -> APIClient:
    return _client(api_token(archivist))


@pytest.fixture
def tape(institution: Any) -> Tape:
    return Tape.objects.create(institution=institution, identifier="VHS-1", title="First")


def _code(response: Any) -> str:
    return response.json()["error"]["code"]


# --- tokens ---------------------------------------------------------------------------------


def test_token_is_stored_hashed_and_shown_once(api: APIClient, archivist: Any) -> None:
    created = api.post(
        "/api/v1/tokens/", {"name": "harvester", "scope": "read", "expires_in_days": 30}
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    token = ApiToken.objects.get(pk=created.json()["id"])
    assert token.key_hash == hash_secret(secret) and secret not in str(token.__dict__)
    listed = api.get("/api/v1/tokens/").json()["results"]
    assert {row["name"] for row in listed} >= {"harvester"}
    assert all("token" not in row for row in listed)
    assert _client(secret).get("/api/v1/tapes/").status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_read_only_token_cannot_write(archivist: Any) -> None:
    reader = _client(api_token(archivist, scope="read"))
    assert reader.get("/api/v1/tapes/").status_code == 200
    refused = reader.post("/api/v1/tapes/", {"identifier": "X-1"})
    assert refused.status_code == 403 and _code(refused) == "token_read_only"
    assert not Tape.objects.filter(identifier="X-1").exists()


def test_expired_and_revoked_tokens_are_refused(api: APIClient, archivist: Any) -> None:
    token, secret = token_create(
        user=archivist, name="soon", expires_at=timezone.now() + dt.timedelta(seconds=1)
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    expired = _client(secret).get("/api/v1/tapes/")
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
    token, secret = token_create(user=archivist, name="to revoke")
    assert api.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    assert _client(secret).get("/api/v1/tapes/").status_code == 401


def test_token_requests_with_bad_values_are_refused(api: APIClient, archivist: Any) -> None:
    before = ApiToken.objects.count()
    for body in (
        {"name": "x", "scope": "admin"},
        {"name": "x", "expires_in_days": 0},
        {"name": "x", "expires_in_days": 3651},
        {"name": "x", "expires_in_days": "soon"},
        {"name": ""},
        {"scope": "read"},
    ):
        refused = api.post("/api/v1/tokens/", body, format="json")
        assert refused.status_code == 400 and _code(refused) == "invalid", body
    assert ApiToken.objects.count() == before
    forever = api.post("/api/v1/tokens/", {"name": "n", "expires_in_days": None}, format="json")
    assert forever.status_code == 201 and forever.json()["expires_at"] is None
    default = api.post("/api/v1/tokens/", {"name": "d"}, format="json").json()
    assert default["scope"] == "read"  # least privilege unless asked
    expires = dt.datetime.fromisoformat(default["expires_at"])
    assert dt.timedelta(days=89) < expires - timezone.now() <= dt.timedelta(days=90)


def test_read_only_token_cannot_mint_or_revoke_tokens(archivist: Any) -> None:
    reader = _client(api_token(archivist, scope="read"))
    minted = reader.post("/api/v1/tokens/", {"name": "escalate", "scope": "read_write"})
    assert minted.status_code == 403 and _code(minted) == "token_read_only"
    assert not ApiToken.objects.filter(name="escalate").exists()
    other, _secret = token_create(user=archivist, name="other")
    assert reader.delete(f"/api/v1/tokens/{other.pk}/").status_code == 403
    assert ApiToken.objects.get(pk=other.pk).revoked_at is None
    assert reader.get("/api/v1/tokens/").status_code == 200


def test_token_of_a_disabled_account_stops_working(archivist: Any) -> None:
    client = _client(api_token(archivist))
    assert client.get("/api/v1/tapes/").status_code == 200
    archivist.is_active = False
    archivist.save(update_fields=["is_active"])
    refused = client.get("/api/v1/tapes/")
    assert refused.status_code == 401 and "disabled" in refused.json()["error"]["message"]


def test_revoke_all_for_user(archivist: Any) -> None:
    secrets = [api_token(archivist) for _ in range(3)]
    assert token_revoke_all_for_user(user=archivist) == 3
    assert all(_client(s).get("/api/v1/tapes/").status_code == 401 for s in secrets)


def test_tokens_of_others_are_invisible(api: APIClient, outsider: Any) -> None:
    theirs, _ = token_create(user=outsider, name="theirs")
    assert api.delete(f"/api/v1/tokens/{theirs.pk}/").status_code == 404
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None


# --- ETag / If-Match ------------------------------------------------------------------------


def test_stale_if_match_is_refused_and_writes_nothing(api: APIClient, tape: Tape) -> None:
    first = api.get(f"/api/v1/tapes/{tape.pk}/")
    etag = first["ETag"]
    assert api.get(f"/api/v1/tapes/{tape.pk}/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    changed = api.patch(f"/api/v1/tapes/{tape.pk}/", {"title": "Second"}, HTTP_IF_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    stale = api.patch(f"/api/v1/tapes/{tape.pk}/", {"title": "Third"}, HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and _code(stale) == "precondition_failed"
    assert Tape.objects.get(pk=tape.pk).title == "Second"
    gone = api.delete(f"/api/v1/tapes/{tape.pk}/", HTTP_IF_MATCH=etag)
    assert gone.status_code == 412 and Tape.objects.filter(pk=tape.pk).exists()
    deleted = api.delete(f"/api/v1/tapes/{tape.pk}/", HTTP_IF_MATCH=changed["ETag"])
    assert deleted.status_code == 204


def test_if_match_can_be_required(api: APIClient, tape: Tape, settings: Any) -> None:
    settings.API_REQUIRE_IF_MATCH = True
    response = api.patch(f"/api/v1/tapes/{tape.pk}/", {"title": "x"})
    assert response.status_code == 428 and _code(response) == "precondition_required"


# --- Idempotency-Key ------------------------------------------------------------------------


def test_idempotent_create_replays_the_first_result(api: APIClient, institution: Any) -> None:
    body = {"identifier": "IDEM-1", "title": "Once"}
    first = api.post("/api/v1/tapes/", body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/tapes/", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert Tape.objects.filter(identifier="IDEM-1").count() == 1
    conflict = api.post("/api/v1/tapes/", {"identifier": "IDEM-2"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert conflict.status_code == 422 and _code(conflict) == "idempotency_key_reused"
    assert not Tape.objects.filter(identifier="IDEM-2").exists()


def test_idempotency_key_is_scoped_per_user(api: APIClient, manager: Any, institution: Any) -> None:
    other = _client(api_token(manager))
    assert (
        api.post("/api/v1/tapes/", {"identifier": "A"}, HTTP_IDEMPOTENCY_KEY="same").status_code
        == 201
    )
    assert (
        other.post("/api/v1/tapes/", {"identifier": "B"}, HTTP_IDEMPOTENCY_KEY="same").status_code
        == 201
    )


def test_a_key_still_in_flight_answers_409_and_an_expired_key_is_new(
    api: APIClient, settings: Any
) -> None:
    from portal.api.models import IdempotencyRecord

    body = {"identifier": "FLIGHT-1"}
    assert api.post("/api/v1/tapes/", body, HTTP_IDEMPOTENCY_KEY="k-9").status_code == 201
    record = IdempotencyRecord.objects.get(key="k-9")
    record.status_code = None  # as while the first request is still being processed
    record.save(update_fields=["status_code"])
    busy = api.post("/api/v1/tapes/", body, HTTP_IDEMPOTENCY_KEY="k-9")
    assert busy.status_code == 409 and _code(busy) == "idempotency_in_progress"
    assert Tape.objects.filter(identifier="FLIGHT-1").count() == 1
    # After API_IDEMPOTENCY_HOURS the key is forgotten: the same request is a new create.
    record.created_at = timezone.now() - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS + 1)
    record.save(update_fields=["created_at"])
    again = api.post("/api/v1/tapes/", {"identifier": "FLIGHT-2"}, HTTP_IDEMPOTENCY_KEY="k-9")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    bad = api.post("/api/v1/tapes/", body, HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert bad.status_code == 400 and Tape.objects.filter(identifier="FLIGHT-1").count() == 1


def test_failed_request_does_not_consume_the_key(api: APIClient, tape: Tape) -> None:
    bad = api.post("/api/v1/tapes/", {"identifier": ""}, HTTP_IDEMPOTENCY_KEY="retry-me")
    assert bad.status_code == 400
    good = api.post("/api/v1/tapes/", {"identifier": "OK-1"}, HTTP_IDEMPOTENCY_KEY="retry-me")
    assert good.status_code == 201


def test_same_upload_twice_creates_one_capture(
    api: APIClient, tape: Tape, video_factory: Callable[..., Path]
) -> None:
    video = video_factory("twice.mkv", frames=6)
    responses = []
    for _ in range(2):
        with video.open("rb") as handle:
            responses.append(
                api.post(
                    "/api/v1/captures/",
                    {"tape": tape.pk, "file": handle},
                    format="multipart",
                    HTTP_IDEMPOTENCY_KEY="upload-1",
                )
            )
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert Capture.objects.filter(tape=tape).count() == 1


# --- bulk -----------------------------------------------------------------------------------


def test_bulk_json_creates_and_updates_all_or_nothing(
    api: APIClient, tape: Tape, institution: Any
) -> None:
    rows = [
        {"identifier": f"B-{n}", "title": f"Tape {n}", "collection": "Bulk", "metadata": {}}
        for n in range(20)
    ] + [{"identifier": "VHS-1", "title": "Renamed", "collection": "Bulk", "metadata": {}}]
    done = api.post("/api/v1/tapes/bulk/", rows, format="json")
    assert done.status_code == 200, done.content
    assert done.json() | {"collections_created": None} == {
        "created": 20,
        "updated": 1,
        "unchanged": 0,
        "collections_created": None,
    }
    assert Tape.objects.get(pk=tape.pk).title == "Renamed"
    bad = [
        {"identifier": "C-1", "recording_date": "someday", "carrier_format": "vhs"},
        {"identifier": "C-2", "recording_date": "1975", "carrier_format": "vhs"},
        {"identifier": "C-3", "recording_date": "1975", "carrier_format": "wax cylinder"},
    ]
    refused = api.post("/api/v1/tapes/bulk/", bad, format="json")
    assert refused.status_code == 400 and _code(refused) == "bulk_invalid"
    rows_with_errors = refused.json()["error"]["details"]["rows"]
    assert [row["row"] for row in rows_with_errors] == [1, 3]
    assert not Tape.objects.filter(identifier__startswith="C-").exists()


def test_bulk_csv_uses_the_import(api: APIClient, institution: Any) -> None:
    body = "identifier,title,carrier_format\nCSV-1,One,VHS\nCSV-2,Two,U-matic\n"
    done = api.generic("POST", "/api/v1/tapes/csv-import/", body.encode(), content_type="text/csv")
    assert done.status_code == 200 and done.json()["created"] == 2
    assert Tape.objects.get(identifier="CSV-2").carrier_format == "u-matic"
    # one body type per operation: bulk takes JSON, csv-import CSV
    wrong = api.generic("POST", "/api/v1/tapes/bulk/", body.encode(), content_type="text/csv")
    assert wrong.status_code == 415
    bad = "identifier,recording_date\nCSV-3,someday\n"
    refused = api.generic(
        "POST", "/api/v1/tapes/csv-import/", bad.encode(), content_type="text/csv"
    )
    assert refused.status_code == 400 and _code(refused) == "bulk_invalid"
    assert refused.json()["error"]["details"]["rows"][0]["row"] == 2  # the CSV line
    assert not Tape.objects.filter(identifier="CSV-3").exists()


def test_bulk_needs_a_write_token(archivist: Any) -> None:
    reader = _client(api_token(archivist, scope="read"))
    refused = reader.post("/api/v1/tapes/bulk/", [{"identifier": "R-1"}], format="json")
    assert refused.status_code == 403


def test_json_only_bodies(api: APIClient) -> None:
    response = api.post("/api/v1/tapes/", {"identifier": "F-1"}, format="multipart")
    assert response.status_code == 415


# --- filters --------------------------------------------------------------------------------


def test_unknown_filters_and_orderings_are_refused(api: APIClient, tape: Tape) -> None:
    assert api.get("/api/v1/tapes/", {"carrier": "vhs"}).status_code == 400
    assert api.get("/api/v1/tapes/", {"ordering": "shoe_size"}).status_code == 400
    assert api.get("/api/v1/tapes/", {"ordering": "-title"}).status_code == 200


def _list_operations(client: APIClient) -> dict[str, dict[str, Any]]:
    """GET operations that take query parameters (lists, the CSV export) or none at all
    (storage usage), from the schema itself: a new list is covered without editing this."""
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    found = {}
    for path, operations in paths.items():
        operation = operations.get("get")
        if operation is None or "{id}" in path or path == "/api/schema/":
            continue
        found[path] = {
            p["name"]: p["schema"] for p in operation.get("parameters", []) if p["in"] == "query"
        }
    return found


def test_every_list_refuses_unknown_parameters_orderings_and_values(
    manager: Any, tape: Tape
) -> None:
    client = _client(api_token(manager))
    operations = _list_operations(client)
    assert {"/api/v1/tapes/", "/api/v1/audit-events/", "/api/v1/tapes/export/"} <= set(operations)
    assert len(operations) >= 10
    for template, parameters in operations.items():
        path = template.replace("{tape_id}", str(tape.pk))
        assert client.get(path).status_code == 200, path
        unknown = client.get(path, {"no_such_filter": "1"})
        assert unknown.status_code == 400, path
        assert "no_such_filter" in unknown.json()["error"]["details"], path
        if "ordering" in parameters:
            bad = client.get(path, {"ordering": "shoe_size"})
            assert bad.status_code == 400 and "ordering" in bad.json()["error"]["details"], path
        for name, schema in parameters.items():
            if schema.get("type") == "boolean":
                assert client.get(path, {name: "maybe"}).status_code == 400, (path, name)
                assert client.get(path, {name: "true"}).status_code == 200, (path, name)
            if "enum" in schema:
                assert client.get(path, {name: "no-such-value"}).status_code == 400, (path, name)
            if schema.get("format") == "date":
                assert client.get(path, {name: "yesterday"}).status_code == 400, (path, name)
            if schema.get("type") == "integer" and name not in ("page", "page_size"):
                assert client.get(path, {name: "1.5"}).status_code == 400, (path, name)
    # a page size that cannot be read is refused, not replaced by the default
    for value in ("abc", "0", "-5", "1.5"):
        refused = client.get("/api/v1/tapes/", {"page_size": value})
        assert refused.status_code == 400 and "page_size" in refused.json()["error"]["details"]
    assert client.get("/api/v1/tapes/", {"page_size": "100000"}).status_code == 200  # max 500
    # page parameters only where the answer has pages
    assert "page" not in operations["/api/v1/tapes/export/"]
    assert client.get("/api/v1/tapes/export/", {"page": "2"}).status_code == 400


def test_job_and_version_filters_use_the_pages_names(
    archivist: Any, manager: Any, institution: Any, tape: Tape, video_factory: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal.captures.services import capture_create
    from restoration.models import JobStatus, RestorationJob
    from tests.restoration.factories import version_for

    video = video_factory("filters.mkv", frames=6)
    capture = capture_create(
        tape=tape, upload=SimpleUploadedFile("f.mkv", video.read_bytes()), actor=archivist
    )

    def job(by: Any, status: str) -> RestorationJob:
        return RestorationJob.objects.create(
            institution=institution,
            capture=capture,
            requested_by=by,
            status=status,
            created_at=timezone.now(),
        )

    mine, failed, theirs = (
        job(archivist, JobStatus.SUCCEEDED),
        job(archivist, JobStatus.FAILED),
        job(manager, JobStatus.QUEUED),
    )
    api = _client(api_token(archivist))

    def ids(path: str, **params: str) -> set[int]:
        response = api.get(path, params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids("/api/v1/restoration-jobs/", mine="1") == {mine.pk, failed.pk}
    assert ids("/api/v1/restoration-jobs/", mine="false") == {theirs.pk}
    assert ids("/api/v1/restoration-jobs/", undecided="true") == {failed.pk}
    assert ids("/api/v1/restoration-jobs/", status="queued") == {theirs.pk}
    version = version_for(mine)
    assert ids("/api/v1/restored-versions/", state="pending") == {version.pk}
    assert ids("/api/v1/restored-versions/", review_state="pending") == {version.pk}
    assert ids("/api/v1/restored-versions/", state="approve") == set()
    assert ids("/api/v1/restored-versions/", state="all") == {version.pk}


def test_web_filter_names_and_aliases(api: APIClient, institution: Any) -> None:
    Tape.objects.create(institution=institution, identifier="U-1", carrier_format="u-matic")
    Tape.objects.create(institution=institution, identifier="V-1", carrier_format="vhs")
    for params in ({"format": "u-matic"}, {"carrier_format": "u-matic"}):
        ids = [row["identifier"] for row in api.get("/api/v1/tapes/", params).json()["results"]]
        assert ids == ["U-1"]
    for params in ({"q": "V-1"}, {"search": "V-1"}):
        ids = [row["identifier"] for row in api.get("/api/v1/tapes/", params).json()["results"]]
        assert ids == ["V-1"]
    assert api.get("/api/v1/tapes/", {"has_captures": "no"}).json()["count"] == 2


def test_catalog_sort_and_published_work_as_on_the_page(
    api: APIClient,
    archivist_client: Any,
    institution: Any,
    manager: Any,
    archivist: Any,
    video_factory: Callable[..., Path],
) -> None:
    from restoration.models import Publication
    from tests.restoration.factories import finished_job, version_for

    for identifier in ("A-1", "B-1", "C-1"):
        Tape.objects.create(institution=institution, identifier=identifier, title=identifier)
    published = Tape.objects.get(identifier="B-1")
    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal.captures.services import capture_create

    video = video_factory("pub.mkv", frames=4)
    capture = capture_create(
        tape=published, upload=SimpleUploadedFile("pub.mkv", video.read_bytes()), actor=archivist
    )
    Publication.objects.create(
        institution=institution,
        tape=published,
        version=version_for(finished_job(capture, archivist)),
        published_by=manager,
        published_at=timezone.now(),
    )

    def identifiers(**params: str) -> list[str]:
        response = api.get("/api/v1/tapes/", params)
        assert response.status_code == 200, response.content
        return [row["identifier"] for row in response.json()["results"]]

    assert identifiers(sort="-identifier") == ["C-1", "B-1", "A-1"]
    assert identifiers(published="yes") == ["B-1"]
    assert identifiers(published="no", sort="-title") == ["C-1", "A-1"]
    assert api.get("/api/v1/tapes/", {"sort": "shoe_size"}).status_code == 400
    both = api.get("/api/v1/tapes/", {"sort": "title", "ordering": "title"})
    assert both.status_code == 400 and "sort" in both.json()["error"]["details"]
    # the API's export and the page's export select and order the same tapes
    query = {"published": "no", "sort": "-identifier"}
    for response in (
        api.get("/api/v1/tapes/export/", query),
        archivist_client.get("/tapes/export.csv", query),
    ):
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        assert [row["identifier"] for row in csv.DictReader(io.StringIO(text))] == ["C-1", "A-1"]


def test_audit_actor_filter_takes_a_user_name(
    manager: Any, archivist: Any, institution: Any
) -> None:
    manager_api = _client(api_token(manager))
    _client(api_token(archivist)).post("/api/v1/tapes/", {"identifier": "BY-ARCHIVIST"})
    manager_api.post("/api/v1/tapes/", {"identifier": "BY-MANAGER"})
    events = manager_api.get("/api/v1/audit-events/", {"actor": "archivist"}).json()
    assert events["count"] >= 1 and {e["actor"] for e in events["results"]} == {"archivist"}
    unknown = manager_api.get("/api/v1/audit-events/", {"actor": "nobody"})
    assert unknown.status_code == 400
    assert AuditEvent.objects.count() >= 2


# --- CSV export -----------------------------------------------------------------------------


def test_api_export_escapes_formulas_and_honours_filters(
    api: APIClient, institution: Any, archivist_client: Any
) -> None:
    collection = Collection.objects.create(institution=institution, name="=cmd")
    Tape.objects.create(
        institution=institution,
        identifier="EVIL-1",
        title='=HYPERLINK("http://x","y")',
        description="+cmd|' /C calc'!A0",
        collection=collection,
        carrier_format="u-matic",
    )
    Tape.objects.create(institution=institution, identifier="OTHER", carrier_format="vhs")
    for response in (
        api.get("/api/v1/tapes/export/", {"format": "u-matic"}),
        archivist_client.get("/tapes/export.csv", {"format": "u-matic"}),
    ):
        assert response.status_code == 200
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [row["identifier"] for row in rows] == ["EVIL-1"]
        assert rows[0]["title"].startswith("'=") and rows[0]["description"].startswith("'+")
        assert rows[0]["collection"] == "'=cmd"
