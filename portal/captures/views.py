"""Capture pages and media: upload with progress, detail with player, range-served files.

Every view resolves the active institution through ``member_required`` and reads through the
scoped selectors, so another institution's capture is a 404, files included.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import (
    InstitutionRequest,
    Role,
    member_required,
)
from portal.captures.exceptions import CaptureError
from portal.captures.models import Capture
from portal.captures.rules import capture_delete_refusal
from portal.captures.selectors import capture_get
from portal.captures.services import (
    capture_create,
    capture_delete,
    capture_proxy_retry,
    upload_size_limit,
    upload_too_large_error,
)
from portal.captures.uploadhandler import TOO_LARGE_ATTR
from portal.catalog.models import Tape
from portal.catalog.selectors import tape_get
from portal.media import content_type_for, media_view, serve_file_with_ranges


def tape_url(tape: Tape) -> str:
    return reverse("catalog:tape_detail", args=[tape.pk])


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get(
        "X-Requested-With"
    ) == "XMLHttpRequest" or "application/json" in request.headers.get("Accept", "")


@member_required(Role.ARCHIVIST)
@require_http_methods(["GET", "POST"])
def capture_upload(request: InstitutionRequest, tape_pk: int) -> HttpResponse:
    institution = request.institution
    tape = tape_get(institution=institution, pk=tape_pk)
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


def _create_from_request(request: InstitutionRequest, tape: Tape) -> Capture:
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
def capture_detail(request: InstitutionRequest, pk: int) -> HttpResponse:
    capture = capture_get(institution=request.institution, pk=pk)
    context = {
        "capture": capture,
        "tape": capture.tape,
        "tape_url": tape_url(capture.tape),
        "metadata": capture.technical_metadata(),
        "can_delete": capture_delete_refusal(membership=request.membership, capture=capture)
        is None,
    }
    return render(request, "captures/detail.html", context)


@member_required(Role.ARCHIVIST)
@require_GET
def capture_status(request: InstitutionRequest, pk: int) -> JsonResponse:
    """Proxy status, polled by the detail page while the proxy is being made."""
    capture = capture_get(institution=request.institution, pk=pk)
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
def capture_retry_proxy(request: InstitutionRequest, pk: int) -> HttpResponse:
    capture = capture_get(institution=request.institution, pk=pk)
    if capture_proxy_retry(capture=capture, actor=request.user):
        messages.success(request, "The browser copy is queued again.")
    else:
        messages.warning(request, "The browser copy has not failed; nothing to retry.")
    return redirect("captures:detail", pk=capture.pk)


@member_required(Role.ARCHIVIST)
@require_POST
def capture_delete_view(request: InstitutionRequest, pk: int) -> HttpResponse:
    capture = capture_get(institution=request.institution, pk=pk)
    tape = capture.tape
    try:
        capture_delete(capture=capture, actor=request.user, membership=request.membership)
    except (PermissionDenied, CaptureError) as exc:
        messages.error(request, str(exc))
        return redirect("captures:detail", pk=capture.pk)
    messages.success(request, f"Capture “{capture.original_filename}” deleted.")
    return redirect(tape_url(tape))


def _media(request: InstitutionRequest, pk: int, kind: str) -> HttpResponse:
    capture = capture_get(institution=request.institution, pk=pk)
    stem = capture.original_filename.rsplit(".", 1)[0]
    if kind == "original":
        return serve_file_with_ranges(
            request,
            capture.original,
            content_type_for(capture.original.name),
            capture.original_filename,
            as_attachment="download" in request.GET,
        )
    if kind == "proxy":
        return serve_file_with_ranges(request, capture.proxy, "video/mp4", f"{stem}.proxy.mp4")
    return serve_file_with_ranges(request, capture.poster, "image/jpeg", f"{stem}.poster.jpg")


@media_view
def capture_original(request: InstitutionRequest, pk: int) -> HttpResponse:
    return _media(request, pk, "original")


@media_view
def capture_proxy(request: InstitutionRequest, pk: int) -> HttpResponse:
    return _media(request, pk, "proxy")


@media_view
def capture_poster(request: InstitutionRequest, pk: int) -> HttpResponse:
    return _media(request, pk, "poster")
