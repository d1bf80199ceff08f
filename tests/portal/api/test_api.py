"""REST API v1: auth, error shape, CRUD through services, filters, uploads, ranges, isolation."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Role
from portal.audit.models import AuditEvent
from portal.captures.models import Capture
from portal.captures.services import capture_create
from portal.captures.tasks import build_capture_proxy
from portal.catalog.models import Collection, Tape, TapeMetadata
from tests.personas import PASSWORD, api_token, make_institution, make_user

pytestmark = pytest.mark.django_db


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token(user)}")
    return client


@pytest.fixture
def api(archivist: Any) -> APIClient:
    return _client(archivist)


@pytest.fixture
def outsider_api(outsider: Any) -> APIClient:
    return _client(outsider)


@pytest.fixture
def collection(institution: Any) -> Collection:
    return Collection.objects.create(institution=institution, name="Donation Meier")


@pytest.fixture
def tape(institution: Any, collection: Collection) -> Tape:
    tape = Tape.objects.create(
        institution=institution,
        collection=collection,
        identifier="VHS-001",
        title="Carnival 1984",
        carrier_format="vhs",
        video_standard="pal",
    )
    TapeMetadata.objects.create(tape=tape, key="donor", value="Anna Meier")
    return tape


@pytest.fixture
def capture(tape: Tape, archivist: Any, video_factory: Callable[..., Path]) -> Capture:
    path = video_factory("cap.mkv")
    return capture_create(
        tape=tape, upload=SimpleUploadedFile("cap.mkv", path.read_bytes()), actor=archivist
    )


def _assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


# --- authentication and the error shape -----------------------------------------------------


def test_api_root_lists_catalog_and_restoration_resources(archivist: Any) -> None:
    client = APIClient()
    client.force_authenticate(archivist)
    root = client.get("/api/v1/")
    assert root.status_code == 200
    assert {"collections", "tapes", "captures", "restoration-jobs", "restored-versions"} <= set(
        root.json()
    )


def test_token_obtained_with_password_then_used(archivist: Any, tape: Tape) -> None:
    anonymous = APIClient()
    _assert_error(anonymous.get("/api/v1/tapes/"), 401, "not_authenticated")
    wrong = _assert_error(
        anonymous.post("/api/v1/auth/token/", {"username": "archivist", "password": "wrong"}),
        400,
        "invalid",
    )
    # The message says what went wrong, not "Some fields are invalid: non_field_errors."
    assert "credentials" in wrong["message"] and "non_field_errors" not in wrong["message"]
    login = anonymous.post("/api/v1/auth/token/", {"username": "archivist", "password": PASSWORD})
    assert login.status_code == 201 and login.json()["scope"] == "read_write"
    token = login.json()["token"]
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anonymous.get("/api/v1/tapes/").json()["count"] == 1
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    _assert_error(bad.get("/api/v1/tapes/"), 401, "authentication_failed")


def test_session_auth_for_the_browser(archivist_client: Client, tape: Tape) -> None:
    response = archivist_client.get("/api/v1/tapes/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["results"][0]["identifier"] == "VHS-001"


def test_every_error_has_one_shape(api: APIClient, tape: Tape) -> None:
    _assert_error(api.get("/api/v1/tapes/999999/"), 404, "not_found")
    _assert_error(api.get("/api/v1/no-such-thing/"), 404, "not_found")
    _assert_error(api.patch("/api/v1/captures/1/", {}), 405, "method_not_allowed")
    error = _assert_error(api.post("/api/v1/tapes/", {"title": "no identifier"}), 400, "invalid")
    assert "identifier" in error["details"]
    error = _assert_error(
        api.post("/api/v1/tapes/", {"identifier": "VHS-001"}, format="json"), 400, "invalid"
    )
    assert "identifier" in str(error["details"]).lower() or "already exists" in error["message"]


# --- collections and tapes ------------------------------------------------------------------


def test_tape_crud_goes_through_services_and_is_audited(
    api: APIClient, collection: Collection, archivist: Any
) -> None:
    created = api.post(
        "/api/v1/tapes/",
        {
            "identifier": "UM-7",
            "title": "Council meeting",
            "carrier_format": "u-matic",
            "recording_date": "1980s",
            "collection": collection.pk,
            "metadata": {"donor": "City"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["metadata"] == {"donor": "City"} and body["date_start"] == "1980-01-01"
    tape_id = body["id"]
    updated = api.patch(
        f"/api/v1/tapes/{tape_id}/", {"title": "Council meeting 1983"}, format="json"
    )
    assert updated.status_code == 200 and updated.json()["title"] == "Council meeting 1983"
    assert api.delete(f"/api/v1/tapes/{tape_id}/").status_code == 204
    actions = list(
        AuditEvent.objects.filter(target_id=str(tape_id)).values_list("action", flat=True)
    )
    assert sorted(actions) == ["tape.created", "tape.deleted", "tape.updated"]
    assert AuditEvent.objects.filter(action="tape.updated", actor=archivist).exists()


def test_tape_cannot_join_another_institutions_collection(
    api: APIClient, other_institution: Any
) -> None:
    theirs = Collection.objects.create(institution=other_institution, name="Theirs")
    response = api.post(
        "/api/v1/tapes/", {"identifier": "X-1", "collection": theirs.pk}, format="json"
    )
    _assert_error(response, 400, "invalid")
    assert not Tape.objects.filter(identifier="X-1").exists()


def test_collection_crud(api: APIClient) -> None:
    created = api.post("/api/v1/collections/", {"name": "Fonds A"}, format="json")
    assert created.status_code == 201
    cid = created.json()["id"]
    assert (
        api.patch(f"/api/v1/collections/{cid}/", {"description": "d"}, format="json").status_code
        == 200
    )
    assert api.get("/api/v1/collections/").json()["results"][0]["name"] == "Fonds A"
    assert api.delete(f"/api/v1/collections/{cid}/").status_code == 204
    assert AuditEvent.objects.filter(action="collection.deleted").exists()


def test_tape_filters_search_ordering_pagination(
    api: APIClient, institution: Any, tape: Tape
) -> None:
    for number in range(5):
        Tape.objects.create(
            institution=institution,
            identifier=f"HI8-{number}",
            carrier_format="hi8",
            title=f"Trip {number}",
        )
    listing = api.get("/api/v1/tapes/", {"page_size": 2, "ordering": "-identifier"}).json()
    assert listing["count"] == 6 and len(listing["results"]) == 2 and listing["next"]
    assert listing["results"][0]["identifier"] == "VHS-001"
    assert api.get("/api/v1/tapes/", {"carrier_format": "hi8"}).json()["count"] == 5
    assert api.get("/api/v1/tapes/", {"search": "Anna Meier"}).json()["count"] == 1  # metadata
    assert api.get("/api/v1/tapes/", {"search": "trip 3"}).json()["count"] == 1
    assert api.get("/api/v1/tapes/", {"has_captures": "false"}).json()["count"] == 6
    _assert_error(api.get("/api/v1/tapes/", {"carrier_format": "laserdisc"}), 400, "invalid")


def test_reviewer_and_outsider_header(institution: Any, tape: Tape) -> None:
    # A user of two institutions picks one with X-Institution; a slug not theirs is 404.
    second = make_institution("Second Archive", "second")
    user = make_user("both", institution, Role.ARCHIVIST)
    from accounts.models import Membership

    Membership.objects.create(user=user, institution=second, role=Role.MANAGER)
    client = _client(user)
    assert client.get("/api/v1/tapes/", HTTP_X_INSTITUTION="test-archive").json()["count"] == 1
    assert client.get("/api/v1/tapes/", HTTP_X_INSTITUTION="second").json()["count"] == 0
    _assert_error(
        client.get("/api/v1/tapes/", HTTP_X_INSTITUTION="other-archive"), 404, "not_found"
    )


# --- captures -------------------------------------------------------------------------------


def test_capture_upload_by_multipart(
    api: APIClient, tape: Tape, video_factory: Callable[..., Path]
) -> None:
    path = video_factory("api-upload.mkv")
    with path.open("rb") as handle:
        response = api.post(
            "/api/v1/captures/", {"tape": tape.pk, "file": handle}, format="multipart"
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert body["video_codec"] == "ffv1" and body["frame_count"] == 12
    assert body["proxy_status"] == "pending" and body["links"]["proxy"] is None
    assert AuditEvent.objects.filter(action="capture.created", target_id=str(body["id"])).exists()


@pytest.mark.parametrize(
    ("name", "content"), [("empty.mkv", b""), ("readme.txt", b"plain text, no video\n" * 40)]
)
def test_capture_upload_rejections_leave_nothing(
    api: APIClient, tape: Tape, name: str, content: bytes
) -> None:
    response = api.post(
        "/api/v1/captures/",
        {"tape": tape.pk, "file": SimpleUploadedFile(name, content)},
        format="multipart",
    )
    # An empty file part is refused by the serializer (400 invalid) or the service.
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"invalid", "invalid_video"}
    assert Capture.objects.count() == 0
    assert [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()] == []


def test_capture_upload_too_large(
    api: APIClient, tape: Tape, video_factory: Callable[..., Path], settings: Any
) -> None:
    settings.CAPTURE_MAX_UPLOAD_SIZE = 100
    with video_factory().open("rb") as handle:
        response = api.post(
            "/api/v1/captures/", {"tape": tape.pk, "file": handle}, format="multipart"
        )
    _assert_error(response, 413, "upload_too_large")
    assert Capture.objects.count() == 0


def test_capture_list_detail_download_ranges(api: APIClient, capture: Capture) -> None:
    listing = api.get("/api/v1/captures/", {"tape": capture.tape_id}).json()
    assert listing["count"] == 1
    detail = api.get(f"/api/v1/captures/{capture.pk}/").json()
    assert detail["sha256"] == capture.sha256 and detail["width"] == 64

    data = capture.original.read()
    whole = api.get(f"/api/v1/captures/{capture.pk}/download/")
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == data
    assert whole["Content-Disposition"].startswith("attachment")
    part = api.get(
        f"/api/v1/captures/{capture.pk}/download/",
        HTTP_RANGE="bytes=4-11",
        HTTP_ACCEPT="video/x-matroska",
    )
    assert part.status_code == 206 and b"".join(part.streaming_content) == data[4:12]
    assert part["Content-Range"] == f"bytes 4-11/{len(data)}"
    assert (
        api.get(
            f"/api/v1/captures/{capture.pk}/download/", HTTP_RANGE="bytes=999999999-"
        ).status_code
        == 416
    )

    _assert_error(api.get(f"/api/v1/captures/{capture.pk}/proxy/"), 404, "not_found")
    build_capture_proxy(capture.pk)
    proxy = api.get(f"/api/v1/captures/{capture.pk}/proxy/", HTTP_RANGE="bytes=0-7")
    assert proxy.status_code == 206 and proxy["Content-Type"] == "video/mp4"
    assert api.get(f"/api/v1/captures/{capture.pk}/").json()["links"]["proxy"]


def test_tape_with_captures_cannot_be_deleted(api: APIClient, capture: Capture) -> None:
    error = _assert_error(api.delete(f"/api/v1/tapes/{capture.tape_id}/"), 400, "tape_has_captures")
    assert "delete them first" in error["message"]
    assert Tape.objects.filter(pk=capture.tape_id).exists()


def test_capture_delete_needs_manager(api: APIClient, manager: Any, capture: Capture) -> None:
    _assert_error(api.delete(f"/api/v1/captures/{capture.pk}/"), 403, "permission_denied")
    assert _client(manager).delete(f"/api/v1/captures/{capture.pk}/").status_code == 204
    assert not Capture.objects.exists()


# --- isolation: every endpoint is 404 for another institution --------------------------------


def test_outsider_sees_nothing_and_gets_404_everywhere(
    outsider_api: APIClient,
    collection: Collection,
    tape: Tape,
    capture: Capture,
    video_factory: Callable[..., Path],
) -> None:
    for url in ("/api/v1/collections/", "/api/v1/tapes/", "/api/v1/captures/"):
        assert outsider_api.get(url).json()["count"] == 0
    detail_urls = [
        f"/api/v1/collections/{collection.pk}/",
        f"/api/v1/tapes/{tape.pk}/",
        f"/api/v1/captures/{capture.pk}/",
        f"/api/v1/captures/{capture.pk}/download/",
        f"/api/v1/captures/{capture.pk}/proxy/",
        f"/api/v1/captures/{capture.pk}/poster/",
    ]
    for url in detail_urls:
        _assert_error(outsider_api.get(url), 404, "not_found")
    for url in detail_urls[:3]:
        _assert_error(
            outsider_api.patch(url, {"title": "x", "name": "x"}, format="json"),
            404 if "captures" not in url else 405,
            "not_found" if "captures" not in url else "method_not_allowed",
        )
        _assert_error(outsider_api.delete(url), 404, "not_found")
    with video_factory().open("rb") as handle:
        upload = outsider_api.post(
            "/api/v1/captures/", {"tape": tape.pk, "file": handle}, format="multipart"
        )
    _assert_error(upload, 404, "not_found")
    assert (
        Capture.objects.count() == 1
        and Tape.objects.filter(pk=tape.pk, title="Carnival 1984").exists()
    )


def test_user_without_membership_gets_404(tape: Tape) -> None:
    loner = make_user("loner")
    _assert_error(_client(loner).get("/api/v1/tapes/"), 404, "not_found")


# --- schema and docs ------------------------------------------------------------------------


def test_schema_is_valid_openapi(api: APIClient) -> None:
    from drf_spectacular.validation import validate_schema

    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    assert {"/api/v1/tapes/", "/api/v1/captures/", "/api/v1/captures/{id}/download/"} <= set(
        schema["paths"]
    )


def test_docs_pages_use_local_assets(archivist_client: Client) -> None:
    for url in ("/api/docs/", "/api/redoc/"):
        html = archivist_client.get(url).content.decode()
        assert (
            "/static/drf_spectacular_sidecar/" in html or "/api/redoc/redoc.standalone.js" in html
        )
        assert "cdn.jsdelivr" not in html and "unpkg.com" not in html
        assert "fonts.googleapis" not in html and "{#" not in html
    bundle = archivist_client.get("/api/redoc/redoc.standalone.js").content
    assert b"Redoc" in bundle and b"cdn.redoc.ly" not in bundle
