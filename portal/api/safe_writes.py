"""Safe writes: ETag / If-Match / If-None-Match on one object, Idempotency-Key on creates.

- ``ConditionalMixin`` (viewsets): detail reads and writes answer with an ``ETag`` (a hash of
  the JSON representation); ``If-None-Match`` with the current one answers 304; PUT, PATCH and
  DELETE with a stale ``If-Match`` answer 412 and write nothing (428 without one when
  ``API_REQUIRE_IF_MATCH`` is on).
- ``idempotent`` (a decorator of create handlers): the first 2xx answer to a request with an
  ``Idempotency-Key`` is stored per user, institution and key, and replayed for a repeat; the
  same key with a different request answers 422, one still running 409.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.models import IdempotencyRecord
from portal.api.scoping import api_institution

ETAG_ACTIONS = frozenset({"retrieve", "update", "partial_update"})
IF_MATCH_ACTIONS = frozenset({"update", "partial_update", "destroy"})
MAX_KEY_LENGTH = 255


def _now() -> dt.datetime:
    return timezone.now()


class PreconditionFailed(APIException):
    status_code = 412
    default_detail = "The object changed since you read it (If-Match is stale); reload it."
    default_code = "precondition_failed"


class PreconditionRequired(APIException):
    status_code = 428
    default_detail = "Send If-Match with the ETag of the object you are changing."
    default_code = "precondition_required"


class IdempotencyConflict(APIException):
    status_code = 409
    default_detail = "A request with this Idempotency-Key is still running; retry shortly."
    default_code = "idempotency_in_progress"


class IdempotencyMismatch(APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was used with a different request; use a new key."
    default_code = "idempotency_key_reused"


class IdempotencyKeyInvalid(APIException):
    status_code = 400
    default_detail = f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters."
    default_code = "invalid"


def etag_of(data: Any) -> str:
    body = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def _etags_in(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


class ConditionalMixin:
    """ETag on detail representations, If-None-Match (304) and If-Match (412/428)."""

    etag_enabled = True
    action: str | None
    request: Request

    def current_etag(self, instance: Any) -> str:
        return etag_of(self.get_serializer(instance).data)  # type: ignore[attr-defined]

    def get_object(self) -> Any:
        instance = super().get_object()  # type: ignore[misc]
        if self.action in IF_MATCH_ACTIONS:
            self.check_if_match(instance)
        return instance

    def check_if_match(self, instance: Any) -> None:
        header = self.request.headers.get("If-Match", "").strip()
        if not header:
            if settings.API_REQUIRE_IF_MATCH:
                raise PreconditionRequired()
            return
        if header == "*":
            return
        if self.current_etag(instance) not in _etags_in(header):
            raise PreconditionFailed()

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        if (
            self.action in ETAG_ACTIONS
            and isinstance(response, Response)
            and response.status_code == 200
            and isinstance(response.data, dict)
        ):
            etag = etag_of(response.data)
            if self.action == "retrieve" and etag in _etags_in(
                request.headers.get("If-None-Match", "")
            ):
                response = Response(status=status.HTTP_304_NOT_MODIFIED)
            response["ETag"] = etag
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]


def request_fingerprint(request: Request) -> str:
    """Method, path and body: JSON as parsed (key order ignored), files by their content."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    content_type = request.content_type or ""
    if content_type.startswith("multipart/"):
        for name in sorted(request.data):
            digest.update(f"{name}={request.data.get(name)}\n".encode())
        for name in sorted(request.FILES):
            upload = request.FILES[name]
            sha = getattr(upload, "sha256", "")
            if not sha:
                file_hash = hashlib.sha256()
                for chunk in upload.chunks():
                    file_hash.update(chunk)
                upload.seek(0)
                sha = file_hash.hexdigest()
            digest.update(f"{name}:{sha}\n".encode())
    elif content_type.startswith("application/json"):
        digest.update(json.dumps(request.data, sort_keys=True, default=str).encode())
    else:
        digest.update(request.body if not request._request._read_started else b"")
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    if record.location:
        response["Location"] = record.location
    return response


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a create handler (``def create(self, request, ...)``) with Idempotency-Key."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return handler(view, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise IdempotencyKeyInvalid()
        institution = api_institution(request)
        fingerprint = request_fingerprint(request)
        cutoff = _now() - dt.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
        scope = {"user": request.user, "institution": institution, "key": key}
        IdempotencyRecord.objects.filter(**scope, created_at__lt=cutoff).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    **scope, fingerprint=fingerprint, created_at=_now()
                )
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(**scope).first()
            if existing is None:  # expired and deleted in between: treat as in progress
                raise IdempotencyConflict() from None
            if existing.fingerprint != fingerprint:
                raise IdempotencyMismatch() from None
            if existing.status_code is None:
                raise IdempotencyConflict() from None
            return _replay(existing)
        try:
            response = handler(view, request, *args, **kwargs)
        except BaseException:
            record.delete()  # a failed request may be retried with the same key
            raise
        if 200 <= response.status_code < 300:
            record.status_code = response.status_code
            record.response_body = json.loads(json.dumps(response.data, default=str))
            record.location = response.get("Location", "")
            record.save(update_fields=["status_code", "response_body", "location"])
        else:
            record.delete()
        return response

    return wrapper
