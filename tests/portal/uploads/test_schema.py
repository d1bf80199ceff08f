"""The tus endpoints' OpenAPI description is true of a real upload, not only of the 404s the
suite-wide contract test reaches with random ids: each answer of a create, offset, append
(also refused: wrong offset, damaged body), status and cancel is checked against the schema."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from schemathesis.core import NOT_SET
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.personas import api_token
from tests.portal.uploads.conftest import metadata, upload_checksum

pytestmark = pytest.mark.django_db(transaction=True)

CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
TUS = {"Tus-Resumable": "1.0.0"}
# tus PATCH bodies are raw bytes (as in tests/portal/api/test_contract.py).
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")


def test_a_real_upload_is_answered_as_documented(
    live_server: Any, archivist: Any, tape: Any, video_factory: Callable[..., Path]
) -> None:
    import requests

    raw = requests.get(
        f"{live_server.url}/api/schema/",
        headers={"Accept": "application/vnd.oai.openapi+json"},
        timeout=30,
    ).json()
    schema = schemathesis.openapi.from_dict(raw)
    auth = {"Authorization": f"Bearer {api_token(archivist)}"}
    content = video_factory("schema.mkv", frames=8).read_bytes()
    statuses: list[int] = []

    def call(
        path: str, method: str, *, id: str = "", body: bytes | None = None, **headers: str
    ) -> Any:
        operation = schema[path][method]
        case = operation.Case(
            path_parameters={"id": id} if id else {},
            headers={**auth, **TUS, **headers},
            body=body if body is not None else NOT_SET,
            media_type="application/offset+octet-stream" if body is not None else None,
        )
        response = case.call_and_validate(base_url=live_server.url, checks=CHECKS)
        statuses.append(response.status_code)
        return response

    created = call(
        "/api/v1/uploads/",
        "POST",
        **{
            "Upload-Length": str(len(content)),
            "Upload-Metadata": metadata(tape=str(tape.pk), filename="schema.mkv"),
        },
    )
    upload = urlsplit(created.headers["location"][0]).path.rstrip("/").rsplit("/", 1)[-1]
    detail = "/api/v1/uploads/{id}"
    half = len(content) // 2
    call(detail, "PATCH", id=upload, body=content[:half], **{"Upload-Offset": "0"})
    call(detail, "PATCH", id=upload, body=content[half:], **{"Upload-Offset": "0"})  # 409
    damaged = call(
        detail,
        "PATCH",
        id=upload,
        body=b"x" * (len(content) - half),
        **{
            "Upload-Offset": str(half),
            "Upload-Checksum": upload_checksum("sha256", content[half:]),
        },
    )
    assert damaged.status_code == 460
    assert call(detail, "HEAD", id=upload).headers["upload-offset"] == [str(half)]
    call(detail, "OPTIONS", id=upload)
    call(detail, "PATCH", id=upload, body=content[half:], **{"Upload-Offset": str(half)})
    status = call(detail, "GET", id=upload).json()
    assert status["status"] == "done"
    assert status["sha256"] == hashlib.sha256(content).hexdigest()
    call(detail, "PATCH", id=upload, body=b"x", **{"Upload-Offset": str(len(content))})  # 403
    call(detail, "DELETE", id=upload)
    call(detail, "HEAD", id=upload)  # 410
    assert statuses == [201, 204, 409, 460, 200, 204, 204, 200, 403, 204, 410]
