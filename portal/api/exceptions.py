"""One JSON error shape for every API error.

    {"error": {"code": "not_found", "message": "No tape found.", "details": {...}}}

``code`` is stable and machine-readable, ``message`` is for a person, ``details`` carries
per-field validation messages (or is null). Unexpected exceptions are logged and answered as
``server_error`` so a client never receives an HTML error page.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.exceptions import ApplicationError

logger = logging.getLogger(__name__)

_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "upload_too_large",
    415: "unsupported_media_type",
    429: "throttled",
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _message_of(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _message_of(detail[0])
    if isinstance(detail, dict) and detail:
        return _message_of(next(iter(detail.values())))
    return str(detail)


def _invalid_message(details: Any) -> str:
    # Only errors not tied to a field (e.g. wrong password at the token endpoint): say them,
    # rather than "Some fields are invalid: non_field_errors."
    if list(details) == ["non_field_errors"]:
        return " ".join(str(item) for item in details["non_field_errors"]) or "Invalid request."
    return "Some fields are invalid: " + ", ".join(str(key) for key in details) + "."


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.extra or None), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        # Model validation inside a service (full_clean): same shape as serializer errors.
        details = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        message = _invalid_message(details)
        return Response(error_body("invalid", message, details), status=400)
    if isinstance(exc, Http404):
        # Objects of other institutions are indistinguishable from missing ones.
        return Response(error_body("not_found", str(exc) or "Not found."), status=404)
    if isinstance(exc, PermissionDenied):
        return Response(
            error_body("permission_denied", str(exc) or "You may not do this."), status=403
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(
            error_body("server_error", "Something went wrong on the server; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = _invalid_message(details)
        response.data = error_body("invalid", message, details)
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else None
        response.data = error_body(
            code or _CODES.get(response.status_code, "error"), _message_of(exc.detail)
        )
    return response
