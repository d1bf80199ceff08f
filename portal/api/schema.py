"""The OpenAPI schema says everything the server can answer (checked by a contract test).

``PortalAutoSchema`` adds what every operation shares instead of repeating it per view:

- the ``X-Institution`` header on every institution-scoped operation;
- the error responses each operation can give, all in the one error envelope
  (``portal.api.exceptions``): 400 (bad or unknown parameters), 401, 403, 404 (also an unknown
  ``X-Institution``), 406, 429, and where they apply 412/428 (``If-Match``), 422/409
  (``Idempotency-Key``), 413/415 (bodies);
- ``ETag``/``If-None-Match`` (304) on detail reads, ``If-Match`` on writes to one object,
  ``Idempotency-Key`` on creates.

Views opt in by attributes (``ConditionalMixin``, ``IdempotentCreateMixin``), so the schema
documents exactly the views that implement the behaviour.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers

from portal.api.scoping import INSTITUTION_HEADER

INSTITUTION_PARAMETER = OpenApiParameter(
    INSTITUTION_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Slug of the institution to act for (only needed when you belong to several; "
    "an institution you do not belong to answers 404).",
)
IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag of the representation you changed; a stale one answers 412 "
    "(`precondition_failed`) and nothing is written.",
)
IF_NONE_MATCH_PARAMETER = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="An ETag you hold; 304 (no body) when it is still current.",
)
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique string (e.g. a UUID), at most 255 characters. Sending the same key "
    "again (same user and institution, within 24 hours) returns the first result instead of "
    "creating twice; the same key with a different body answers 422.",
)
ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=["200", "201"],
    description="Version of the representation; send it back in `If-Match` to write safely.",
)


@extend_schema_field({"type": "object", "additionalProperties": True, "nullable": True})
class ErrorDetailsField(serializers.JSONField):
    pass


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable, e.g. `not_found`.")
    message = serializers.CharField(help_text="For a person: what is wrong, what to do.")
    details = ErrorDetailsField(
        allow_null=True,
        help_text="Per-field messages of a validation error (or `rows` of a bulk write); "
        "null otherwise.",
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    "400": "Invalid parameters or body (unknown query parameters and ordering fields included).",
    "401": "Not authenticated (no, unknown, revoked or expired token).",
    "403": "Authenticated but not allowed (role, or a read-only token on a write).",
    "404": "No such object in your institution (or an unknown `X-Institution`).",
    "406": "The `Accept` header asks for a media type this operation does not give.",
    "409": "Conflict: the object is not in a state that allows this (the message says why), "
    "or a request with this `Idempotency-Key` is still being processed.",
    "412": "`If-Match` does not match the current ETag: reload, then write again.",
    "413": "The upload is larger than the server accepts.",
    "415": "Unsupported request media type.",
    "422": "This `Idempotency-Key` was used with a different request.",
    "428": "This write requires an `If-Match` header (server policy).",
    "429": "Too many requests; wait as `Retry-After` says.",
}


def error_response(status: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=ERROR_DESCRIPTIONS[status])


def media_responses(content_type: str, *, ranges: bool = True) -> dict[Any, Any]:
    """Responses of a file download: bytes, a byte range, 304 for a copy the client already
    holds, or a redirect to object storage."""
    binary = OpenApiTypes.BINARY
    responses: dict[Any, Any] = {
        (200, content_type): OpenApiResponse(binary, description="The whole file."),
        302: OpenApiResponse(
            description="On object storage (S3): a redirect to a short-lived signed URL "
            "(`Location` header); the object store answers ranges and conditions itself."
        ),
        304: OpenApiResponse(
            description="Not modified: `If-None-Match` names the file's current `ETag`, or "
            "(without `If-None-Match`) it has not changed since `If-Modified-Since`. No body."
        ),
    }
    if ranges:
        responses[(206, content_type)] = OpenApiResponse(
            binary, description="The requested byte range (`Content-Range` header)."
        )
        responses[416] = OpenApiResponse(
            description="The range starts beyond the end of the file (`Content-Range: bytes */N`)."
        )
    return responses


MEDIA_HEADERS = [
    OpenApiParameter(
        "Range",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="e.g. `bytes=0-1048575`; answered with 206 or 416.",
    ),
    OpenApiParameter(
        "If-Range",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="The `ETag` (or `Last-Modified` date) of the copy you hold part of: the "
        "`Range` applies only if the file is still that one, otherwise the whole file is sent "
        "(200), so a resumed download never mixes two files.",
    ),
    OpenApiParameter(
        "If-None-Match",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="The `ETag` of the copy you hold; 304 (no body) while it is current.",
    ),
    OpenApiParameter(
        "If-Modified-Since",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        description="An HTTP date (e.g. the `Last-Modified` you got); 304 when the file has "
        "not changed since. Ignored when `If-None-Match` is sent.",
    ),
    OpenApiParameter(
        "ETag",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=["200", "206", "304", "416"],
        description="Identifies this version of the file (send it in `If-None-Match` or "
        "`If-Range`).",
    ),
    OpenApiParameter(
        "Last-Modified",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=["200", "206", "304", "416"],
        description="When the stored file was last written (HTTP date).",
    ),
    OpenApiParameter(
        "Location",
        OpenApiTypes.URI,
        OpenApiParameter.HEADER,
        response=["302"],
        description="Signed URL of the object (valid for a few minutes).",
    ),
    OpenApiParameter(
        "Content-Range",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=["206", "416"],
        description="`bytes first-last/size` (206) or `bytes */size` (416).",
    ),
]


def _path_is_detail(path: str) -> bool:
    return "{id}" in path or "{pk}" in path


class PortalAutoSchema(AutoSchema):
    """AutoSchema with the shared headers and the error envelope on every operation."""

    def _is_scoped(self) -> bool:
        return getattr(self.view, "institution_scoped", True) and self.get_auth() != []

    def _supports_etag(self) -> bool:
        action = getattr(self.view, "action", None)
        return bool(getattr(self.view, "etag_enabled", False)) and action in (
            "retrieve",
            "update",
            "partial_update",
            "destroy",
        )

    def _reads_query(self) -> bool:
        """A list-like GET whose query parameters are checked (unknown ones answer 400)."""
        action = getattr(self.view, "action", None)
        if action is None:
            return self.method == "GET" and not _path_is_detail(self.path)
        return action in getattr(self.view, "strict_query_actions", ("list",))

    def _supports_idempotency(self) -> bool:
        actions = getattr(self.view, "idempotent_actions", ())
        return self.method == "POST" and getattr(self.view, "action", None) in actions

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        extra: list[Any] = []
        if self._is_scoped():
            extra.append(INSTITUTION_PARAMETER)
        if self._supports_etag():
            if self.method == "GET":
                extra += [IF_NONE_MATCH_PARAMETER, ETAG_HEADER]
            elif self.method in ("PUT", "PATCH", "DELETE"):
                extra.append(IF_MATCH_PARAMETER)
                if self.method != "DELETE":
                    extra.append(ETAG_HEADER)
        if self._supports_idempotency():
            extra.append(IDEMPOTENCY_PARAMETER)
        names = {p.name for p in parameters if isinstance(p, OpenApiParameter)}
        return parameters + [p for p in extra if p.name not in names]

    def _error_statuses(self) -> list[str]:
        statuses = ["406", "429"]
        if self.method != "GET" or self._reads_query():
            statuses.append("400")
        if self.get_auth() != []:
            statuses += ["401", "403"]
        if self._is_scoped() or _path_is_detail(self.path) or self._reads_query():
            statuses.append("404")  # also a page number past the end of a list
        if self.method in ("POST", "PUT", "PATCH"):
            statuses += ["413", "415"]
        if self._supports_etag() and self.method in ("PUT", "PATCH", "DELETE"):
            statuses += ["412", "428"]
        if self._supports_idempotency():
            statuses += ["409", "422"]
        statuses += [str(code) for code in getattr(self.view, "extra_error_statuses", ())]
        return sorted(set(statuses))

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = self._get_response_for_code(
                    error_response(status), status, ["application/json"], direction
                )
        if self._supports_etag() and self.method == "GET" and "304" not in responses:
            responses["304"] = {"description": "Not modified (the `If-None-Match` ETag)."}
        return dict(sorted(responses.items()))


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A managed API token (`tap_...`), sent as `Authorization: Bearer "
            "<token>`. Create tokens on /account/tokens/ or with POST /api/v1/tokens/.",
        }
