"""Contract test: every response of every operation is described by the OpenAPI schema.

schemathesis (pinned) generates requests from /api/schema/ for each operation and sends them
to the live test server (pytest-django ``live_server``, real HTTP) with a manager's token;
each response's status code, content type, headers and JSON body are checked against the
schema. An undocumented status, media type or body shape fails the test, as does any 5xx.
Object ids are a mix of existing and random ones, so both the found and the 404 paths run.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import Role
from portal.api.models import ApiToken
from portal.captures.services import capture_create
from portal.captures.tasks import build_capture_proxy
from portal.catalog.models import Collection, Tape
from portal.webhooks.services import webhook_endpoint_create
from restoration import services as restoration_services
from tests.personas import api_token, make_user
from tests.restoration.factories import finished_job, version_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = int(os.environ.get("CONTRACT_EXAMPLES", "12"))
# tus PATCH bodies (portal/uploads/schema.py) are raw bytes, sent like application/octet-stream.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
SCHEMA_JSON = {"Accept": "application/vnd.oai.openapi+json"}


def _schema(live_server: Any) -> Any:
    import requests

    raw = requests.get(f"{live_server.url}/api/schema/", headers=SCHEMA_JSON, timeout=30)
    raw.raise_for_status()
    return schemathesis.openapi.from_dict(raw.json())


def _validated(case: Any, base_url: str, headers: dict[str, str], failures: list[str]) -> Any:
    """The response, or None after recording why it does not match the schema."""
    try:
        return case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)
    except BaseException as exc:  # schemathesis' FailureGroup
        if isinstance(exc, KeyboardInterrupt):
            raise
        failures.append(f"{case.method} {case.formatted_path} (existing object): {exc}")
        return None


def _existing_object_checks(
    schema: Any,
    base_url: str,
    headers: dict[str, str],
    *,
    existing: dict[str, int],
    writes: list[tuple[str, dict[str, int], int]],
    statuses: Counter[str],
    failures: list[str],
) -> int:
    """Every read of one object (and its files) once with an id that exists, so that each
    200 representation is checked, not only where a generated id happened to exist; then the
    given writes. Returns the number of reads."""
    reads = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        resource = operation.path.removeprefix("/api/v1/").split("/")[0]
        if operation.method.upper() != "GET" or "{" not in operation.path:
            continue
        if resource not in existing:
            continue
        names = [p.name for p in operation.path_parameters]
        case = operation.Case(path_parameters={name: existing[resource] for name in names})
        response = _validated(case, base_url, headers, failures)
        reads += 1
        if response is not None:
            statuses[f"GET {response.status_code} (existing)"] += 1
            if response.status_code != 200:
                failures.append(f"GET {case.formatted_path} answered {response.status_code}")
    for path, ids, expected in writes:
        case = schema[path]["POST"].Case(path_parameters=ids, body={"comment": "contract"})
        response = _validated(case, base_url, headers, failures)
        if response is not None:
            statuses[f"POST {response.status_code} (existing)"] += 1
            if response.status_code != expected:
                failures.append(f"POST {path} answered {response.status_code}: {response.text}")
    return reads


def test_every_response_is_documented(
    live_server: Any, institution: Any, video_factory: Callable[..., Path]
) -> None:
    manager = make_user("contract-manager", institution, Role.MANAGER)
    collection = Collection.objects.create(institution=institution, name="Contract")
    tape = Tape.objects.create(institution=institution, identifier="C-1", collection=collection)
    video = video_factory("contract.mkv", frames=6)
    capture = capture_create(
        tape=tape, upload=SimpleUploadedFile("contract.mkv", video.read_bytes()), actor=manager
    )
    build_capture_proxy(capture.pk)
    # A restored version that is approved and published, and a webhook endpoint: their
    # representations are checked too (below, each detail read once with a real id).
    job = finished_job(capture, manager)
    version = version_for(job)
    reviewer = make_user("contract-reviewer", institution, Role.REVIEWER)
    restoration_services.version_decide(actor=reviewer, version=version, decision="approve")
    restoration_services.version_publish(actor=manager, version=version)
    second = version_for(finished_job(capture, manager))  # approved, published by the API below
    restoration_services.version_decide(actor=reviewer, version=second, decision="approve")
    endpoint = webhook_endpoint_create(
        actor=manager, institution=institution, url="https://cms.example.org/hook"
    )
    secret = api_token(manager)
    # Generated ids are small numbers: move the test's own token out of their reach, or
    # DELETE /tokens/{id}/ would revoke it and every later case would only see 401.
    ApiToken.objects.filter(user=manager).update(id=987_654_321)
    # The institution header is fixed (a random one only ever answers 404).
    headers = {"Authorization": f"Bearer {secret}", "X-Institution": institution.slug}
    schema = _schema(live_server)
    statuses: Counter[str] = Counter()
    operations = 0
    cases = 0
    failures: list[str] = []
    # First the objects that exist (the generated cases below may delete them).
    found_reads = _existing_object_checks(
        schema,
        live_server.url,
        headers,
        existing={
            "collections": collection.pk,
            "tapes": tape.pk,
            "captures": capture.pk,
            "restoration-jobs": job.pk,
            "restored-versions": version.pk,
            "webhooks": endpoint.pk,
            "tokens": 987_654_321,
        },
        # Writes that succeed: publishing answers a Publication (current, so with an empty
        # end_reason and no unpublished_by), withdrawing it another (ended).
        writes=[
            ("/api/v1/restored-versions/{id}/publish/", {"id": second.pk}, 201),
            ("/api/v1/tapes/{tape_id}/unpublish/", {"tape_id": tape.pk}, 200),
        ],
        statuses=statuses,
        failures=failures,
    )
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            nonlocal cases
            cases += 1
            response = case.call_and_validate(
                base_url=live_server.url, headers=headers, checks=CHECKS
            )
            statuses[f"{case.method} {response.status_code}"] += 1

        try:
            check()
        except BaseException as exc:  # hypothesis raises groups; collect every failure
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)
    print(f"\ncontract: {operations} operations, {cases} cases, statuses {dict(statuses)}")
    assert found_reads >= 15
    assert operations >= 40
    assert any(key.startswith("GET 200") for key in statuses)


def test_an_undocumented_response_fails_the_check(live_server: Any, archivist: Any) -> None:
    """The checks bite: the same schema with a status removed makes a real response fail."""
    import requests

    raw = requests.get(f"{live_server.url}/api/schema/", headers=SCHEMA_JSON, timeout=30).json()
    del raw["paths"]["/api/v1/tapes/"]["get"]["responses"]["401"]
    schema = schemathesis.openapi.from_dict(raw)
    operation = schema["/api/v1/tapes/"]["GET"]
    case = operation.Case()
    with pytest.raises(BaseException) as raised:  # schemathesis' FailureGroup
        case.call_and_validate(base_url=live_server.url, checks=CHECKS)
    assert "Undocumented status code" in str(raised.value)
