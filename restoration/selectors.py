"""Reads of the restoration workflow. Every read is scoped by ``for_institution`` (accounts)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts.models import Institution
from restoration.models import (
    Decision,
    FrameComment,
    JobStatus,
    Publication,
    RestorationJob,
    RestoredVersion,
    ReviewDecision,
)


def _now() -> dt.datetime:
    return timezone.now()


# --------------------------------------------------------------------------------------------
# Jobs


def job_list(
    *,
    institution: Institution | None,
    status: str = "",
    capture_id: int | None = None,
    tape_id: int | None = None,
    requested_by_id: int | None = None,
    is_preview: bool | None = None,
) -> QuerySet[RestorationJob]:
    jobs = (
        RestorationJob.objects.for_institution(institution)
        .select_related("capture", "capture__tape", "requested_by", "version")
        .order_by("-created_at", "-id")
    )
    if status:
        jobs = jobs.filter(status=status)
    if capture_id is not None:
        jobs = jobs.filter(capture_id=capture_id)
    if tape_id is not None:
        jobs = jobs.filter(capture__tape_id=tape_id)
    if requested_by_id is not None:
        jobs = jobs.filter(requested_by_id=requested_by_id)
    if is_preview is not None:
        jobs = jobs.filter(is_preview=is_preview)
    return jobs


def job_get(*, institution: Institution | None, job_id: Any) -> RestorationJob:
    try:
        return job_list(institution=institution).get(pk=job_id)
    except (RestorationJob.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No restoration job found.") from exc


def job_queue_position(*, job: RestorationJob) -> int | None:
    """1-based position among all queued jobs (every institution shares the workers)."""
    if job.status != JobStatus.QUEUED:
        return None
    ahead = RestorationJob.objects.filter(status=JobStatus.QUEUED).filter(
        Q(created_at__lt=job.created_at) | Q(created_at=job.created_at, pk__lt=job.pk)
    )
    return ahead.count() + 1


def _eta_words(seconds: float) -> str:
    from portal.humanize import duration

    return duration(round(seconds))


def job_progress_text(*, job: RestorationJob, queue_position: int | None = None) -> str:
    """The one phrase every page and the live update show for a job's progress.

    Queued: the position and whether the workers are busy with other jobs. Running: the stage,
    "N of M frames" once the stage knows its total, the ETA once there is one ("starting" while
    a worker has claimed the job but reported nothing yet, never "0/?").
    """
    if job.status == JobStatus.QUEUED:
        position = queue_position if queue_position is not None else job_queue_position(job=job)
        busy = RestorationJob.objects.filter(status=JobStatus.RUNNING).exists()
        where = f"queued, position {position}" if position else "queued"
        return where + (" · the workers are busy with other jobs" if busy else " · starting soon")
    if job.status == JobStatus.RUNNING:
        if job.cancel_requested:
            return "stopping at the end of the current window…"
        parts = [job.stage or "starting"]
        if job.frames_total:
            parts.append(f"{job.frames_done} of {job.frames_total} frames")
        if job.eta_seconds is not None and job.frames_done:
            parts.append(f"about {_eta_words(job.eta_seconds)} left")
        return " · ".join(parts)
    if job.status == JobStatus.FAILED:
        return job.error_message[:160] or "failed"
    return ""


def job_progress(*, job: RestorationJob) -> dict[str, Any]:
    """The JSON the job list polls: status, progress, ETA, queue position, the phrase."""
    fraction = job.progress_fraction
    position = job_queue_position(job=job)
    return {
        "text": job_progress_text(job=job, queue_position=position),
        "id": job.pk,
        "status": job.status,
        "status_label": job.get_status_display(),
        "stage": job.stage,
        "frames_done": job.frames_done,
        "frames_total": job.frames_total,
        "progress": round(fraction, 4) if fraction is not None else None,
        "eta_seconds": round(job.eta_seconds, 1) if job.eta_seconds is not None else None,
        "queue_position": position,
        "worker_host": job.worker_host,
        "device": job.device,
        "cancel_requested": job.cancel_requested,
        "error_message": job.error_message,
        "error_permanent": job.error_permanent,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "version_id": _version_id(job),
    }


def _version_id(job: RestorationJob) -> int | None:
    try:
        return job.version.pk
    except RestoredVersion.DoesNotExist:
        return None


@dataclass(frozen=True)
class WorkerSeen:
    host: str
    last_seen: dt.datetime
    running_jobs: int
    device: str


def queue_overview(*, institution: Institution | None) -> dict[str, Any]:
    """The queue page: the institution's queued jobs with positions, the running jobs of all
    institutions (counted, not shown, for other institutions), and workers seen recently."""
    queued_all = list(
        RestorationJob.objects.filter(status=JobStatus.QUEUED)
        .order_by("created_at", "id")
        .values_list("pk", "institution_id")
    )
    positions = {pk: index + 1 for index, (pk, _inst) in enumerate(queued_all)}
    own_queued = list(
        job_list(institution=institution, status=JobStatus.QUEUED).order_by("created_at", "id")
    )
    for job in own_queued:
        job.queue_position = positions.get(job.pk)  # type: ignore[attr-defined]
    own_running = list(job_list(institution=institution, status=JobStatus.RUNNING))
    running_total = RestorationJob.objects.filter(status=JobStatus.RUNNING).count()
    return {
        "queued": own_queued,
        "queued_total": len(queued_all),
        "running": own_running,
        "running_total": running_total,
        "workers": workers_seen(),
    }


def workers_seen(*, within: dt.timedelta | None = None) -> list[WorkerSeen]:
    """Worker hosts that reported a heartbeat recently (from the jobs they ran)."""
    within = within or dt.timedelta(seconds=settings.RESTORATION_WORKER_SEEN_WINDOW)
    since = _now() - within
    rows = (
        RestorationJob.objects.filter(heartbeat_at__gte=since)
        .exclude(worker_host="")
        .values("worker_host")
        .annotate(
            last_seen=Max("heartbeat_at"),
            running=Count("pk", filter=Q(status=JobStatus.RUNNING)),
            device=Max("device"),
        )
        .order_by("worker_host")
    )
    return [
        WorkerSeen(
            host=row["worker_host"],
            last_seen=row["last_seen"],
            running_jobs=row["running"],
            device=row["device"] or "",
        )
        for row in rows
    ]


# --------------------------------------------------------------------------------------------
# Versions, reviews, publications


REVIEW_STATES = ("pending", *Decision.values)


def version_list(
    *,
    institution: Institution | None,
    tape_id: int | None = None,
    capture_id: int | None = None,
    review_state: str | None = None,
) -> QuerySet[RestoredVersion]:
    """Versions, newest first, each annotated with ``review_state`` (its latest decision, or
    "pending"), which ``review_state=`` filters on in the database."""
    latest = (
        ReviewDecision.objects.filter(version=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("decision")[:1]
    )
    versions = (
        RestoredVersion.objects.for_institution(institution)
        .select_related("job", "job__requested_by", "capture", "tape")
        .annotate(review_state=Coalesce(Subquery(latest), Value("pending")))
        .order_by("-created_at", "-id")
    )
    if tape_id is not None:
        versions = versions.filter(tape_id=tape_id)
    if capture_id is not None:
        versions = versions.filter(capture_id=capture_id)
    if review_state:
        versions = versions.filter(review_state=review_state)
    return versions


def version_get(*, institution: Institution | None, version_id: Any) -> RestoredVersion:
    try:
        return version_list(institution=institution).get(pk=version_id)
    except (RestoredVersion.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No restored version found.") from exc


def version_decisions(*, version: RestoredVersion) -> QuerySet[ReviewDecision]:
    return version.decisions.select_related("reviewer").order_by("-created_at", "-id")


def version_review_state(*, version: RestoredVersion) -> str:
    """The latest decision ("approve", "reject", "request_changes") or "pending"."""
    latest = version.decisions.order_by("-created_at", "-id").first()
    return latest.decision if latest else "pending"


def tape_current_publication(*, tape_id: int) -> Publication | None:
    return (
        Publication.objects.current()
        .filter(tape_id=tape_id)
        .select_related("version", "published_by")
        .first()
    )


def public_publication(*, tape_id: int) -> Publication:
    """The current publication of a tape whose institution shows publications to the public."""
    publication = (
        Publication.objects.current()
        .filter(tape_id=tape_id, institution__public_access=True)
        .select_related("version", "tape", "institution")
        .first()
    )
    if publication is None:
        raise Http404("This tape has no public restored version.")
    return publication


def worst_frames(*, scores: list[float], count: int = 8, min_gap: int = 0) -> list[int]:
    """Indices of the highest scores, best-first, at least ``min_gap`` frames apart."""
    order = sorted(range(len(scores)), key=lambda index: (-scores[index], index))
    chosen: list[int] = []
    for index in order:
        if len(chosen) >= count:
            break
        if all(abs(index - other) > min_gap for other in chosen):
            chosen.append(index)
    return chosen


# --------------------------------------------------------------------------------------------
# Home page


def jobs_needing_decision(*, institution: Institution | None) -> QuerySet[RestorationJob]:
    """Failed jobs nobody has retried yet: someone must retry, change options, or let go."""
    return job_list(institution=institution, status=JobStatus.FAILED).filter(retries__isnull=True)


def versions_awaiting_review(*, institution: Institution, user: Any) -> QuerySet[RestoredVersion]:
    """Versions still pending that ``user`` may decide (their own requests only when the
    institution allows self-approval)."""
    versions = version_list(institution=institution, review_state="pending")
    if not institution.allow_self_approval:
        versions = versions.exclude(job__requested_by=user)
    return versions


def recent_publications(*, institution: Institution | None, limit: int = 5) -> list[Publication]:
    return list(
        Publication.objects.for_institution(institution)
        .current()
        .select_related("tape", "version")
        .order_by("-published_at")[:limit]
    )


def version_frame_comments(*, version: RestoredVersion) -> QuerySet[FrameComment]:
    return (
        FrameComment.objects.for_institution(version.institution)
        .filter(version=version)
        .select_related("author")
    )


def capture_versions(*, version: RestoredVersion) -> QuerySet[RestoredVersion]:
    """The other versions of the same capture (candidates for a side by side comparison)."""
    return version_list(institution=version.institution, capture_id=version.capture_id).exclude(
        pk=version.pk
    )
