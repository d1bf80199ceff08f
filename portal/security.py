"""Security headers Django 5.2 does not set itself: Content-Security-Policy and
Permissions-Policy.

Scripts run only from this site's static files (``script-src 'self'``): no inline scripts, no
inline event handlers (templates use ``data-confirm`` / ``data-autosubmit``, wired up by
``static/js/portal.js``). Inline styles stay allowed: a few templates carry small page styles,
and styles cannot run code. The offline API docs (Swagger UI / Redoc, third-party templates
with an inline bootstrap script) get ``'unsafe-inline'`` scripts on their own paths only.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

_BASE = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "worker-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
_DOCS_PATHS = ("/api/docs/", "/api/redoc/")


def _policy(overrides: dict[str, str] | None = None) -> str:
    return "; ".join(f"{key} {value}" for key, value in {**_BASE, **(overrides or {})}.items())


CONTENT_SECURITY_POLICY = _policy()
DOCS_CONTENT_SECURITY_POLICY = _policy({"script-src": "'self' 'unsafe-inline'"})
# Features no page of the portal uses; video playback and fullscreen stay allowed.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "interest-cohort",
    )
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = (
            DOCS_CONTENT_SECURITY_POLICY
            if request.path.startswith(_DOCS_PATHS)
            else CONTENT_SECURITY_POLICY
        )
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
