"""Restore several captures with the same options (the tape list's bulk "Restore…").

The selection arrives as ``?tape=<id>`` (each tape's newest capture, from the tape list) and/or
``?capture=<id>`` (from the captures list);
one job per capture is requested through ``services.job_request`` (each audited)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.models import Role
from accounts.permissions import InstitutionRequest, member_required
from portal.captures.models import Capture
from portal.catalog.models import Tape
from portal.selection import selected_ids
from restoration import services
from restoration.exceptions import RestorationError
from restoration.forms import JobRequestForm

MAX_BULK = 200


def _ids(values: list[str]) -> list[int]:
    return selected_ids(values, limit=MAX_BULK)


def bulk_selection(
    *, institution: Any, tape_ids: list[int], capture_ids: list[int]
) -> tuple[list[Capture], list[Tape]]:
    """The captures to restore (newest capture of each tape, plus the captures named) and the
    selected tapes that have no capture (reported, not silently dropped)."""
    captures: dict[int, Capture] = {}
    without: list[Tape] = []
    for tape in Tape.objects.for_institution(institution).filter(pk__in=tape_ids):
        newest = tape.captures.order_by("-created_at", "-pk").first()
        if newest is None:
            without.append(tape)
        else:
            captures[newest.pk] = newest
    for capture in Capture.objects.for_institution(institution).filter(pk__in=capture_ids):
        captures[capture.pk] = capture
    ordered = sorted(captures.values(), key=lambda c: (c.tape.identifier, c.pk))
    return ordered, without


def _short_captures(captures: list[Capture]) -> set[int]:
    """Captures no longer than the preview length: a "preview" of them is the whole capture."""
    from restoration.parameters import DEFAULT_PREVIEW_SECONDS

    return {c.pk for c in captures if c.duration_s and c.duration_s <= DEFAULT_PREVIEW_SECONDS}


@member_required(Role.ARCHIVIST)
@require_http_methods(["GET", "POST"])
def bulk_restore(request: InstitutionRequest) -> HttpResponse:
    institution = request.institution
    source = request.POST if request.method == "POST" else request.GET
    tape_ids, capture_ids = _ids(source.getlist("tape")), _ids(source.getlist("capture"))
    captures, without = bulk_selection(
        institution=institution, tape_ids=tape_ids, capture_ids=capture_ids
    )
    form = JobRequestForm(
        request.POST or None,
        default_model=settings.RESTORATION_DEFAULT_MODEL,
        default_scorer=settings.RESTORATION_DEFAULT_SCORER,
    )
    # Back to the list the selection came from: captures chosen one by one or whole tapes.
    from_captures = bool(capture_ids) and not tape_ids
    back = ("captures:list", "Captures") if from_captures else ("catalog:tape_list", "Catalog")
    for capture_specific in ("frame_start", "frame_end"):
        form.fields.pop(capture_specific, None)  # each capture is restored whole
    if request.method == "POST" and form.is_valid():
        if not captures:
            messages.error(request, "None of the selected tapes has a capture to restore.")
            return redirect(back[0])
        queued, refused = [], []
        for capture in captures:
            try:
                job = services.job_request(
                    actor=request.user, capture=capture, parameters=form.parameters()
                )
            except (RestorationError, PermissionDenied) as exc:
                refused.append(f"{capture.original_filename}: {exc}")
            else:
                queued.append(job.pk)
        if queued:
            messages.success(
                request,
                f"{len(queued)} job{'s' if len(queued) != 1 else ''} queued with the same options.",
            )
        short = [c for c in captures if c.pk in _short_captures(captures)]
        if form.parameters().get("preview") and short:
            names = ", ".join(c.original_filename for c in short)
            messages.warning(
                request,
                f"Shorter than the preview, so their preview restores the whole capture: {names}.",
            )
        for reason in refused:
            messages.error(request, f"Not queued: {reason}")
        return redirect("restoration:job_list")
    return render(
        request,
        "restoration/bulk_restore.html",
        {
            "form": form,
            "captures": captures,
            "without": without,
            "tape_ids": tape_ids,
            "capture_ids": capture_ids,
            "short_ids": _short_captures(captures),
            "back_url": reverse(back[0]),
            "back_label": back[1],
        },
    )
