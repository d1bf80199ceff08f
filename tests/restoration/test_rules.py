"""The workflow rules (restoration.rules): one check each, asked by services and pages alike."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from portal.captures.rules import capture_delete_refusal
from restoration import services
from restoration.exceptions import JobStateError, PublicationError, ReviewError
from restoration.models import Decision, JobStatus
from restoration.rules import (
    job_cancel_refusal,
    job_retry_refusal,
    tape_unpublish_refusal,
    version_decide_refusal,
    version_publish_refusal,
)
from tests.restoration.factories import finished_job, version_for

pytestmark = pytest.mark.django_db


def membership(user: Any) -> Membership:
    return Membership.objects.select_related("institution").get(user=user)


def test_cancel_rule_names_who_may_cancel_and_when(
    archivist: Any, reviewer: Any, capture: Any, institution: Any
) -> None:
    from tests.personas import make_user

    job = services.job_request(actor=archivist, capture=capture, parameters={})
    other = make_user("other-archivist", institution)
    assert job_cancel_refusal(membership=membership(archivist), job=job) is None
    assert job_cancel_refusal(membership=membership(reviewer), job=job) is None
    refusal = job_cancel_refusal(membership=membership(other), job=job)
    assert refusal is not None and refusal.error is PermissionDenied
    assert "Only the archivist who requested this job" in refusal.message
    job.status = JobStatus.SUCCEEDED
    refusal = job_cancel_refusal(membership=membership(archivist), job=job)
    assert refusal is not None and refusal.error is JobStateError
    assert job_retry_refusal(membership=membership(archivist), job=job) is not None
    job.status = JobStatus.FAILED
    assert job_retry_refusal(membership=membership(archivist), job=job) is None
    assert job_cancel_refusal(membership=None, job=job) is not None


def test_four_eyes_rule_refuses_only_approving_ones_own_request(
    reviewer: Any, capture: Any
) -> None:
    version = version_for(finished_job(capture, reviewer))
    mine = membership(reviewer)
    refusal = version_decide_refusal(membership=mine, version=version, decision=Decision.APPROVE)
    assert refusal is not None and refusal.error is ReviewError and "four-eyes" in str(refusal)
    assert (
        version_decide_refusal(membership=mine, version=version, decision=Decision.REJECT) is None
    )
    with pytest.raises(ReviewError, match=refusal.message[:40]):
        services.version_decide(
            actor=reviewer, membership=mine, version=version, decision=Decision.APPROVE
        )


def test_publish_rule_gives_the_reason_the_page_shows(
    archivist: Any, reviewer: Any, manager: Any, capture: Any, manager_client: Client
) -> None:
    version = version_for(finished_job(capture, archivist))
    boss = membership(manager)
    refusal = version_publish_refusal(membership=boss, version=version, review_state="pending")
    assert refusal is not None and refusal.error is PublicationError
    page = manager_client.get(reverse("restoration:version_detail", args=[version.pk]))
    assert refusal.message in page.content.decode()
    with pytest.raises(PublicationError, match="awaiting review"):
        services.version_publish(actor=manager, membership=boss, version=version)
    services.version_decide(actor=reviewer, version=version, decision=Decision.APPROVE)
    assert version_publish_refusal(membership=boss, version=version, review_state="approve") is None
    refusal = version_publish_refusal(
        membership=membership(reviewer), version=version, review_state="approve"
    )
    assert refusal is not None and refusal.error is PermissionDenied
    assert tape_unpublish_refusal(membership=membership(reviewer), tape=version.tape) is not None
    assert tape_unpublish_refusal(membership=boss, tape=version.tape) is None


def test_page_buttons_follow_the_rules(
    archivist: Any, capture: Any, archivist_client: Client, manager_client: Client
) -> None:
    detail = reverse("captures:detail", args=[capture.pk])
    assert capture_delete_refusal(membership=membership(archivist), capture=capture) is not None
    assert (
        reverse("captures:delete", args=[capture.pk])
        not in archivist_client.get(detail).content.decode()
    )
    assert (
        reverse("captures:delete", args=[capture.pk]) in manager_client.get(detail).content.decode()
    )
    job = services.job_request(actor=archivist, capture=capture, parameters={})
    page = archivist_client.get(reverse("restoration:job_detail", args=[job.pk])).content.decode()
    assert reverse("restoration:job_cancel", args=[job.pk]) in page
    assert reverse("restoration:job_retry", args=[job.pk]) not in page


def test_a_membership_of_another_user_is_not_trusted(
    archivist: Any, manager: Any, capture: Any
) -> None:
    # A service given someone else's membership looks the actor's own up instead.
    job = services.job_request(actor=archivist, capture=capture, parameters={})
    version = version_for(finished_job(capture, archivist))
    with pytest.raises(PermissionDenied):
        services.version_publish(actor=archivist, membership=membership(manager), version=version)
    assert job.status == JobStatus.QUEUED
