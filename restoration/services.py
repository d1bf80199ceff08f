"""State changes of the restoration workflow asked for by people (pages and API).

Each service checks the actor's permission, changes state and writes the audit record in one
transaction (CONVENTIONS: check, then execute). What the worker does lives in
``restoration.worker``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.permissions import acting_membership, require_role
from portal.audit.services import audit_record
from portal.catalog.models import Tape
from portal.exceptions import refuse_if
from portal.webhooks import events as webhook_events
from restoration.exceptions import PublicationError, ReviewError
from restoration.models import (
    Decision,
    FrameComment,
    JobStatus,
    Publication,
    RestorationJob,
    RestoredVersion,
    ReviewDecision,
)
from restoration.parameters import parse_parameters
from restoration.rules import (
    job_cancel_refusal,
    job_retry_refusal,
    tape_unpublish_refusal,
    version_decide_refusal,
    version_publish_refusal,
)
from restoration.selectors import version_review_state

logger = logging.getLogger(__name__)

TASK_RUN_JOB = "restoration.tasks.run_restoration_job"


def _now() -> dt.datetime:
    return timezone.now()


def _job_label(job: RestorationJob) -> str:
    return str(job)


# --------------------------------------------------------------------------------------------
# Jobs


def job_request(
    *,
    actor: Any,
    capture: Any,
    parameters: dict[str, Any] | None = None,
    retry_of: RestorationJob | None = None,
    membership: Membership | None = None,
) -> RestorationJob:
    """Validate the options, create a queued job and enqueue it once the row is committed."""
    institution = capture.institution
    require_role(actor, institution, Role.ARCHIVIST, membership=membership)
    options = parse_parameters(parameters, frame_count=capture.frame_count)
    with transaction.atomic():
        job = RestorationJob.objects.create(
            institution=institution,
            capture=capture,
            requested_by=actor,
            retry_of=retry_of,
            parameters=options.to_dict(),
            is_preview=options.preview,
            created_at=_now(),
        )
        audit_record(
            actor=actor,
            institution=institution,
            action="job.retried" if retry_of is not None else "job.requested",
            target=job,
            tape=capture.tape,
            target_label=_job_label(job),
            details={
                "parameters": job.parameters,
                "capture_id": capture.pk,
                **({"retry_of": retry_of.pk} if retry_of is not None else {}),
            },
        )
        # robust: if the broker is unreachable the job stays queued (and is logged); the
        # reaper's wake-up task picks it up once the broker is back.
        transaction.on_commit(lambda: job_enqueue(job_id=job.pk), robust=True)
    return job


def job_enqueue(*, job_id: int | None) -> str:
    """Put a task for the restoration workers on their queue (cluster).

    The task carries the job id, but a worker claims the oldest queued job when that one was
    taken already (see ``restoration.worker.job_claim``), so tasks prefetched by a busy worker
    never hold a job back while another worker is idle. ``job_id=None`` is a bare wake-up.
    """
    from django_q.tasks import async_task

    task_id = async_task(
        TASK_RUN_JOB,
        job_id,
        q_options={
            "cluster": settings.RESTORATION_QUEUE,
            "task_name": f"restoration-job-{job_id}" if job_id else "restoration-wakeup",
            "timeout": settings.RESTORATION_TASK_TIMEOUT,
        },
    )
    if job_id is not None and isinstance(task_id, str):
        RestorationJob.objects.filter(pk=job_id, task_id="").update(task_id=task_id[:64])
    return str(task_id)


def job_retry(
    *, actor: Any, job: RestorationJob, membership: Membership | None = None
) -> RestorationJob:
    """A new job with the same parameters; the failed or cancelled one stays on the record."""
    membership = acting_membership(actor, job.institution, membership)
    refuse_if(job_retry_refusal(membership=membership, job=job))
    return job_request(
        actor=actor,
        capture=job.capture,
        parameters=dict(job.parameters),
        retry_of=job,
        membership=membership,
    )


def job_cancel(
    *, actor: Any, job: RestorationJob, membership: Membership | None = None
) -> RestorationJob:
    """Cancel a queued job at once; ask a running job's worker to stop at its next window.

    Cancelling a running job twice is not an error (the worker was asked already).
    """
    membership = acting_membership(actor, job.institution, membership)
    refuse_if(job_cancel_refusal(membership=membership, job=job))
    now = _now()
    with transaction.atomic():
        cancelled_queued = RestorationJob.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.CANCELLED,
            cancel_requested=True,
            cancel_requested_at=now,
            cancel_requested_by=actor,
            finished_at=now,
            stage="",
        )
        if cancelled_queued:
            action = "job.cancelled"
        else:
            asked = RestorationJob.objects.filter(
                pk=job.pk, status=JobStatus.RUNNING, cancel_requested=False
            ).update(cancel_requested=True, cancel_requested_at=now, cancel_requested_by=actor)
            if not asked:
                job.refresh_from_db()
                if job.status == JobStatus.RUNNING:
                    return job  # already asked: cancelling twice is not an error
                refuse_if(job_cancel_refusal(membership=membership, job=job))
            action = "job.cancel_requested"
        job.refresh_from_db()
        audit_record(
            actor=actor,
            institution=job.institution,
            action=action,
            target=job,
            tape=job.capture.tape,
            target_label=_job_label(job),
        )
    if action == "job.cancelled":
        from restoration.webhooks import webhook_notify

        webhook_notify(job=job)
    return job


# --------------------------------------------------------------------------------------------
# Review


def version_decide(
    *,
    actor: Any,
    version: RestoredVersion,
    decision: str,
    comment: str = "",
    membership: Membership | None = None,
) -> ReviewDecision:
    """Record a review decision. Earlier decisions are kept; the latest one counts."""
    membership = acting_membership(actor, version.institution, membership)
    refuse_if(version_decide_refusal(membership=membership, version=version, decision=decision))
    if decision not in Decision.values:
        raise ReviewError(
            f"Unknown decision {decision!r}; choose one of {', '.join(Decision.values)}."
        )
    comment = (comment or "").strip()
    if decision in (Decision.REJECT, Decision.REQUEST_CHANGES) and not comment:
        raise ReviewError("Say what is wrong or what should change: a comment is required.")
    with transaction.atomic():
        review = ReviewDecision.objects.create(
            institution=version.institution,
            version=version,
            reviewer=actor,
            decision=decision,
            comment=comment,
            created_at=_now(),
        )
        audit_record(
            actor=actor,
            institution=version.institution,
            action={
                Decision.APPROVE: "review.approved",
                Decision.REJECT: "review.rejected",
                Decision.REQUEST_CHANGES: "review.changes_requested",
            }[Decision(decision)],
            target=version,
            tape=version.tape,
            details={"comment": comment, "decision_id": review.pk, "job_id": version.job_id},
        )
        webhook_events.review_decided(review=review)  # sent after commit
    return review


MAX_COMMENT_LENGTH = 2000


def frame_timecode(*, frame: int, frame_rate: str) -> str:
    """HH:MM:SS:FF of a capture frame number (non-drop-frame, nominal rate rounded)."""
    from fractions import Fraction

    base = max(1, round(Fraction(frame_rate or "25")))
    seconds, frames = divmod(frame, base)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{frames:02d}"


def version_comment_add(
    *, actor: Any, version: RestoredVersion, frame: int, text: str = ""
) -> FrameComment:
    """Anchor a note (or, without text, a marker) to a capture frame of the version."""
    require_role(actor, version.institution, Role.REVIEWER)
    text = (text or "").strip()
    if len(text) > MAX_COMMENT_LENGTH:
        raise ReviewError(f"A frame comment holds at most {MAX_COMMENT_LENGTH} characters.")
    if not version.frame_start <= frame < version.frame_end:
        raise ReviewError(
            f"Frame {frame} is outside this version (frames {version.frame_start}–"
            f"{version.frame_end - 1})."
        )
    with transaction.atomic():
        comment = FrameComment.objects.create(
            institution=version.institution,
            version=version,
            author=actor,
            frame=frame,
            text=text,
            created_at=_now(),
        )
        audit_record(
            actor=actor,
            institution=version.institution,
            action="review.frame_commented" if text else "review.frame_marked",
            target=version,
            tape=version.tape,
            details={
                "frame": frame,
                "timecode": frame_timecode(frame=frame, frame_rate=version.frame_rate),
                **({"comment": text} if text else {}),
                "version_id": version.pk,
            },
        )
    return comment


# --------------------------------------------------------------------------------------------
# Publication


def version_publish(
    *,
    actor: Any,
    version: RestoredVersion,
    comment: str = "",
    membership: Membership | None = None,
) -> Publication:
    """Make an approved version the tape's published version, replacing the current one."""
    membership = acting_membership(actor, version.institution, membership)
    refuse_if(
        version_publish_refusal(
            membership=membership,
            version=version,
            review_state=version_review_state(version=version),
        )
    )
    now = _now()
    try:
        with transaction.atomic():
            current = (
                Publication.objects.select_for_update()
                .current()
                .filter(tape_id=version.tape_id)
                .first()
            )
            if current is not None and current.version_id == version.pk:
                raise PublicationError("This version is already the tape's published version.")
            if current is not None:
                Publication.objects.current().filter(pk=current.pk).update(
                    unpublished_at=now,
                    unpublished_by=actor,
                    end_reason=Publication.EndReason.REPLACED,
                )
                audit_record(
                    actor=actor,
                    institution=version.institution,
                    action="publication.unpublished",
                    target=current.version,
                    tape=version.tape,
                    details={"reason": "replaced", "replaced_by_version_id": version.pk},
                )
            publication = Publication.objects.create(
                institution=version.institution,
                tape=version.tape,
                version=version,
                published_by=actor,
                published_at=now,
                comment=(comment or "").strip(),
            )
            audit_record(
                actor=actor,
                institution=version.institution,
                action="publication.published",
                target=version,
                tape=version.tape,
                details={
                    "publication_id": publication.pk,
                    "replaces_version_id": current.version_id if current else None,
                    "comment": publication.comment,
                },
            )
    except IntegrityError as exc:  # a concurrent publish of the same tape won the race
        raise PublicationError(
            "Another version of this tape was published at the same moment; reload and retry."
        ) from exc
    webhook_events.publication_changed(publication=publication, published=True)
    return publication


def tape_unpublish(
    *, actor: Any, tape: Tape, comment: str = "", membership: Membership | None = None
) -> Publication:
    """Withdraw the tape's published version (the publication row is closed, not deleted)."""
    membership = acting_membership(actor, tape.institution, membership)
    refuse_if(tape_unpublish_refusal(membership=membership, tape=tape))
    now = _now()
    with transaction.atomic():
        current = (
            Publication.objects.select_for_update()
            .current()
            .filter(tape_id=tape.pk)
            .select_related("version")
            .first()
        )
        if current is None:
            raise PublicationError("This tape has no published version to unpublish.")
        Publication.objects.filter(pk=current.pk).update(
            unpublished_at=now, unpublished_by=actor, end_reason=Publication.EndReason.UNPUBLISHED
        )
        audit_record(
            actor=actor,
            institution=tape.institution,
            action="publication.unpublished",
            target=current.version,
            tape=tape,
            details={"reason": "unpublished", "publication_id": current.pk, "comment": comment},
        )
        current.refresh_from_db()
    webhook_events.publication_changed(publication=current, published=False)
    return current


# --------------------------------------------------------------------------------------------
# Downloads


def version_record_download(
    *, actor: Any, version: RestoredVersion, rendition: str, membership: Membership | None = None
) -> None:
    """Masters are the institution's preservation files: every download is on the record.

    Access copies are streamed by players in many range requests and are not recorded.
    """
    if rendition != "master":
        return
    require_role(actor, version.institution, Role.ARCHIVIST, membership=membership)
    audit_record(
        actor=actor,
        institution=version.institution,
        action="version.master_downloaded",
        target=version,
        tape=version.tape,
        details={"sha256": version.master_sha256, "size": version.master_size},
    )
