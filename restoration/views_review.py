"""The review room's data: frame comments and markers, exact original frames, and the side by
side comparison of two versions of one capture. The version page itself is
``restoration.views.version_detail``; both pages feed static/js/review.js the same shape of
data (``review_data``)."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Role
from accounts.permissions import InstitutionRequest, member_required, role_at_least
from portal.media import media_view, serve_file_with_ranges
from restoration import selectors, services
from restoration.exceptions import RestorationError
from restoration.models import FrameComment, RestoredVersion
from restoration.parameters import option_rows
from restoration.thumbnails import original_frame


def _pane(version: RestoredVersion, *, label: str) -> dict[str, Any]:
    return {
        "url": reverse("restoration:version_access", args=[version.pk]),
        "start": version.frame_start,
        "end": version.frame_end,
        "label": label,
        "version_id": version.pk,
    }


def review_data(
    *, version: RestoredVersion, compare_with: RestoredVersion | None = None
) -> dict[str, Any]:
    """What review.js needs: two panes ("a" left/before, "b" right/after, the clock), the frame
    range both cover (capture frame numbers), and the URLs of scores, comments and originals."""
    b = _pane(version, label=f"After: version #{version.pk}")
    if compare_with is None:
        capture = version.capture
        a = {
            "url": reverse("captures:proxy", args=[capture.pk]) if capture.proxy_ready else None,
            "start": 0,
            "end": capture.frame_count or version.frame_end,
            "label": "Before: capture",
            "version_id": None,
        }
        first, end = version.frame_start, version.frame_end
    else:
        a = _pane(compare_with, label=f"A: version #{compare_with.pk}")
        b["label"] = f"B: version #{version.pk}"
        first = max(version.frame_start, compare_with.frame_start)
        end = min(version.frame_end, compare_with.frame_end)
    return {
        "frame_rate": version.frame_rate,
        "first": first,
        "end": end,
        "a": a,
        "b": b,
        "compare": compare_with is not None,
        "scores_url": reverse("restoration:version_scores", args=[version.pk]),
        "scores_start": version.frame_start,
        "comments_url": reverse("restoration:version_comments", args=[version.pk]),
        "original_url": reverse("restoration:version_original", args=[version.pk, 0]).rsplit(
            "/0.png", 1
        )[0]
        + "/",
    }


def comment_json(comment: FrameComment, frame_rate: str) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "frame": comment.frame,
        "timecode": services.frame_timecode(frame=comment.frame, frame_rate=frame_rate),
        "text": comment.text,
        "author": comment.author.get_username(),
        "created_at": comment.created_at.isoformat(),
    }


@member_required(Role.ARCHIVIST)
@require_http_methods(["GET", "POST"])
def version_comments(request: InstitutionRequest, version_id: int) -> JsonResponse:
    """GET: the version's frame comments and markers. POST (reviewers; JSON or form body with
    ``frame`` and optional ``text``): add one; answers it, or ``{"error": ...}`` with 400."""
    institution = request.institution
    version = selectors.version_get(institution=institution, version_id=version_id)
    if request.method == "POST":
        if not role_at_least(request.membership, Role.REVIEWER):
            return JsonResponse({"error": "Reviewers and managers comment on frames."}, status=403)
        try:
            body = (
                json.loads(request.body or b"{}")
                if request.content_type == "application/json"
                else request.POST
            )
            frame = int(body.get("frame", ""))
        except (ValueError, TypeError):
            return JsonResponse({"error": "Say which frame: a whole frame number."}, status=400)
        try:
            comment = services.version_comment_add(
                actor=request.user, version=version, frame=frame, text=str(body.get("text", ""))
            )
        except (RestorationError, PermissionDenied) as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        return JsonResponse(comment_json(comment, version.frame_rate), status=201)
    comments = selectors.version_frame_comments(version=version)
    return JsonResponse({"comments": [comment_json(c, version.frame_rate) for c in comments]})


@media_view
def version_original(request: InstitutionRequest, version_id: int, frame: int) -> HttpResponse:
    version = selectors.version_get(institution=request.institution, version_id=version_id)
    stored = original_frame(version=version, frame=frame)
    response = serve_file_with_ranges(request, stored, "image/png", f"original-{frame}.png")
    response["Cache-Control"] = "private, max-age=86400"
    return response


@member_required(Role.ARCHIVIST)
@require_GET
def version_compare(request: InstitutionRequest, version_id: int, other_id: int) -> HttpResponse:
    """Two versions of the same capture side by side (e.g. two strengths or two models)."""
    institution = request.institution
    version = selectors.version_get(institution=institution, version_id=version_id)
    other = selectors.version_get(institution=institution, version_id=other_id)
    if other.capture_id != version.capture_id or other.pk == version.pk:
        raise Http404("Only two different versions of the same capture can be compared.")
    data = review_data(version=version, compare_with=other)
    if data["first"] >= data["end"]:
        raise Http404("These two versions share no frames of the capture.")
    return render(
        request,
        "restoration/version_compare.html",
        {
            "version": version,
            "other": other,
            "review_data": data,
            "rows": compare_rows(version=other, other=version),
        },
    )


def compare_rows(*, version: RestoredVersion, other: RestoredVersion) -> list[tuple[str, str, str]]:
    """(what, A, B) for the options that tell the two versions apart (and the shared ones)."""

    a = dict(option_rows(version.job.parameters))
    b = dict(option_rows(other.job.parameters))
    rows = [
        (
            "frames",
            f"{version.frame_start}–{version.frame_end - 1}",
            f"{other.frame_start}–{other.frame_end - 1}",
        ),
        ("model", version.model_variant, other.model_variant),
    ]
    for name in list(a) + [n for n in b if n not in a]:
        if name == "model":
            continue
        rows.append((name, a.get(name, "—"), b.get(name, "—")))
    return rows
