"""Services: permissions, four-eyes review, append-only decisions, publication history, audit."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404

from portal.audit.models import AuditEvent
from portal.db import ImmutableError
from restoration import selectors, services
from restoration.exceptions import JobStateError, PublicationError, ReviewError
from restoration.models import (
    Decision,
    JobStatus,
    Publication,
    RestorationJob,
    ReviewDecision,
)
from tests.restoration.factories import finished_job, version_for

pytestmark = pytest.mark.django_db


def actions(tape: Any) -> list[str]:
    return list(
        AuditEvent.objects.filter(tape_id=tape.pk)
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


# --- jobs ---------------------------------------------------------------------------------


def test_archivist_requests_a_job_queued_with_normalised_parameters_and_audited(
    archivist: Any, capture: Any, tape: Any
) -> None:
    job = services.job_request(actor=archivist, capture=capture, parameters={"references": 1})
    assert job.status == JobStatus.QUEUED and job.institution == capture.institution
    assert job.parameters["model"] == "tiny" and job.parameters["references"] == 1
    event = AuditEvent.objects.get(action="job.requested")
    assert event.actor == archivist and event.tape_id == tape.pk
    assert event.details["parameters"]["references"] == 1


def test_outsider_cannot_request_a_job_on_another_institutions_capture(
    outsider: Any, capture: Any
) -> None:
    with pytest.raises(PermissionDenied):
        services.job_request(actor=outsider, capture=capture)
    assert not RestorationJob.objects.exists()


def test_cancel_a_queued_job_is_immediate_and_audited(archivist: Any, capture: Any) -> None:
    job = services.job_request(actor=archivist, capture=capture)
    job = services.job_cancel(actor=archivist, job=job)
    assert job.status == JobStatus.CANCELLED and job.finished_at is not None
    assert AuditEvent.objects.filter(action="job.cancelled", target_id=str(job.pk)).exists()
    with pytest.raises(JobStateError):
        services.job_cancel(actor=archivist, job=job)


def test_cancel_a_running_job_asks_the_worker(archivist: Any, reviewer: Any, capture: Any) -> None:
    job = services.job_request(actor=archivist, capture=capture)
    RestorationJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    job.refresh_from_db()
    job = services.job_cancel(actor=reviewer, job=job)
    assert job.status == JobStatus.RUNNING and job.cancel_requested
    assert job.cancel_requested_by == reviewer
    assert AuditEvent.objects.filter(action="job.cancel_requested").count() == 1


def test_another_archivist_cannot_cancel_my_job(
    archivist: Any, capture: Any, institution: Any
) -> None:
    from accounts.models import Role
    from tests.personas import make_user

    colleague = make_user("colleague", institution, Role.ARCHIVIST)
    job = services.job_request(actor=archivist, capture=capture)
    with pytest.raises(PermissionDenied):
        services.job_cancel(actor=colleague, job=job)


def test_retry_makes_a_new_job_and_keeps_the_failed_one(archivist: Any, capture: Any) -> None:
    job = services.job_request(actor=archivist, capture=capture, parameters={"references": 2})
    with pytest.raises(JobStateError):
        services.job_retry(actor=archivist, job=job)
    RestorationJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error_message="x")
    job.refresh_from_db()
    retry = services.job_retry(actor=archivist, job=job)
    assert retry.pk != job.pk and retry.retry_of == job and retry.parameters == job.parameters
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert AuditEvent.objects.filter(action="job.retried", target_id=str(retry.pk)).exists()


def test_queue_position_counts_older_queued_jobs_of_all_institutions(
    archivist: Any, capture: Any, outsider: Any, make_capture: Any, other_tape: Any
) -> None:
    theirs = services.job_request(actor=outsider, capture=make_capture(other_tape, actor=outsider))
    first = services.job_request(actor=archivist, capture=capture)
    second = services.job_request(actor=archivist, capture=capture)
    assert selectors.job_queue_position(job=theirs) == 1
    assert selectors.job_queue_position(job=first) == 2
    assert selectors.job_queue_position(job=second) == 3


def test_jobs_and_versions_of_other_institutions_are_404(
    archivist: Any, outsider: Any, capture: Any
) -> None:
    job = finished_job(capture, archivist)
    version = version_for(job)
    other = outsider.memberships.get().institution
    with pytest.raises(Http404):
        selectors.job_get(institution=other, job_id=job.pk)
    with pytest.raises(Http404):
        selectors.version_get(institution=other, version_id=version.pk)
    assert not selectors.job_list(institution=other).exists()


# --- review -------------------------------------------------------------------------------


@pytest.fixture
def version(capture: Any, archivist: Any) -> Any:
    return version_for(finished_job(capture, archivist))


def test_archivist_cannot_approve(archivist: Any, version: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.version_decide(actor=archivist, version=version, decision=Decision.APPROVE)
    assert not ReviewDecision.objects.exists()


def test_reviewer_cannot_approve_own_request(reviewer: Any, capture: Any) -> None:
    version = version_for(finished_job(capture, reviewer))
    with pytest.raises(ReviewError, match="four-eyes"):
        services.version_decide(actor=reviewer, version=version, decision=Decision.APPROVE)
    # Rejecting or asking for changes on one's own request is allowed.
    services.version_decide(
        actor=reviewer, version=version, decision=Decision.REQUEST_CHANGES, comment="more refs"
    )


def test_institution_setting_allows_self_approval(reviewer: Any, capture: Any) -> None:
    institution = capture.institution
    institution.allow_self_approval = True
    institution.save()
    version = version_for(finished_job(capture, reviewer))
    review = services.version_decide(actor=reviewer, version=version, decision=Decision.APPROVE)
    assert review.decision == Decision.APPROVE


def test_decisions_are_appended_never_overwritten(
    reviewer: Any, manager: Any, version: Any, tape: Any
) -> None:
    with pytest.raises(ReviewError, match="comment is required"):
        services.version_decide(actor=reviewer, version=version, decision=Decision.REJECT)
    first = services.version_decide(
        actor=reviewer, version=version, decision=Decision.REQUEST_CHANGES, comment="flicker"
    )
    assert selectors.version_review_state(version=version) == Decision.REQUEST_CHANGES
    services.version_decide(actor=manager, version=version, decision=Decision.APPROVE)
    assert selectors.version_review_state(version=version) == Decision.APPROVE
    assert version.decisions.count() == 2
    first.comment = "edited"
    with pytest.raises(ImmutableError):
        first.save()
    with pytest.raises(ImmutableError):
        first.delete()
    assert ["review.changes_requested", "review.approved"] == [
        a for a in actions(tape) if a.startswith("review.")
    ]


def test_versions_are_immutable(version: Any) -> None:
    version.model_variant = "other"
    with pytest.raises(ImmutableError):
        version.save()


# --- publication --------------------------------------------------------------------------


def approve(version: Any, by: Any) -> None:
    services.version_decide(actor=by, version=version, decision=Decision.APPROVE)


def test_only_approved_full_versions_are_published_by_managers(
    reviewer: Any, manager: Any, archivist: Any, version: Any, capture: Any
) -> None:
    with pytest.raises(
        PublicationError, match="approved versions can be published; it is awaiting review"
    ):
        services.version_publish(actor=manager, version=version)
    approve(version, reviewer)
    with pytest.raises(PermissionDenied):
        services.version_publish(actor=reviewer, version=version)
    preview = version_for(finished_job(capture, archivist, is_preview=True), is_preview=True)
    approve(preview, reviewer)
    with pytest.raises(PublicationError, match="preview"):
        services.version_publish(actor=manager, version=preview)
    publication = services.version_publish(actor=manager, version=version)
    assert publication.is_current and publication.published_by == manager
    with pytest.raises(PublicationError, match="already"):
        services.version_publish(actor=manager, version=version)


def test_publishing_another_version_replaces_and_keeps_history(
    reviewer: Any, manager: Any, archivist: Any, capture: Any, tape: Any
) -> None:
    first = version_for(finished_job(capture, archivist))
    second = version_for(finished_job(capture, archivist))
    approve(first, reviewer)
    approve(second, reviewer)
    services.version_publish(actor=manager, version=first)
    services.version_publish(actor=manager, version=second)
    history = list(Publication.objects.filter(tape=tape).order_by("published_at", "id"))
    assert [p.version_id for p in history] == [first.pk, second.pk]
    assert history[0].end_reason == Publication.EndReason.REPLACED and history[0].unpublished_at
    assert history[1].is_current
    assert selectors.tape_current_publication(tape_id=tape.pk).version_id == second.pk
    # The database refuses two current publications of one tape, whatever the code does.
    with pytest.raises(IntegrityError):
        Publication.objects.create(
            institution=tape.institution,
            tape=tape,
            version=first,
            published_by=manager,
            published_at=history[1].published_at,
        )


def test_unpublish_is_recorded_and_the_public_page_disappears(
    reviewer: Any, manager: Any, version: Any, tape: Any
) -> None:
    approve(version, reviewer)
    services.version_publish(actor=manager, version=version)
    institution = tape.institution
    with pytest.raises(Http404):  # public access is off by default
        selectors.public_publication(tape_id=tape.pk)
    institution.public_access = True
    institution.save()
    assert selectors.public_publication(tape_id=tape.pk).version_id == version.pk
    publication = services.tape_unpublish(actor=manager, tape=tape, comment="rights unclear")
    assert publication.end_reason == Publication.EndReason.UNPUBLISHED
    with pytest.raises(Http404):
        selectors.public_publication(tape_id=tape.pk)
    with pytest.raises(PublicationError):
        services.tape_unpublish(actor=manager, tape=tape)
    assert actions(tape)[-2:] == ["publication.published", "publication.unpublished"]


def test_master_downloads_are_audited(archivist: Any, version: Any) -> None:
    services.version_record_download(actor=archivist, version=version, rendition="master")
    services.version_record_download(actor=archivist, version=version, rendition="access")
    events = AuditEvent.objects.filter(action="version.master_downloaded")
    assert events.count() == 1 and events.get().details["sha256"] == version.master_sha256


def test_a_capture_with_restorations_cannot_be_deleted(
    archivist: Any, manager: Any, capture: Any, manager_client: Any
) -> None:
    from portal.captures.exceptions import CaptureError
    from portal.captures.models import Capture
    from portal.captures.services import capture_delete

    version_for(finished_job(capture, archivist))
    with pytest.raises(CaptureError, match="provenance"):
        capture_delete(capture=capture, actor=manager)
    response = manager_client.post(f"/captures/{capture.pk}/delete/")
    assert response.status_code == 302 and Capture.objects.filter(pk=capture.pk).exists()
    assert not AuditEvent.objects.filter(action="capture.deleted").exists()
    assert capture.original.storage.exists(capture.original.name)
