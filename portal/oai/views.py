"""The OAI-PMH endpoint (``/oai/``, GET and POST as the protocol allows; no login)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from portal.oai.provider import Provider


@csrf_exempt  # harvesters POST form-encoded arguments; the endpoint only reads public records
@require_http_methods(["GET", "POST"])
def oai_pmh(request: HttpRequest) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    provider = Provider(request.build_absolute_uri(request.path))
    body = provider.respond({name: params.getlist(name) for name in params})
    return HttpResponse(body, content_type="text/xml; charset=utf-8")
