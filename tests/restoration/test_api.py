"""REST API of the restoration workflow: same auth, isolation and error shape as the rest."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

from portal.audit.models import AuditEvent
from restoration.models import JobStatus, RestorationJob
from tests.personas import api_token
from tests.restoration.factories import finished_job, version_for

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token(user)}")
    return client


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]


def test_create_list_filter_and_follow_a_job(archivist: Any, capture: Any) -> None:
    api = client_for(archivist)
    response = api.post(
        "/api/v1/restoration-jobs/",
        {"capture": capture.pk, "parameters": {"references": 1, "preview": True}},
        format="json",
    )
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "queued" and job["queue_position"] == 1 and job["is_preview"]
    assert job["parameters"]["references"] == 1 and job["requested_by"] == "archivist"
    listed = api.get("/api/v1/restoration-jobs/", {"status": "queued"}).json()
    assert [row["id"] for row in listed["results"]] == [job["id"]]
    assert api.get("/api/v1/restoration-jobs/", {"status": "running"}).json()["results"] == []
    assert api.get("/api/v1/restoration-jobs/", {"capture": capture.pk}).json()["results"]
    detail = api.get(f"/api/v1/restoration-jobs/{job['id']}/").json()
    assert detail["progress"] is None and detail["version"] is None


def test_bad_options_answer_in_the_error_shape(archivist: Any, capture: Any) -> None:
    api = client_for(archivist)
    error = error_of(
        api.post(
            "/api/v1/restoration-jobs/",
            {"capture": capture.pk, "parameters": {"model": "huge"}},
            format="json",
        ),
        400,
        "invalid_parameters",
    )
    assert "Unknown model 'huge'" in error["message"]
    error_of(api.post("/api/v1/restoration-jobs/", {"capture": "x"}, format="json"), 400, "invalid")
    # Options beside "parameters", or misspelt inside it, are refused instead of ignored.
    error = error_of(
        api.post(
            "/api/v1/restoration-jobs/", {"capture": capture.pk, "model": "tiny"}, format="json"
        ),
        400,
        "invalid",
    )
    assert "parameters" in error["details"]["model"][0]
    error = error_of(
        api.post(
            "/api/v1/restoration-jobs/",
            {"capture": capture.pk, "parameters": {"modle": "tiny"}},
            format="json",
        ),
        400,
        "invalid",
    )
    assert "parameters.modle" in error["details"]
    assert not RestorationJob.objects.exists()


def test_outsider_sees_nothing_and_cannot_use_our_capture(
    outsider: Any, archivist: Any, capture: Any
) -> None:
    job = finished_job(capture, archivist)
    version = version_for(job)
    api = client_for(outsider)
    error_of(
        api.post("/api/v1/restoration-jobs/", {"capture": capture.pk}, format="json"),
        404,
        "not_found",
    )
    assert api.get("/api/v1/restoration-jobs/").json()["results"] == []
    for url in (
        f"/api/v1/restoration-jobs/{job.pk}/",
        f"/api/v1/restored-versions/{version.pk}/",
        f"/api/v1/restored-versions/{version.pk}/master/",
        f"/api/v1/restored-versions/{version.pk}/access/",
        f"/api/v1/restored-versions/{version.pk}/provenance/",
        f"/api/v1/tapes/{capture.tape_id}/timeline/",
    ):
        error_of(api.get(url), 404, "not_found")
    error_of(
        api.post(
            f"/api/v1/restored-versions/{version.pk}/decisions/",
            {"decision": "approve"},
            format="json",
        ),
        404,
        "not_found",
    )
    error_of(api.post(f"/api/v1/restoration-jobs/{job.pk}/cancel/"), 404, "not_found")
    assert not AuditEvent.objects.filter(action__startswith="review.").exists()


def test_anonymous_requests_are_refused(capture: Any) -> None:
    error_of(APIClient().get("/api/v1/restoration-jobs/"), 401, "not_authenticated")


def test_cancel_and_retry(archivist: Any, capture: Any) -> None:
    api = client_for(archivist)
    job = api.post("/api/v1/restoration-jobs/", {"capture": capture.pk}, format="json").json()
    cancelled = api.post(f"/api/v1/restoration-jobs/{job['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    error_of(api.post(f"/api/v1/restoration-jobs/{job['id']}/cancel/"), 409, "invalid_state")
    retry = api.post(f"/api/v1/restoration-jobs/{job['id']}/retry/")
    assert retry.status_code == 201 and retry.json()["retry_of"] == job["id"]
    assert RestorationJob.objects.get(pk=job["id"]).status == JobStatus.CANCELLED


def test_review_publish_unpublish_download_and_timeline(
    archivist: Any, reviewer: Any, manager: Any, capture: Any, tape: Any
) -> None:
    version = version_for(finished_job(capture, archivist))
    error = error_of(
        client_for(archivist).post(
            f"/api/v1/restored-versions/{version.pk}/decisions/",
            {"decision": "approve"},
            format="json",
        ),
        403,
        "permission_denied",
    )
    assert "reviewer" in error["message"]
    error_of(
        client_for(manager).post(f"/api/v1/restored-versions/{version.pk}/publish/"),
        409,
        "publication_refused",
    )
    decided = client_for(reviewer).post(
        f"/api/v1/restored-versions/{version.pk}/decisions/",
        {"decision": "approve", "comment": "clean"},
        format="json",
    )
    assert decided.status_code == 201 and decided.json()["reviewer"] == "reviewer"
    published = client_for(manager).post(
        f"/api/v1/restored-versions/{version.pk}/publish/",
        {"comment": "for the web"},
        format="json",
    )
    assert published.status_code == 201 and published.json()["version"] == version.pk
    approved = client_for(archivist).get("/api/v1/restored-versions/", {"review_state": "approve"})
    assert [row["id"] for row in approved.json()["results"]] == [version.pk]
    pending = client_for(archivist).get("/api/v1/restored-versions/", {"review_state": "pending"})
    assert pending.json()["results"] == []
    detail = client_for(archivist).get(f"/api/v1/restored-versions/{version.pk}/").json()
    assert detail["review_state"] == "approve" and detail["published"] is True
    assert detail["decisions"][0]["comment"] == "clean"

    download = client_for(archivist).get(f"/api/v1/restored-versions/{version.pk}/master/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == version.master.open("rb").read()
    ranged = client_for(archivist).get(
        f"/api/v1/restored-versions/{version.pk}/access/", HTTP_RANGE="bytes=1-3"
    )
    assert ranged.status_code == 206 and b"".join(ranged.streaming_content) == b"cce"

    unpublished = client_for(manager).post(f"/api/v1/tapes/{tape.pk}/unpublish/")
    assert unpublished.status_code == 200 and unpublished.json()["end_reason"] == "unpublished"

    timeline = client_for(archivist).get(f"/api/v1/tapes/{tape.pk}/timeline/").json()
    seen = {event["action"] for event in timeline["results"]}
    assert {
        "review.approved",
        "publication.published",
        "publication.unpublished",
        "version.master_downloaded",
        "capture.created",
    } <= seen


def test_institution_timeline_for_managers_with_filters(
    archivist: Any, reviewer: Any, manager: Any, capture: Any
) -> None:
    version = version_for(finished_job(capture, archivist))
    client_for(reviewer).post(
        f"/api/v1/restored-versions/{version.pk}/decisions/", {"decision": "approve"}, format="json"
    )
    error_of(client_for(archivist).get("/api/v1/audit-events/"), 403, "permission_denied")
    events = client_for(manager).get("/api/v1/audit-events/", {"action": "review"}).json()
    assert [event["action"] for event in events["results"]] == ["review.approved"]
    assert events["results"][0]["actor"] == "reviewer"
    everything = client_for(manager).get("/api/v1/audit-events/").json()["results"]
    assert {"capture.created", "review.approved"} <= {event["action"] for event in everything}
    error_of(
        client_for(manager).get("/api/v1/audit-events/", {"from": "yesterday"}), 400, "invalid"
    )


def test_provenance_is_premis_style(archivist: Any, capture: Any) -> None:
    version = version_for(finished_job(capture, archivist))
    body = client_for(archivist).get(f"/api/v1/restored-versions/{version.pk}/provenance/").json()
    event = body["events"][0]
    assert event["eventType"] == "restoration"
    digests = {obj["objectCharacteristics"]["fixity"]["messageDigest"] for obj in body["objects"]}
    assert {capture.sha256, version.master_sha256, version.access_sha256} == digests
    roles = {link["role"] for link in event["linkingObjectIdentifier"]}
    assert roles == {"source", "outcome"}
    assert event["eventDetailInformation"]["eventDetailExtension"]["model_variant"] == "tiny"
    assert {agent["agentType"] for agent in body["agents"]} >= {"software", "person"}


def test_endpoints_are_in_the_openapi_schema(archivist: Any) -> None:
    response = client_for(archivist).get("/api/schema/")
    assert response.status_code == 200
    paths = yaml.safe_load(response.content)["paths"]
    for path in (
        "/api/v1/restoration-jobs/",
        "/api/v1/restoration-jobs/{id}/",
        "/api/v1/restoration-jobs/{id}/cancel/",
        "/api/v1/restoration-jobs/{id}/retry/",
        "/api/v1/restored-versions/",
        "/api/v1/restored-versions/{id}/master/",
        "/api/v1/restored-versions/{id}/access/",
        "/api/v1/restored-versions/{id}/decisions/",
        "/api/v1/restored-versions/{id}/publish/",
        "/api/v1/restored-versions/{id}/provenance/",
        "/api/v1/tapes/{tape_id}/unpublish/",
        "/api/v1/tapes/{tape_id}/timeline/",
        "/api/v1/audit-events/",
    ):
        assert path in paths, path
    assert "post" in paths["/api/v1/restoration-jobs/"]


def test_decisions_publish_and_retry_honour_idempotency_keys(
    archivist: Any, reviewer: Any, manager: Any, capture: Any, tape: Any
) -> None:
    from restoration.models import Publication, ReviewDecision

    version = version_for(finished_job(capture, archivist))
    url = f"/api/v1/restored-versions/{version.pk}/decisions/"
    review_api = client_for(reviewer)
    body = {"decision": "approve", "comment": "clean"}
    first = review_api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="decide-1")
    again = review_api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="decide-1")
    assert first.status_code == again.status_code == 201, again.content
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert ReviewDecision.objects.filter(version=version).count() == 1
    assert AuditEvent.objects.filter(action="review.approved").count() == 1
    other = {"decision": "reject", "comment": "no"}
    error_of(
        review_api.post(url, other, format="json", HTTP_IDEMPOTENCY_KEY="decide-1"),
        422,
        "idempotency_key_reused",
    )
    assert ReviewDecision.objects.filter(version=version).count() == 1

    publish_url = f"/api/v1/restored-versions/{version.pk}/publish/"
    manager_api = client_for(manager)
    published = [
        manager_api.post(
            publish_url, {"comment": "web"}, format="json", HTTP_IDEMPOTENCY_KEY="pub-1"
        )
        for _ in range(2)
    ]
    assert [r.status_code for r in published] == [201, 201]
    assert published[0].json() == published[1].json()
    assert Publication.objects.filter(tape=tape).count() == 1
    error_of(
        manager_api.post(
            publish_url, {"comment": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="pub-1"
        ),
        422,
        "idempotency_key_reused",
    )
    # Without a key a second publish is refused as before (the version is already public).
    error_of(manager_api.post(publish_url, {}, format="json"), 409, "publication_refused")


def test_retry_with_an_idempotency_key_creates_one_job(archivist: Any, capture: Any) -> None:
    api = client_for(archivist)
    job = api.post("/api/v1/restoration-jobs/", {"capture": capture.pk}, format="json").json()
    api.post(f"/api/v1/restoration-jobs/{job['id']}/cancel/")
    retries = [
        api.post(f"/api/v1/restoration-jobs/{job['id']}/retry/", HTTP_IDEMPOTENCY_KEY="r-1")
        for _ in range(2)
    ]
    assert [r.status_code for r in retries] == [201, 201]
    assert retries[0].json()["id"] == retries[1].json()["id"]
    assert RestorationJob.objects.filter(retry_of_id=job["id"]).count() == 1


def test_idempotency_keys_are_documented_on_decisions_and_publish(archivist: Any) -> None:
    paths = yaml.safe_load(client_for(archivist).get("/api/schema/").content)["paths"]
    for path in (
        "/api/v1/restored-versions/{id}/decisions/",
        "/api/v1/restored-versions/{id}/publish/",
        "/api/v1/restoration-jobs/{id}/retry/",
    ):
        operation = paths[path]["post"]
        assert "Idempotency-Key" in {p["name"] for p in operation["parameters"]}, path
        assert {"409", "422"} <= set(operation["responses"]), path


def test_media_answers_304_to_a_client_that_holds_the_file(archivist: Any, capture: Any) -> None:
    from portal.captures.tasks import build_capture_proxy

    build_capture_proxy(capture.pk)
    version = version_for(finished_job(capture, archivist))
    api = client_for(archivist)
    urls = [
        f"/api/v1/restored-versions/{version.pk}/access/",
        f"/api/v1/restored-versions/{version.pk}/master/",
        f"/api/v1/captures/{capture.pk}/download/",
        f"/api/v1/captures/{capture.pk}/proxy/",
        f"/api/v1/captures/{capture.pk}/poster/",
    ]
    for url in urls:
        first = api.get(url)
        assert first.status_code == 200, (url, first.content)
        b"".join(first.streaming_content)
        etag, modified = first["ETag"], first["Last-Modified"]
        unchanged = api.get(url, HTTP_IF_NONE_MATCH=etag)
        assert unchanged.status_code == 304 and unchanged["ETag"] == etag, url
        assert api.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304, url
        ranged = api.get(url, HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE=etag)
        assert ranged.status_code == 206, url
        stale = api.get(url, HTTP_RANGE="bytes=0-1", HTTP_IF_RANGE='"an-older-copy"')
        assert stale.status_code == 200, url
        assert stale["Content-Length"] == first["Content-Length"], url
        b"".join(stale.streaming_content)
    # Whole downloads of the master are on the record; a 304 or a served range sends no file.
    downloads = AuditEvent.objects.filter(action="version.master_downloaded")
    assert downloads.count() == 2  # the first GET and the stale If-Range (sent whole)


def test_media_conditions_are_in_the_openapi_schema(archivist: Any) -> None:
    paths = yaml.safe_load(client_for(archivist).get("/api/schema/").content)["paths"]
    for path in (
        "/api/v1/restored-versions/{id}/access/",
        "/api/v1/restored-versions/{id}/master/",
        "/api/v1/captures/{id}/download/",
        "/api/v1/captures/{id}/proxy/",
        "/api/v1/captures/{id}/poster/",
    ):
        operation = paths[path]["get"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"Range", "If-Range", "If-None-Match", "If-Modified-Since"} <= names, path
        assert {"200", "206", "302", "304", "416"} <= set(operation["responses"]), path
        assert {"ETag", "Last-Modified"} <= set(operation["responses"]["304"]["headers"]), path
