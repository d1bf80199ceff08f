"""The isolation sweep of issue 12, generated from the URL resolver and the OpenAPI schema.

Institution B owns one object of every kind. For every route with an id in it, every method
(pages: GET and POST; API: the methods the OpenAPI schema lists) and every persona of
institution A (anonymous, archivist, reviewer, manager by session, manager by API token), the
answer for B's id must be the answer for an id that does not exist: same status, same redirect,
and none of B's names in the body. Afterwards B's rows and history are unchanged.

A route the sweep cannot map to one of B's objects fails the test: a new route is swept from
the day it is added.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from accounts.invitations import invitation_create
from accounts.models import Institution, Membership, Role
from portal.audit.models import AuditEvent
from portal.captures.services import capture_create
from portal.catalog.models import Collection, Tape
from tests.media import make_video
from tests.personas import api_token, make_institution, make_user
from tests.restoration.factories import finished_job, version_for

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SECRETS = ("B-SECRET-TAPE", "B-SECRET-COLLECTION", "b-secret-capture.mkv", "b-secret-user")
MISSING_INT = 2_000_000_001
MISSING_UUID = "00000000-0000-4000-8000-00000000dead"
SKIPPED_PREFIXES = ("admin/",)  # superusers only: A's staff are not superusers

# Which of B's objects a parameter names: by parameter name, else by the route's first segment.
BY_PARAMETER = {
    "tape_pk": "tape",
    "tape_id": "tape",
    "capture_id": "capture",
    "job_id": "job",
    "version_id": "version",
    "other_id": "version",
    "upload_id": "upload",
}
BY_SEGMENT = {
    "tapes": "tape",
    "collections": "collection",
    "captures": "capture",
    "members/invitations": "invitation",
    "members": "membership",
    "invitations": "invitation",
    "tokens": "token",
    "account/tokens": "token",
    "webhooks": "webhook",
    "restoration-jobs": "job",
    "restored-versions": "version",
    "storage/packages": "package",
    "uploads": "upload",
}
# ``token``: an invitation link is a bearer secret, not an id another tenant could guess; the
# sweep sends a wrong one (404), tests/accounts/test_invitation_links.py covers the rest.
FIXED = {"frame": "0", "which": "restored", "fmt": "json", "token": "not-an-invitation-link"}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, text)
        elif isinstance(pattern, URLPattern):
            yield text


_PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>|\(\?P<(?P<rname>\w+)>[^)]*\)")


def _parameters(route: str) -> list[str]:
    return [m["name"] or m["rname"] for m in _PARAM.finditer(route)]


def _kind(route: str, name: str) -> str | None:
    if name in BY_PARAMETER:
        return BY_PARAMETER[name]
    path = route.replace("^", "").removeprefix("api/v1/").removeprefix("accounts/")
    for segment in sorted(BY_SEGMENT, key=len, reverse=True):
        if path.startswith(segment + "/"):
            return BY_SEGMENT[segment]
    return None


def _url(route: str, values: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        return values[match["name"] or match["rname"]]

    path = _PARAM.sub(fill, route)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


def _schema_methods() -> dict[str, set[str]]:
    """{regex of an API path: its methods} from the OpenAPI schema."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    methods: dict[str, set[str]] = {}
    for path, operations in schema["paths"].items():
        regex = "^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"
        methods[regex] = {
            m.upper() for m in operations if m in {"get", "post", "put", "patch", "delete"}
        }
    return methods


@pytest.fixture
def tenant_b(video_factory: Any) -> dict[str, Any]:
    institution = make_institution("B-SECRET-INSTITUTION", "b-secret")
    user = make_user("b-secret-user", institution, Role.MANAGER)
    collection = Collection.objects.create(institution=institution, name="B-SECRET-COLLECTION")
    tape = Tape.objects.create(
        institution=institution, identifier="B-SECRET-TAPE", collection=collection
    )
    path = make_video(video_factory("b.mkv").parent / "b-secret-capture.mkv")
    capture = capture_create(
        tape=tape,
        upload=SimpleUploadedFile("b-secret-capture.mkv", path.read_bytes()),
        actor=user,
    )
    job = finished_job(capture, user)
    version = version_for(job)
    invitation = invitation_create(
        actor=user, institution=institution, username="b-secret-invitee", role=Role.ARCHIVIST
    )
    from portal.api.tokens import token_create
    from portal.preservation.models import PreservationPackage
    from portal.uploads.models import ResumableUpload
    from portal.webhooks.models import Endpoint

    token, _secret = token_create(user=user, name="b", scope="read_write")
    now = timezone.now()
    package = PreservationPackage.objects.create(
        institution=institution, tape=tape, requested_by=user, created_at=now
    )
    upload = ResumableUpload.objects.create(
        institution=institution,
        tape=tape,
        created_by=user,
        filename="b-secret-capture.mkv",
        length=100,
        created_at=now,
        updated_at=now,
        expires_at=now + timezone.timedelta(days=1),
    )
    webhook = Endpoint.objects.create(
        institution=institution, url="https://b.example.org/hook", secret="whsec_x"
    )
    return {
        "institution": institution,
        "ids": {
            "tape": str(tape.pk),
            "collection": str(collection.pk),
            "capture": str(capture.pk),
            "job": str(job.pk),
            "version": str(version.pk),
            "membership": str(Membership.objects.get(user=user).pk),
            "invitation": str(invitation.pk),
            "token": str(token.pk),
            "package": str(package.pk),
            "upload": str(upload.uuid),
            "webhook": str(webhook.pk),
        },
    }


def _personas(institution: Institution) -> dict[str, Client]:
    clients: dict[str, Client] = {"anonymous": Client(raise_request_exception=False)}
    for role in (Role.ARCHIVIST, Role.REVIEWER, Role.MANAGER):
        user = make_user(f"a-{role}", institution, role)
        client = Client(raise_request_exception=False)  # a 500 is an answer to compare
        client.force_login(user)
        clients[f"a-{role}"] = client
    manager = get_user_model().objects.get(username="a-manager")
    clients["a-manager-token"] = Client(
        raise_request_exception=False, HTTP_AUTHORIZATION=f"Bearer {api_token(manager)}"
    )
    return clients


def _fingerprint(response: Any, value: str) -> tuple[int, str]:
    location = response.get("Location", "")
    return response.status_code, location.replace(value, "<id>")


def _request(client: Client, method: str, url: str) -> Any:
    if method == "GET":
        return client.get(url)
    if method == "POST":
        return client.post(url, {})
    return client.generic(method, url, b"{}", content_type="application/json")


def test_no_route_answers_differently_for_another_institutions_ids(
    tenant_b: dict[str, Any], institution: Institution
) -> None:
    b_ids: dict[str, str] = tenant_b["ids"]
    b_rows_before = AuditEvent.objects.filter(institution=tenant_b["institution"]).count()
    personas = _personas(institution)
    api_methods = _schema_methods()
    unmapped, leaks, swept = [], [], 0
    routes = [
        route
        for route in _routes(get_resolver().url_patterns)
        if _parameters(route) and not route.startswith(SKIPPED_PREFIXES)
    ]
    for route in routes:
        values_b, values_missing = {}, {}
        for name in _parameters(route):
            if name in FIXED:
                values_b[name] = values_missing[name] = FIXED[name]
                continue
            kind = _kind(route, name)
            if kind is None or kind not in b_ids:
                unmapped.append(f"{route} ({name})")
                break
            values_b[name] = b_ids[kind]
            values_missing[name] = MISSING_UUID if kind == "upload" else str(MISSING_INT)
        else:
            url_b, url_missing = _url(route, values_b), _url(route, values_missing)
            path = url_b.removeprefix("/api/v1")
            methods = next(
                (
                    m
                    for regex, m in api_methods.items()
                    if re.match(regex, url_b) or re.match(regex, path)
                ),
                None,
            )
            if methods is None:
                methods = {"GET", "POST"}
            for persona, client in personas.items():
                for method in sorted(methods):
                    answer_b = _request(client, method, url_b)
                    answer_missing = _request(client, method, url_missing)
                    swept += 1
                    first_b = next(iter(values_b.values()))
                    if _fingerprint(answer_b, first_b) != _fingerprint(
                        answer_missing, next(iter(values_missing.values()))
                    ):
                        leaks.append(
                            f"{persona} {method} {url_b}: {answer_b.status_code} "
                            f"vs missing id {answer_missing.status_code}"
                        )
                    body = b"".join(answer_b) if answer_b.streaming else answer_b.content
                    shown = [secret for secret in SECRETS if secret.encode() in body]
                    if shown:
                        leaks.append(f"{persona} {method} {url_b} shows {shown}")
    assert unmapped == [], "routes the sweep cannot map to an object of institution B"
    assert leaks == [], "\n".join(leaks)
    assert swept > 300
    # Nothing of B changed: every write attempt was refused before touching a row.
    assert AuditEvent.objects.filter(institution=tenant_b["institution"]).count() == b_rows_before
    assert Tape.objects.filter(identifier="B-SECRET-TAPE").exists()
