"""Job pages in chromium: one progress phrase from the server and from the live update (queued
behind a busy worker, claimed but not started, running), and a preview of a capture shorter
than the preview length that says it restores the whole capture (single and bulk)."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from restoration.models import JobStatus, RestorationJob, RestoredVersion
from tests.personas import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("sync_tasks")]


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def queued_job(capture: Any, user: Any) -> RestorationJob:
    return RestorationJob.objects.create(
        institution=capture.institution,
        capture=capture,
        requested_by=user,
        parameters={"model": "tiny"},
        created_at=timezone.now(),
    )


def wait_for_text(page: Any, job: RestorationJob, predicate: str) -> str:
    """Waits until the live update's phrase satisfies ``predicate`` (JS, on ``t``)."""
    selector = f"tr[data-job-id='{job.pk}'] [data-role=text]"
    page.wait_for_function(
        f'(() => {{ const t = document.querySelector("{selector}").textContent; '
        f"return {predicate}; }})()",
        timeout=15_000,
    )
    return page.inner_text(selector)


def test_job_page_shows_one_progress_phrase_live_and_on_reload(
    page: Any, live_server: Any, archivist: Any, make_capture: Any, tape: Any
) -> None:
    capture = make_capture(tape, frames=6)
    busy = queued_job(capture, archivist)
    RestorationJob.objects.filter(pk=busy.pk).update(  # another job keeps the worker busy
        status=JobStatus.RUNNING,
        stage="restoring",
        frames_done=3,
        frames_total=6,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        worker_host="gpu-1",
    )
    job = queued_job(capture, archivist)
    log_in(page, live_server.url, "archivist")
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    text = page.locator(f"tr[data-job-id='{job.pk}'] [data-role=text]")
    expected = "queued, position 1 · the workers are busy with other jobs"
    assert text.inner_text() == expected  # not "waiting for a worker" while it is busy
    page.wait_for_timeout(2500)  # at least one live update
    assert text.inner_text() == expected

    # Claimed by a worker that has reported nothing yet: "starting", never "0/?".
    RestorationJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    live = wait_for_text(page, job, "t === 'starting'")
    page.reload()
    assert text.inner_text() == live == "starting"

    RestorationJob.objects.filter(pk=job.pk).update(
        stage="restoring", frames_done=2, frames_total=6, eta_seconds=130
    )
    live = wait_for_text(page, job, "t.includes('2 of 6')")
    assert live == "restoring · 2 of 6 frames · about 2 min 10 s left"
    assert "?" not in live
    page.reload()
    assert text.inner_text() == live  # the server says it in the same words


def test_preview_of_a_short_capture_says_it_restores_the_whole_capture(
    page: Any, live_server: Any, archivist: Any, make_capture: Any, tape: Any
) -> None:
    capture = make_capture(tape, frames=12)  # 0.48 s, far below the 10 s preview
    log_in(page, live_server.url, "archivist")
    page.goto(f"{live_server.url}/jobs/new/{capture.pk}/?preview=1")
    warning = page.locator("[data-role=short-capture]")
    assert warning.is_visible() and "whole capture" in warning.inner_text()
    assert page.is_checked("#id_preview")
    page.select_option("#id_model", "tiny")
    page.select_option("#id_scorer", "none")
    page.click("text=Queue the job")
    page.wait_for_selector("[data-role=preview-whole]")
    assert "restores the whole capture" in page.inner_text(".messages")
    version = RestoredVersion.objects.get(job__capture=capture)
    assert version.is_preview
    page.goto(f"{live_server.url}/versions/{version.pk}/")
    notice = page.locator("[data-role=preview-whole]")
    assert notice.is_visible() and "covers the whole capture" in notice.inner_text()

    # The same from the captures list's bulk restore.
    page.goto(f"{live_server.url}/captures/")
    page.check(f"input[name=capture][value='{capture.pk}']")
    page.click("button[value=restore]")
    assert page.locator("[data-role=short-capture]").is_visible()
    assert "whole capture" in page.inner_text("[data-role=short-note]")
    page.select_option("#id_model", "tiny")
    page.select_option("#id_scorer", "none")
    page.check("#id_preview")
    page.click("text=Queue 1 job")
    page.wait_for_selector("text=1 job queued with the same options")
    warning_text = page.inner_text(".message.warning")
    assert "preview restores the whole capture" in warning_text
    assert capture.original_filename in warning_text


def test_home_is_per_role_and_its_counts_open_the_matching_lists(
    browser_context: Any,
    live_server: Any,
    archivist: Any,
    reviewer: Any,
    manager: Any,
    make_capture: Any,
    tape: Any,
) -> None:
    from portal.catalog.models import Tape
    from restoration import services
    from restoration.models import Decision
    from tests.restoration.factories import finished_job, version_for

    capture = make_capture(tape, frames=6)
    pending = version_for(finished_job(capture, archivist))  # the archivist's request
    own = version_for(finished_job(capture, reviewer))  # the reviewer's own: not theirs to decide
    published = version_for(finished_job(capture, archivist))
    services.version_decide(actor=reviewer, version=published, decision=Decision.APPROVE)
    services.version_publish(actor=manager, version=published)
    Tape.objects.create(institution=tape.institution, identifier="NOT-PUBLISHED")

    page = browser_context.new_page()
    log_in(page, live_server.url, "archivist")
    assert page.locator("[data-section=awaiting-review]").count() == 0  # not an archivist's job
    browser_context.clear_cookies()
    log_in(page, live_server.url, "reviewer")
    awaiting = page.locator("[data-section=awaiting-review]")
    assert awaiting.locator(".count").inner_text() == "1"
    awaiting.click()
    rows = page.inner_text("main table")
    assert f"#{pending.pk}" in rows and f"#{own.pk}" not in rows  # four eyes: not their own
    assert page.input_value("select[name=state]") == "mine"

    page.goto(f"{live_server.url}/")
    page.click("[data-section=published]")
    assert "1 found" in page.inner_text("h1") and "VHS-042" in page.inner_text("table.tapes")
    page.goto(f"{live_server.url}/")
    page.click("[data-section=uploads]")
    assert page.url.endswith("/captures/") and "1 found" in page.inner_text("h1")
