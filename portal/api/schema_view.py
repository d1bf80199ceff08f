"""/api/schema/: the OpenAPI document, shown by a browser instead of downloaded.

drf-spectacular answers ``application/vnd.oai.openapi`` (YAML), which browsers save as a file.
A browser (or anything that accepts ``*/*`` or ``text/plain``) now gets the same YAML as
``text/plain; charset=utf-8``, displayed inline; clients that ask for the OpenAPI media types
(``Accept: application/vnd.oai.openapi`` or ``...+json``) get them as before. (There is no
``?format=``: URL format overrides are off in the whole API.)
"""

from __future__ import annotations

from drf_spectacular.renderers import OpenApiYamlRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView

_YAML = OpenApiResponse(OpenApiTypes.STR, description="This OpenAPI document (YAML).")
_JSON = OpenApiResponse(OpenApiTypes.OBJECT, description="This OpenAPI document (JSON).")


class YamlAsTextRenderer(OpenApiYamlRenderer):
    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"


class SchemaView(SpectacularAPIView):
    # First: a request accepting anything (a browser's */*) gets the readable text.
    renderer_classes = [YamlAsTextRenderer, *SpectacularAPIView.renderer_classes]

    @extend_schema(
        responses={
            (200, "text/plain"): _YAML,
            (200, "application/vnd.oai.openapi"): _YAML,
            (200, "application/yaml"): _YAML,
            (200, "application/vnd.oai.openapi+json"): _JSON,
            (200, "application/json"): _JSON,
        },
        description="The OpenAPI 3 document of this API; the `Accept` header picks YAML or "
        "JSON (a browser gets YAML as text to read).",
    )
    def get(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().get(request, *args, **kwargs)
        if getattr(response, "accepted_media_type", "").startswith("text/plain"):
            response["Content-Disposition"] = 'inline; filename="schema.yaml"'
        return response


_REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
_redoc_bundle: bytes | None = None


def redoc_bundle(request):  # type: ignore[no-untyped-def]
    """Redoc's standalone bundle from drf-spectacular-sidecar, with the one address it fetches
    from the internet by itself (its sidebar logo on cdn.redoc.ly) replaced by an empty image,
    so the API reference page never leaves this server."""
    from pathlib import Path

    import drf_spectacular_sidecar
    from django.http import HttpResponse

    global _redoc_bundle
    if _redoc_bundle is None:
        path = Path(drf_spectacular_sidecar.__file__).parent / "static/drf_spectacular_sidecar"
        bundle = (path / "redoc/bundles/redoc.standalone.js").read_bytes()
        _redoc_bundle = bundle.replace(
            _REDOC_CDN_LOGO, b"data:image/gif;base64,R0lGODlhAQABAAAAACw="
        )
    response = HttpResponse(_redoc_bundle, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response
