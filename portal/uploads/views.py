"""tus 1.0 server endpoints (core, creation, termination, expiration, checksum), browser and API.

``/api/v1/uploads/`` takes POST (creation) and OPTIONS (discovery); ``/api/v1/uploads/<uuid>``
takes HEAD (offset), PATCH (append), DELETE (termination) and, outside tus, GET for the JSON
status of the capture made from it. Clients authenticate with a browser session (plus the CSRF
token header) or an API token (``Authorization: Bearer <token>``). Creation metadata:
``filename``, ``tape`` (its id) and optionally ``sha256`` (hex), checked when the last byte
arrives. Checksum extension: a PATCH may carry ``Upload-Checksum: <algorithm> <base64 digest>``
(sha256, sha512, sha1, md5); its body is kept only when the digest matches (else 460 Checksum
Mismatch, offset unchanged). The OpenAPI schema describes them (``portal.uploads.schema``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import reverse
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied

from accounts.selectors import get_for_institution
from portal.api.scoping import api_membership
from portal.api.tokens import ApiTokenAuthentication, check_token_scope
from portal.captures.services import upload_size_limit
from portal.catalog.selectors import tape_get
from portal.uploads.exceptions import UploadError
from portal.uploads.models import GONE, ResumableUpload, UploadStatus
from portal.uploads.services import (
    CHECKSUM_ALGORITHMS,
    upload_append,
    upload_create,
    upload_terminate,
)

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration,checksum"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"


def _tus_response(status: int = 204, **headers: str) -> HttpResponse:
    response = HttpResponse(status=status)
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    for key, value in headers.items():
        response[key.replace("_", "-")] = value
    return response


def _tus_options(**headers: str) -> HttpResponse:
    """The answer to OPTIONS: the tus versions, extensions and checksums this server speaks."""
    return _tus_response(
        204,
        Tus_Version=TUS_VERSION,
        Tus_Extension=TUS_EXTENSIONS,
        Tus_Checksum_Algorithm=",".join(CHECKSUM_ALGORITHMS),
        **headers,
    )


def _error(status: int, code: str, message: str) -> JsonResponse:
    """The API's one error shape (``portal.api.exceptions``)."""
    error = {"code": code, "message": message, "details": None}
    response = JsonResponse({"error": error}, status=status)
    response["Tus-Resumable"] = TUS_VERSION
    return response


def _no_view(request: HttpRequest) -> HttpResponse:  # pragma: no cover - never called
    """The view argument of the CSRF check: a plain (not csrf_exempt) callable."""
    return HttpResponse()


def _authenticate(request: HttpRequest) -> HttpResponse | None:
    """An API token (as on the rest of the API: ``Authorization: Bearer <token>``; a read-only
    token may only read) or the session user, who must also send the CSRF token (as DRF
    requires)."""
    try:
        token = ApiTokenAuthentication().authenticate(request)
    except AuthenticationFailed as exc:
        return _error(401, "not_authenticated", str(exc.detail))
    if token is not None:
        request.user, request.auth = token  # type: ignore[attr-defined]
        try:
            check_token_scope(request)
        except DRFPermissionDenied as exc:
            return _error(403, "token_read_only", str(exc.detail))
        return None
    if not request.user.is_authenticated:
        return _error(401, "not_authenticated", "Log in, or send Authorization: Bearer <token>.")
    check = CsrfViewMiddleware(lambda r: HttpResponse())
    refusal = check.process_view(request, _no_view, (), {})
    if refusal is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
        return _error(403, "csrf_failed", "Send the CSRF token (X-CSRFToken header).")
    return None


def tus_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Authentication, the Tus-Resumable check and one error shape for every tus view."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "OPTIONS":
            return view(request, *args, **kwargs)
        refusal = _authenticate(request)
        if refusal is not None:
            return refusal
        if request.method != "GET" and request.headers.get("Tus-Resumable") != TUS_VERSION:
            response = _error(412, "tus_version", f"Send Tus-Resumable: {TUS_VERSION}.")
            response["Tus-Version"] = TUS_VERSION
            return response
        try:
            return view(request, *args, **kwargs)
        except UploadError as exc:
            return _error(exc.status, exc.code, exc.message)
        except PermissionDenied as exc:
            return _error(403, "permission_denied", str(exc))
        except Http404 as exc:
            return _error(404, "not_found", str(exc) or "No such upload.")

    return wrapper


def _parse_metadata(header: str) -> dict[str, str]:
    """tus Upload-Metadata: comma-separated "key base64value" pairs."""
    result: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in header.split(","))):
        key, _, encoded = pair.partition(" ")
        try:
            result[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise UploadError(f"Upload-Metadata value of {key!r} is not base64 text.") from exc
    return result


def _checksum_header(request: HttpRequest) -> tuple[str, bytes] | None:
    """tus checksum extension: ``Upload-Checksum: <algorithm> <base64 digest>``, or None."""
    raw = request.headers.get("Upload-Checksum", "").strip()
    if not raw:
        return None
    algorithm, _, encoded = raw.partition(" ")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise UploadError("Send Upload-Checksum as: <algorithm> <base64 of the digest>.") from exc
    if not digest:
        raise UploadError("Send Upload-Checksum as: <algorithm> <base64 of the digest>.")
    return algorithm.strip().lower(), digest


def _int_header(request: HttpRequest, name: str) -> int:
    raw = request.headers.get(name, "")
    if not (raw.isascii() and raw.isdigit()):
        raise UploadError(f"Send {name} as a non-negative integer.")
    return int(raw)


@tus_endpoint
def upload_collection(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _tus_options(Allow="POST, OPTIONS")
    if request.method != "POST":
        return _error(405, "method_not_allowed", "POST creates an upload.")
    membership = api_membership(request)
    if request.headers.get("Upload-Defer-Length"):
        raise UploadError("Send Upload-Length: deferred lengths are not supported.")
    length = _int_header(request, "Upload-Length")
    metadata = _parse_metadata(request.headers.get("Upload-Metadata", ""))
    tape_id = metadata.get("tape", "")
    if not (tape_id.isascii() and tape_id.isdigit() and len(tape_id) <= 18):
        raise UploadError("Name the tape in Upload-Metadata: tape <base64 of its id>.")
    tape = tape_get(institution=membership.institution, pk=int(tape_id))
    upload = upload_create(
        actor=request.user,
        tape=tape,
        filename=metadata.get("filename") or metadata.get("name") or "capture",
        length=length,
        client_sha256=metadata.get("sha256", ""),
        metadata=metadata,
    )
    location = request.build_absolute_uri(reverse("api:uploads:detail", args=[upload.uuid]))
    return _tus_response(
        201, Location=location, Upload_Expires=http_date(upload.expires_at.timestamp())
    )


def _upload_of(request: HttpRequest, upload_id: str) -> ResumableUpload:
    membership = api_membership(request)
    return get_for_institution(
        ResumableUpload.objects.select_related("institution", "tape"),
        membership.institution,
        uuid=upload_id,
    )


@tus_endpoint
def upload_detail(request: HttpRequest, upload_id: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return _tus_options()
    upload = _upload_of(request, upload_id)
    if request.method == "GET":
        return JsonResponse(upload_status(upload))
    if request.method == "DELETE":
        upload_terminate(upload=upload, actor=request.user)
        return _tus_response(204)
    if upload.status in GONE:
        return _error(410, "upload_gone", "This upload expired or was cancelled.")
    if request.method == "HEAD":
        return _tus_response(
            200,
            Upload_Offset=str(upload.offset),
            Upload_Length=str(upload.length),
            Upload_Expires=http_date(upload.expires_at.timestamp()),
        )
    if request.method != "PATCH":
        return _error(405, "method_not_allowed", "Use HEAD, PATCH, DELETE or GET.")
    if request.content_type != OFFSET_CONTENT_TYPE:
        return _error(415, "content_type", f"Send Content-Type: {OFFSET_CONTENT_TYPE}.")
    if "Content-Length" not in request.headers:
        return _error(411, "length_required", "Send Content-Length with each PATCH.")
    upload = upload_append(
        upload=upload,
        offset=_int_header(request, "Upload-Offset"),
        read=request.read,
        content_length=_int_header(request, "Content-Length"),
        checksum=_checksum_header(request),
    )
    return _tus_response(
        204,
        Upload_Offset=str(upload.offset),
        Upload_Expires=http_date(upload.expires_at.timestamp()),
    )


def upload_status(upload: ResumableUpload) -> dict[str, Any]:
    """What a client needs after the last byte: where the capture is, or why it was refused."""
    capture_url = (
        reverse("captures:detail", args=[upload.capture_id]) if upload.capture_id else None
    )
    return {
        "id": str(upload.uuid),
        "status": upload.status,
        "status_label": UploadStatus(upload.status).label,
        "filename": upload.filename,
        "offset": upload.offset,
        "length": upload.length,
        "sha256": upload.sha256 or None,
        "error": upload.error or None,
        "capture": upload.capture_id,
        "capture_url": capture_url,
        "expires_at": upload.expires_at.isoformat(),
        "max_size": upload_size_limit(institution=upload.institution),
    }
