"""IIIF Presentation 3 manifests of published versions: the structure AV players need."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from portal.catalog.models import Tape
from tests.personas import api_token

pytestmark = pytest.mark.django_db


def assert_presentation_3(manifest: dict[str, Any], *, width: int, height: int) -> str:
    """Required fields of a Presentation 3 Manifest with one Video Canvas; the video URL."""
    assert manifest["@context"] == "http://iiif.io/api/presentation/3/context.json"
    assert manifest["type"] == "Manifest" and manifest["id"].startswith("http")
    assert all(isinstance(v, list) for v in manifest["label"].values())
    for entry in manifest["metadata"]:
        assert set(entry) == {"label", "value"}
    (canvas,) = manifest["items"]
    assert canvas["type"] == "Canvas" and canvas["id"].startswith("http")
    assert canvas["duration"] > 0 and (canvas["width"], canvas["height"]) == (width, height)
    (page,) = canvas["items"]
    assert page["type"] == "AnnotationPage"
    (annotation,) = page["items"]
    assert annotation["type"] == "Annotation" and annotation["motivation"] == "painting"
    assert annotation["target"] == canvas["id"]
    body = annotation["body"]
    assert body["type"] == "Video" and body["format"] == "video/mp4"
    assert body["duration"] == canvas["duration"]
    return body["id"]


def test_public_manifest_of_a_published_tape(
    client: Client, institution: Any, publish: Callable[..., Tape]
) -> None:
    institution.public_access = True
    institution.save()
    tape = publish(institution, recording_date="1980s", rights_statement="CC BY 4.0")
    response = client.get(f"/iiif/tapes/{tape.pk}/manifest.json")
    assert response.status_code == 200 and "ld+json" in response["Content-Type"]
    manifest = response.json()
    capture = tape.captures.get()
    video = assert_presentation_3(manifest, width=capture.width, height=capture.height)
    assert video.endswith(f"/public/tapes/{tape.pk}/video.mp4")
    assert client.get(video).status_code == 200  # the player can fetch it, no login
    labels = {entry["label"]["en"][0]: entry["value"]["none"][0] for entry in manifest["metadata"]}
    assert labels["Recorded"] == "198X" and labels["Identifier"] == tape.identifier
    assert manifest["requiredStatement"]["value"]["none"] == ["CC BY 4.0"]


def test_no_public_manifest_without_public_access(
    client: Client, institution: Any, publish: Callable[..., Tape]
) -> None:
    tape = publish(institution)
    assert client.get(f"/iiif/tapes/{tape.pk}/manifest.json").status_code == 404


def test_members_get_the_manifest_through_the_api(
    archivist: Any, institution: Any, publish: Callable[..., Tape]
) -> None:
    tape = publish(institution)
    version = tape.publications.get().version
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token(archivist)}")
    response = api.get(f"/api/v1/restored-versions/{version.pk}/iiif-manifest/")
    assert response.status_code == 200, response.content
    capture = tape.captures.get()
    video = assert_presentation_3(response.json(), width=capture.width, height=capture.height)
    assert video.endswith(f"/api/v1/restored-versions/{version.pk}/access/")
