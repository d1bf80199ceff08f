from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from portal.api.exceptions import error_body


def api_not_found(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("not_found", f"No API endpoint at {request.path}. See /api/docs/."), status=404
    )
