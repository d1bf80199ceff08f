"""Capture pages and media: upload with progress, detail with player, range-served files.

Every view resolves the active institution through ``member_required`` and reads through the
scoped selectors, so another institution's capture is a 404, files included.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Role, member_required, role_at_least
from accounts.selectors import current_membership, get_for_institution
from portal.captures.exceptions import CaptureError
from portal.captures.media import serve_file_with_ranges
from portal.captures.models import Capture
from portal.captures.selectors import capture_get
from portal.captures.services import (
    capture_create,
    capture_delete,
    capture_proxy_retry,
    upload_too_large_error,
)
from portal.captures.uploadhandler import TOO_LARGE_ATTR
from portal.catalog.models import Tape
from portal.uploads.services import upload_size_limit

MIME_BY_EXTENSION = {
    ".mkv": "video/x-matroska",
    ".mka": "audio/x-matroska",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".avi": "video/x-msvideo",
    ".dv": "video/x-dv",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".ts": "video/mp2t",
    ".mxf": "application/mxf",
    ".webm": "video/webm",
}


def original_content_type(capture: Capture) -> str:
    suffix = (
        "." + capture.original.name.rsplit(".", 1)[-1].lower()
        if "." in capture.original.name
        else ""
    )
    return MIME_BY_EXTENSION.get(suffix, "application/octet-stream")


def tape_url(tape: Tape) -> str:
    return reverse("catalog:tape_detail", args=[tape.pk])


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get(
        "X-Requested-With"
    ) == "XMLHttpRequest" or "application/json" in request.headers.get("Accept", "")


@member_required(Role.ARCHIVIST)
@require_http_methods(["GET", "POST"])
def capture_upload(request: HttpRequest, tape_pk: int) -> HttpResponse:
    institution = request.institution  # type: ignore[attr-defined]
    tape: Tape = get_for_institution(Tape.objects.all(), institution, pk=tape_pk)
    error = ""
    if request.method == "POST":
        try:
            capture = _create_from_request(request, tape)
        except CaptureError as exc:
            error, code, status = exc.message, exc.code, exc.status
        else:
            url = reverse("captures:detail", args=[capture.pk])
            if _wants_json(request):
                return JsonResponse({"id": capture.pk, "url": url}, status=201)
            messages.success(request, f"Capture “{capture.original_filename}” uploaded.")
            return redirect(url)
        if _wants_json(request):
            return JsonResponse({"error": {"code": code, "message": error}}, status=status)
    context = {
        "tape": tape,
        "tape_url": tape_url(tape),
        "error": error,
        "max_upload_size": upload_size_limit(institution=institution),
        "upload_chunk_size": settings.UPLOAD_CHUNK_SIZE,
    }
    return render(request, "captures/upload.html", context, status=400 if error else 200)


def _create_from_request(request: HttpRequest, tape: Tape) -> Capture:
    upload = request.FILES.get("file")
    if getattr(request, TOO_LARGE_ATTR, False):
        raise upload_too_large_error()
    if upload is None:
        raise _NoFile("Choose a video file to upload.")
    return capture_create(tape=tape, upload=upload, actor=request.user)


class _NoFile(CaptureError):
    code = "no_file"


@member_required(Role.ARCHIVIST)
@require_GET
def capture_detail(request: HttpRequest, pk: int) -> HttpResponse:
    capture = capture_get(institution=request.institution, pk=pk)  # type: ignore[attr-defined]
    context = {
        "capture": capture,
        "tape": capture.tape,
        "tape_url": tape_url(capture.tape),
        "metadata": capture.technical_metadata(),
        "can_delete": role_at_least(request.membership, Role.MANAGER),  # type: ignore[attr-defined]
    }
    return render(request, "captures/detail.html", context)


@member_required(Role.ARCHIVIST)
@require_GET
def capture_status(request: HttpRequest, pk: int) -> JsonResponse:
    """Proxy status, polled by the detail page while the proxy is being made."""
    capture = capture_get(institution=request.institution, pk=pk)  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "proxy_status": capture.proxy_status,
            "proxy_status_label": capture.get_proxy_status_display(),
            "proxy_error": capture.proxy_error,
            "proxy_progress": round(capture.proxy_progress, 3),
            "proxy_url": reverse("captures:proxy", args=[capture.pk])
            if capture.proxy_ready
            else None,
        }
    )


@member_required(Role.ARCHIVIST)
@require_POST
def capture_retry_proxy(request: HttpRequest, pk: int) -> HttpResponse:
    capture = capture_get(institution=request.institution, pk=pk)  # type: ignore[attr-defined]
    if capture_proxy_retry(capture=capture, actor=request.user):
        messages.success(request, "The browser copy is queued again.")
    else:
        messages.warning(request, "The browser copy has not failed; nothing to retry.")
    return redirect("captures:detail", pk=capture.pk)


@member_required(Role.ARCHIVIST)
@require_POST
def capture_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    capture = capture_get(institution=request.institution, pk=pk)  # type: ignore[attr-defined]
    tape = capture.tape
    try:
        capture_delete(capture=capture, actor=request.user)
    except (PermissionDenied, CaptureError) as exc:
        messages.error(request, str(exc))
        return redirect("captures:detail", pk=capture.pk)
    messages.success(request, f"Capture “{capture.original_filename}” deleted.")
    return redirect(tape_url(tape))


def _media(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    capture = capture_get(institution=request.institution, pk=pk)  # type: ignore[attr-defined]
    stem = capture.original_filename.rsplit(".", 1)[0]
    if kind == "original":
        return serve_file_with_ranges(
            request,
            capture.original,
            original_content_type(capture),
            capture.original_filename,
            as_attachment="download" in request.GET,
        )
    if kind == "proxy":
        return serve_file_with_ranges(request, capture.proxy, "video/mp4", f"{stem}.proxy.mp4")
    return serve_file_with_ranges(request, capture.poster, "image/jpeg", f"{stem}.poster.jpg")


def media_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Media URLs answer 404 to anonymous users and non-members, never a login redirect: a
    file URL must not even reveal that it exists."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated or current_membership(request) is None:
            raise Http404("No such file.")
        return view(request, *args, **kwargs)

    return require_http_methods(["GET", "HEAD"])(wrapper)


@media_view
def capture_original(request: HttpRequest, pk: int) -> HttpResponse:
    return _media(request, pk, "original")


@media_view
def capture_proxy(request: HttpRequest, pk: int) -> HttpResponse:
    return _media(request, pk, "proxy")


@media_view
def capture_poster(request: HttpRequest, pk: int) -> HttpResponse:
    return _media(request, pk, "poster")
