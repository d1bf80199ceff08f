"""Pages: job list with live progress JSON, queue, review list, includes on the tape and
capture pages, history export, and isolation (404 for other institutions, files included)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from restoration import services
from restoration.models import JobStatus, RestorationJob
from restoration.worker import job_claim
from tests.restoration.factories import finished_job, version_for

pytestmark = pytest.mark.django_db


def content(response: Any) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    return raw.decode()


def test_job_list_and_progress_json(
    archivist: Any,
    capture: Any,
    archivist_client: Client,
    outsider: Any,
    make_capture: Any,
    other_tape: Any,
) -> None:
    queued = services.job_request(actor=archivist, capture=capture)
    running = job_claim(job_id=services.job_request(actor=archivist, capture=capture).pk)
    RestorationJob.objects.filter(pk=running.pk).update(
        stage="restoring", frames_done=6, frames_total=12, eta_seconds=3.0
    )
    theirs = services.job_request(actor=outsider, capture=make_capture(other_tape, actor=outsider))

    page = archivist_client.get("/jobs/")
    html = content(page)
    assert page.status_code == 200
    assert f'data-job-id="{queued.pk}"' in html and f'data-job-id="{running.pk}"' in html
    assert f'data-job-id="{theirs.pk}"' not in html
    assert "js/jobs.js" in html and "<progress" in html

    ids = f"{queued.pk},{running.pk},{theirs.pk}"
    data = archivist_client.get(f"/jobs/progress.json?ids={ids}").json()["jobs"]
    by_id = {row["id"]: row for row in data}
    assert set(by_id) == {queued.pk, running.pk}  # another institution's job is not there
    assert by_id[running.pk]["progress"] == 0.5 and by_id[running.pk]["eta_seconds"] == 3.0
    assert by_id[queued.pk]["queue_position"] == 1  # the running job no longer counts

    queue = content(archivist_client.get("/jobs/queue/"))
    assert f"#{queued.pk}" in queue and f"#{running.pk}" in queue
    assert running.worker_host in queue  # a worker seen recently (its heartbeat)


def test_refused_buttons_say_why_go_back_and_change_nothing(
    archivist: Any, capture: Any, archivist_client: Client, manager_client: Client
) -> None:
    def said(response: Any) -> list[tuple[str, str]]:
        """The messages shown on the page the button went back to (`follow=True`)."""
        assert response.status_code == 200
        return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]

    queued = services.job_request(actor=archivist, capture=capture)
    response = archivist_client.post(f"/jobs/{queued.pk}/retry/", follow=True)
    assert response.redirect_chain[-1][0] == f"/jobs/{queued.pk}/"
    assert said(response) == [
        ("error", f"Only failed or cancelled jobs can be retried; job #{queued.pk} is queued.")
    ]
    assert RestorationJob.objects.count() == 1

    done = finished_job(capture, archivist)
    version = version_for(done)  # awaiting review
    response = archivist_client.post(f"/jobs/{done.pk}/cancel/", follow=True)
    assert response.redirect_chain[-1][0] == f"/jobs/{done.pk}/"
    assert said(response) == [
        ("error", f"Job #{done.pk} is succeeded; there is nothing to cancel.")
    ]
    done.refresh_from_db()
    assert done.status == JobStatus.SUCCEEDED

    response = manager_client.post(f"/versions/{version.pk}/publish/", {"comment": ""}, follow=True)
    assert response.redirect_chain[-1][0] == f"/versions/{version.pk}/"
    assert [level for level, _ in said(response)] == ["error"]
    assert "Only approved versions can be published" in said(response)[0][1]
    assert not version.publications.exists()

    response = manager_client.post(f"/tapes/{capture.tape_id}/unpublish/", follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "catalog:tape_detail", kwargs={"pk": capture.tape_id}
    )
    assert said(response) == [("error", "This tape has no published version to unpublish.")]


def test_job_detail_cancel_and_retry_pages(
    archivist: Any, capture: Any, archivist_client: Client
) -> None:
    job = services.job_request(actor=archivist, capture=capture)
    detail = content(archivist_client.get(f"/jobs/{job.pk}/"))
    assert "Cancel job" in detail and "queued, position 1" in detail
    response = archivist_client.post(f"/jobs/{job.pk}/cancel/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    response = archivist_client.post(f"/jobs/{job.pk}/retry/")
    retry = RestorationJob.objects.exclude(pk=job.pk).get()
    assert response["Location"] == f"/jobs/{retry.pk}/" and retry.retry_of_id == job.pk

    # A permanent failure points to a new request with other options, not only to a retry.
    RestorationJob.objects.filter(pk=retry.pk).update(
        status=JobStatus.FAILED, error_message="bad option", error_permanent=True
    )
    failed = content(archivist_client.get(f"/jobs/{retry.pk}/"))
    assert "will fail the same way" in failed
    assert f'href="/jobs/new/{capture.pk}/"' in failed and "Restore with other options" in failed


def test_job_form_validates_and_shows_errors(archivist_client: Client, capture: Any) -> None:
    form = content(archivist_client.get(f"/jobs/new/{capture.pk}/?preview=1"))
    assert 'name="preview"' in form and "checked" in form
    response = archivist_client.post(
        f"/jobs/new/{capture.pk}/",
        {"model": "tiny", "scorer": "none", "deinterlace": "off", "frame_start": "50"},
    )
    assert response.status_code == 200 and "past the end of the capture" in content(response)
    assert not RestorationJob.objects.exists()


def test_review_pages_need_reviewers(
    archivist: Any, capture: Any, archivist_client: Client, reviewer_client: Client
) -> None:
    version = version_for(finished_job(capture, archivist))
    assert archivist_client.get("/review/").status_code == 403
    listing = content(reviewer_client.get("/review/"))
    assert f"/versions/{version.pk}/" in listing and "Awaiting review" in listing
    page = content(reviewer_client.get(f"/versions/{version.pk}/"))
    assert "Record decision" in page and "js/review.js" in page
    archivist_page = content(archivist_client.get(f"/versions/{version.pk}/"))
    assert "Record decision" not in archivist_page  # archivists see, but cannot decide


def test_other_institutions_pages_and_files_are_404(
    archivist: Any, capture: Any, outsider_client: Client
) -> None:
    job = finished_job(capture, archivist)
    version = version_for(job)
    for url in (
        f"/jobs/{job.pk}/",
        f"/jobs/new/{capture.pk}/",
        f"/versions/{version.pk}/",
        f"/versions/{version.pk}/access.mp4",
        f"/versions/{version.pk}/master.mkv",
        f"/versions/{version.pk}/scores.json",
        f"/versions/{version.pk}/provenance.json",
        f"/versions/{version.pk}/frames/0/before.jpg",
        f"/tapes/{capture.tape_id}/history/export.csv",
    ):
        assert outsider_client.get(url).status_code == 404, url
    assert outsider_client.post(f"/jobs/{job.pk}/cancel/").status_code == 404
    assert (
        outsider_client.post(f"/versions/{version.pk}/decide/", {"decision": "approve"}).status_code
        == 404
    )
    # Anonymous visitors do not even learn that a file exists.
    assert Client().get(f"/versions/{version.pk}/master.mkv").status_code == 404


def test_tape_and_capture_pages_show_restorations(
    archivist: Any,
    reviewer: Any,
    manager: Any,
    capture: Any,
    tape: Any,
    archivist_client: Client,
) -> None:
    version = version_for(finished_job(capture, archivist))
    services.version_decide(actor=reviewer, version=version, decision="approve")
    services.version_publish(actor=manager, version=version)
    tape_page = content(archivist_client.get(f"/tapes/{tape.pk}/"))
    assert 'id="restorations"' in tape_page and f"/versions/{version.pk}/" in tape_page
    assert "Published:" in tape_page
    capture_page = content(archivist_client.get(f"/captures/{capture.pk}/"))
    assert f"/jobs/new/{capture.pk}/" in capture_page and f"/jobs/{version.job_id}/" in capture_page


def test_history_exports(
    archivist: Any,
    reviewer: Any,
    capture: Any,
    tape: Any,
    manager_client: Client,
    archivist_client: Client,
) -> None:
    version = version_for(finished_job(capture, archivist))
    services.version_decide(actor=reviewer, version=version, decision="approve", comment="ok")
    assert archivist_client.get("/history/export.csv").status_code == 403  # managers only
    rows = list(csv.DictReader(io.StringIO(content(manager_client.get("/history/export.csv")))))
    assert {"capture.created", "review.approved"} <= {row["action"] for row in rows}
    approved = next(row for row in rows if row["action"] == "review.approved")
    assert approved["actor"] == "reviewer" and json.loads(approved["details"])["comment"] == "ok"
    filtered = json.loads(content(manager_client.get("/history/export.json?action=review")))
    assert [event["action"] for event in filtered] == ["review.approved"]
    today = timezone.now().date().isoformat()
    assert json.loads(content(manager_client.get(f"/history/export.json?from={today}")))
    tape_rows = json.loads(content(archivist_client.get(f"/tapes/{tape.pk}/history/export.json")))
    assert all(event["tape_id"] == tape.pk for event in tape_rows) and tape_rows
    history_page = content(manager_client.get("/history/?action=review"))
    assert "/history/export.csv?action=review" in history_page


def test_a_preview_of_a_clip_shorter_than_the_preview_says_so(archivist_client, capture, settings):
    """The 12-frame test capture lasts 0.48 s, far less than the 10 s preview."""
    from django.urls import reverse

    url = reverse("restoration:job_create", args=[capture.pk])
    assert "would restore the whole capture" in archivist_client.get(url).content.decode()
    response = archivist_client.post(
        url, {"model": "tiny", "scorer": "none", "deinterlace": "off", "preview": "on"}, follow=True
    )
    page = response.content.decode()
    assert "preview restores the whole capture" in page
    assert 'data-role="preview-whole"' in page
