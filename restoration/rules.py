"""The rules of the restoration workflow, one check each: who may cancel or retry a job, decide
on a restored version (four-eyes), publish it, or unpublish a tape.

Each check returns a ``Refusal`` (the reason, and the error a service raises) or None. The
services refuse with it before they write; pages show the same reason or hide the button; the
API answers with the service's error. No page, template or API view re-types a rule.
Checks that need a lock (is this version already published?) stay inside the service's
transaction.
"""

from __future__ import annotations

from accounts.models import Membership, Role
from accounts.permissions import role_refusal
from portal.catalog.models import Tape
from portal.exceptions import Refusal
from restoration.exceptions import JobStateError, PublicationError, ReviewError
from restoration.models import Decision, JobStatus, RestorationJob, RestoredVersion

_REVIEW_STATE_SAID = {
    "pending": "it is awaiting review",
    Decision.REJECT: "it was rejected",
    Decision.REQUEST_CHANGES: "changes were requested",
}


def job_cancel_refusal(*, membership: Membership | None, job: RestorationJob) -> Refusal | None:
    """Archivists cancel their own jobs; reviewers and managers any job; only while active."""
    refusal = role_refusal(membership, Role.ARCHIVIST, institution=job.institution)
    if refusal is not None:
        return refusal
    assert membership is not None
    if membership.role == Role.ARCHIVIST and job.requested_by_id != membership.user_id:
        return Refusal(
            "Only the archivist who requested this job, a reviewer or a manager can cancel it."
        )
    if not job.is_active:
        return Refusal(f"Job #{job.pk} is {job.status}; there is nothing to cancel.", JobStateError)
    return None


def job_retry_refusal(*, membership: Membership | None, job: RestorationJob) -> Refusal | None:
    """Archivists and above retry a failed or cancelled job (as a new job)."""
    refusal = role_refusal(membership, Role.ARCHIVIST, institution=job.institution)
    if refusal is not None:
        return refusal
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        return Refusal(
            f"Only failed or cancelled jobs can be retried; job #{job.pk} is {job.status}.",
            JobStateError,
        )
    return None


def version_decide_refusal(
    *, membership: Membership | None, version: RestoredVersion, decision: str
) -> Refusal | None:
    """Reviewers and managers decide; the requester may not approve (four-eyes) unless the
    institution allows self-approval. Rejecting one's own request is always allowed."""
    refusal = role_refusal(membership, Role.REVIEWER, institution=version.institution)
    if refusal is not None:
        return refusal
    assert membership is not None
    requester_id = version.job.requested_by_id
    if (
        decision == Decision.APPROVE
        and requester_id is not None
        and requester_id == membership.user_id
        and not version.institution.allow_self_approval
    ):
        return Refusal(
            "You requested this restoration, so another reviewer or a manager must approve it "
            "(four-eyes rule). A manager can allow self-approval in the institution settings.",
            ReviewError,
        )
    return None


def version_publish_refusal(
    *, membership: Membership | None, version: RestoredVersion, review_state: str
) -> Refusal | None:
    """Managers publish approved, full (not preview) versions. ``review_state`` is
    ``selectors.version_review_state(version=version)``."""
    refusal = role_refusal(membership, Role.MANAGER, institution=version.institution)
    if refusal is not None:
        return refusal
    if version.is_preview:
        return Refusal(
            "A preview covers only a short segment and cannot be published. "
            "Request a full restoration, then publish its version.",
            PublicationError,
        )
    if review_state != Decision.APPROVE:
        said = _REVIEW_STATE_SAID.get(review_state, f"its review state is {review_state!r}")
        return Refusal(
            f"Only approved versions can be published; {said}. Ask a reviewer to approve it first.",
            PublicationError,
        )
    return None


def tape_unpublish_refusal(*, membership: Membership | None, tape: Tape) -> Refusal | None:
    """Managers unpublish (whether there is a published version is checked under lock)."""
    return role_refusal(membership, Role.MANAGER, institution=tape.institution)
