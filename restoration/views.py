"""Restoration pages: request a job, job list with live progress, queue, review, publication,
range-served media, provenance export and the public tape page.

Every view reads through ``restoration.selectors`` with ``request.institution`` (set by
``member_required``), so other institutions' jobs and versions are a 404; every write goes
through ``restoration.services``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role
from accounts.permissions import InstitutionRequest, member_required
from portal import humanize
from portal.captures.selectors import capture_get
from portal.catalog.selectors import tape_get
from portal.media import media_view, serve_file_with_ranges
from restoration import selectors, services
from restoration.exceptions import RestorationError
from restoration.forms import DecisionForm, JobRequestForm
from restoration.media import serve_master
from restoration.models import Decision, JobStatus
from restoration.parameters import option_rows
from restoration.provenance import version_provenance
from restoration.rules import (
    job_cancel_refusal,
    job_retry_refusal,
    tape_unpublish_refusal,
    version_decide_refusal,
    version_publish_refusal,
)
from restoration.thumbnails import PLACEHOLDER_SVG, frame_thumbnail
from restoration.views_review import review_data

_JOB_STATUS_FILTERS = [("", "All")] + list(JobStatus.choices)

T = TypeVar("T")


def _attempt(request: HttpRequest, action: Callable[[], T]) -> T | None:
    """Run a button's service action: its result, or None once the reason it was refused (a
    rule of ``restoration.rules``, or a state that changed since the page was drawn) is shown
    as an error message. The buttons' pages then redirect either way."""
    try:
        return action()
    except (RestorationError, PermissionDenied) as exc:
        messages.error(request, str(exc))
        return None


# --------------------------------------------------------------------------------------------
# Jobs


@member_required(Role.ARCHIVIST)
@require_http_methods(["GET", "POST"])
def job_create(request: InstitutionRequest, capture_id: int) -> HttpResponse:
    capture = capture_get(institution=request.institution, pk=capture_id)
    form = JobRequestForm(
        request.POST or None,
        default_model=settings.RESTORATION_DEFAULT_MODEL,
        default_scorer=settings.RESTORATION_DEFAULT_SCORER,
        initial={"preview": request.GET.get("preview") == "1"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            job = services.job_request(
                actor=request.user,
                capture=capture,
                parameters=form.parameters(),
                membership=request.membership,
            )
        except RestorationError as exc:
            form.add_error(None, exc.message)
        else:
            kind = "Preview" if job.is_preview else "Restoration"
            note = ""
            if job.is_preview and _preview_covers_capture(capture, job.parameters):
                note = (
                    f" The capture is only {capture.duration_s:.1f} s long, shorter than the "
                    "preview, so the preview restores the whole capture."
                )
            messages.success(request, f"{kind} job #{job.pk} queued.{note}")
            return redirect("restoration:job_detail", job_id=job.pk)
    return render(
        request,
        "restoration/job_form.html",
        {
            "capture": capture,
            "form": form,
            "short_capture": _preview_covers_capture(capture, {}),
        },
    )


def _preview_covers_capture(capture: Any, parameters: dict[str, Any]) -> bool:
    """A capture no longer than the preview length: a "preview" is then the whole capture."""
    from restoration.parameters import DEFAULT_PREVIEW_SECONDS

    seconds = float(parameters.get("preview_seconds") or DEFAULT_PREVIEW_SECONDS)
    return bool(capture.duration_s) and capture.duration_s <= seconds


@member_required(Role.ARCHIVIST)
@require_GET
def job_list(request: InstitutionRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in dict(_JOB_STATUS_FILTERS):
        status = ""
    mine = request.GET.get("mine") == "1"
    undecided = request.GET.get("undecided") == "1"
    if undecided:  # failed and not retried: the home page's "needs a decision"
        jobs = selectors.jobs_needing_decision(institution=request.institution)
        status = JobStatus.FAILED
    else:
        jobs = selectors.job_list(institution=request.institution, status=status)
    if mine:
        jobs = jobs.filter(requested_by=request.user)
    page = Paginator(jobs, 50).get_page(request.GET.get("page"))
    filters = {"status": status, "mine": "1" if mine else "", "undecided": "1" if undecided else ""}
    query = "&".join(f"{k}={v}" for k, v in filters.items() if v)
    return render(
        request,
        "restoration/job_list.html",
        {
            "page": page,
            "status": status,
            "mine": mine,
            "undecided": undecided,
            "query": query,
            "status_filters": _JOB_STATUS_FILTERS,
        },
    )


@member_required(Role.ARCHIVIST)
@require_GET
def job_progress_json(request: InstitutionRequest) -> JsonResponse:
    """Polled by static/js/jobs.js: ``?ids=1,2,3`` (at most 200) of the active institution."""
    raw = request.GET.get("ids", "")
    ids = [int(part) for part in raw.split(",") if part.strip().isdigit()][:200]
    jobs = selectors.job_list(institution=request.institution).filter(pk__in=ids)
    return JsonResponse({"jobs": [selectors.job_progress(job=job) for job in jobs]})


@member_required(Role.ARCHIVIST)
@require_GET
def job_detail(request: InstitutionRequest, job_id: int) -> HttpResponse:
    job = selectors.job_get(institution=request.institution, job_id=job_id)
    return render(
        request,
        "restoration/job_detail.html",
        {
            "job": job,
            "progress": selectors.job_progress(job=job),
            "options": option_rows(job.parameters),
            "preview_covers_all": job.is_preview
            and _preview_covers_capture(job.capture, job.parameters),
            "timings": humanize.timing_rows(job.timings),
            "timing_internals": humanize.timing_internals(job.timings),
            "can_cancel": job_cancel_refusal(membership=request.membership, job=job) is None,
            "can_retry": job_retry_refusal(membership=request.membership, job=job) is None,
            "retries": job.retries.order_by("created_at"),
        },
    )


@member_required(Role.ARCHIVIST)
@require_POST
def job_cancel(request: InstitutionRequest, job_id: int) -> HttpResponse:
    job = selectors.job_get(institution=request.institution, job_id=job_id)
    done = _attempt(
        request,
        lambda: services.job_cancel(actor=request.user, job=job, membership=request.membership),
    )
    if done is not None and done.status == JobStatus.CANCELLED:
        messages.success(request, f"Job #{job.pk} cancelled.")
    elif done is not None:
        messages.success(request, f"Job #{job.pk} will stop at the end of its current window.")
    return redirect("restoration:job_detail", job_id=job.pk)


@member_required(Role.ARCHIVIST)
@require_POST
def job_retry(request: InstitutionRequest, job_id: int) -> HttpResponse:
    job = selectors.job_get(institution=request.institution, job_id=job_id)
    new_job = _attempt(
        request,
        lambda: services.job_retry(actor=request.user, job=job, membership=request.membership),
    )
    if new_job is None:
        return redirect("restoration:job_detail", job_id=job.pk)
    messages.success(request, f"Job #{new_job.pk} queued as a retry of job #{job.pk}.")
    return redirect("restoration:job_detail", job_id=new_job.pk)


@member_required(Role.ARCHIVIST)
@require_GET
def queue_view(request: InstitutionRequest) -> HttpResponse:
    overview = selectors.queue_overview(institution=request.institution)
    return render(request, "restoration/queue.html", overview)


# --------------------------------------------------------------------------------------------
# Review


@member_required(Role.REVIEWER)
@require_GET
def review_list(request: InstitutionRequest) -> HttpResponse:
    state = request.GET.get("state", "pending")
    if state not in (*selectors.REVIEW_STATES, "all", "mine"):
        state = "pending"
    if state == "mine":  # the home page's "Awaiting my review": pending ones I may decide
        versions = selectors.versions_awaiting_review(
            institution=request.institution, user=request.user
        )[:200]
    else:
        versions = selectors.version_list(
            institution=request.institution, review_state=None if state == "all" else state
        )[:200]
    return render(request, "restoration/review_list.html", {"versions": versions, "state": state})


@member_required(Role.ARCHIVIST)
@require_GET
def version_detail(request: InstitutionRequest, version_id: int) -> HttpResponse:
    version = selectors.version_get(institution=request.institution, version_id=version_id)
    membership = request.membership
    state = selectors.version_review_state(version=version)
    current = selectors.tape_current_publication(tape_id=version.tape_id)
    review_refusal = version_decide_refusal(
        membership=membership, version=version, decision=Decision.REJECT
    )
    context = {
        "version": version,
        "job": version.job,
        "capture": version.capture,
        "review_state": state,
        "decisions": selectors.version_decisions(version=version),
        "form": DecisionForm(),
        "can_review": review_refusal is None,
        # Shown beside the form when the reviewer may decide but not approve (four-eyes).
        "approve_refusal": None
        if review_refusal is not None
        else version_decide_refusal(
            membership=membership, version=version, decision=Decision.APPROVE
        ),
        "publish_refusal": version_publish_refusal(
            membership=membership, version=version, review_state=state
        ),
        "unpublish_refusal": tape_unpublish_refusal(membership=membership, tape=version.tape),
        "current_publication": current,
        "is_published": current is not None and current.version_id == version.pk,
        "worst": selectors.worst_frames(
            scores=version.scores_before, count=8, min_gap=max(1, version.frame_count // 50)
        ),
        "review_data": review_data(version=version),
        "comments": selectors.version_frame_comments(version=version),
        "other_versions": selectors.capture_versions(version=version)[:20],
        "preview_covers_all": version.is_preview
        and version.frame_start == 0
        and version.frame_end >= (version.capture.frame_count or 0),
    }
    return render(request, "restoration/version_review.html", context)


@member_required(Role.REVIEWER)
@require_POST
def version_decide(request: InstitutionRequest, version_id: int) -> HttpResponse:
    version = selectors.version_get(institution=request.institution, version_id=version_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve, reject or request changes.")
    elif (
        review := _attempt(
            request,
            lambda: services.version_decide(
                actor=request.user,
                membership=request.membership,
                version=version,
                decision=form.cleaned_data["decision"],
                comment=form.cleaned_data["comment"],
            ),
        )
    ) is not None:
        said = {
            Decision.APPROVE: "approved",
            Decision.REJECT: "rejected",
            Decision.REQUEST_CHANGES: "changes requested",
        }.get(review.decision, review.get_decision_display())
        messages.success(request, f"Decision recorded: {said}.")
    return redirect("restoration:version_detail", version_id=version.pk)


@member_required(Role.MANAGER)
@require_POST
def version_publish(request: InstitutionRequest, version_id: int) -> HttpResponse:
    version = selectors.version_get(institution=request.institution, version_id=version_id)
    published = _attempt(
        request,
        lambda: services.version_publish(
            actor=request.user,
            membership=request.membership,
            version=version,
            comment=request.POST.get("comment", ""),
        ),
    )
    if published is not None:
        if version.institution.public_access:
            where = "anyone can watch it on the tape's public page"
        else:
            where = (
                "it is not public yet: public access is off for this institution "
                "(see Institution settings)"
            )
        messages.success(request, f"Published: this is now the tape's published version; {where}.")
    return redirect("restoration:version_detail", version_id=version.pk)


@member_required(Role.MANAGER)
@require_POST
def tape_unpublish(request: InstitutionRequest, tape_id: int) -> HttpResponse:
    tape = tape_get(institution=request.institution, pk=tape_id)
    publication = _attempt(
        request,
        lambda: services.tape_unpublish(
            actor=request.user,
            membership=request.membership,
            tape=tape,
            comment=request.POST.get("comment", ""),
        ),
    )
    if publication is None:
        return redirect("catalog:tape_detail", pk=tape.pk)
    messages.success(request, "Unpublished. The version and its history are kept.")
    return redirect("restoration:version_detail", version_id=publication.version_id)


# --------------------------------------------------------------------------------------------
# Media and exports


@media_view
def version_access(request: InstitutionRequest, version_id: int) -> HttpResponse:
    version = selectors.version_get(institution=request.institution, version_id=version_id)
    return serve_file_with_ranges(
        request,
        version.access,
        "video/mp4",
        f"version-{version.pk}.access.mp4",
        as_attachment="download" in request.GET,
    )


@media_view
def version_master(request: InstitutionRequest, version_id: int) -> HttpResponse:
    version = selectors.version_get(institution=request.institution, version_id=version_id)
    return serve_master(request, version=version, actor=request.user, membership=request.membership)


@media_view
def version_thumbnail(
    request: HttpRequest, version_id: int, frame: int, which: str
) -> HttpResponse:
    if which not in ("before", "after"):
        raise Http404("Unknown rendition.")
    version = selectors.version_get(institution=request.institution, version_id=version_id)
    if not 0 <= frame < version.frame_count:
        raise Http404("This frame is outside the restored range.")
    field_file = frame_thumbnail(version=version, index=frame, which=which)
    if field_file is None:  # a worker is making it: a placeholder the browser will not keep
        response = HttpResponse(PLACEHOLDER_SVG, content_type="image/svg+xml")
        response["Cache-Control"] = "no-store"
        response["Retry-After"] = "5"
        return response
    return serve_file_with_ranges(request, field_file, "image/jpeg", f"frame-{frame}-{which}.jpg")


@member_required(Role.ARCHIVIST)
@require_GET
def version_scores(request: InstitutionRequest, version_id: int) -> JsonResponse:
    version = selectors.version_get(institution=request.institution, version_id=version_id)
    return JsonResponse(
        {
            "frame_start": version.frame_start,
            "frame_rate": version.frame_rate,
            "before": version.scores_before,
            "after": version.scores_after,
            "scorer": version.scorer,
        }
    )


@member_required(Role.ARCHIVIST)
@require_GET
def version_provenance_json(request: InstitutionRequest, version_id: int) -> HttpResponse:
    version = selectors.version_get(institution=request.institution, version_id=version_id)
    response = JsonResponse(version_provenance(version=version), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="version-{version.pk}-provenance.json"'
    return response


# --------------------------------------------------------------------------------------------
# Public


@require_GET
def public_tape(request: HttpRequest, tape_id: int) -> HttpResponse:
    publication = selectors.public_publication(tape_id=tape_id)
    return render(request, "restoration/public_tape.html", {"publication": publication})


@require_http_methods(["GET", "HEAD"])
def public_tape_manifest(request: HttpRequest, tape_id: int) -> JsonResponse:
    """IIIF Presentation 3 manifest of the tape's public version (for IIIF AV players)."""
    from restoration.iiif import version_manifest

    publication = selectors.public_publication(tape_id=tape_id)
    manifest = version_manifest(
        version=publication.version,
        manifest_url=request.build_absolute_uri(),
        video_url=request.build_absolute_uri(
            reverse("restoration:public_tape_video", args=[tape_id])
        ),
    )
    response = JsonResponse(
        manifest,
        content_type='application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"',
    )
    response["Access-Control-Allow-Origin"] = "*"  # players on other sites load public manifests
    return response


@require_http_methods(["GET", "HEAD"])
def public_tape_video(request: HttpRequest, tape_id: int) -> HttpResponse:
    publication = selectors.public_publication(tape_id=tape_id)
    return serve_file_with_ranges(
        request, publication.version.access, "video/mp4", f"tape-{tape_id}.mp4"
    )
