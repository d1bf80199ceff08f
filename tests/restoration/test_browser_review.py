"""The review page in a real browser (Debian's chromium via Playwright) on a version produced by
the real workflow: synchronized players, frame stepping with timecode, wipe, zoom, the score
timeline that seeks on click, worst-frame thumbnails, and the live job list."""

from __future__ import annotations

from typing import Any

import pytest

from restoration import services
from restoration.models import RestoredVersion
from tests.personas import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("sync_tasks")]


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def state(page: Any) -> dict[str, Any]:
    return page.evaluate("document.getElementById('review').reviewState()")


def test_reviewer_compares_steps_zooms_and_approves(
    page: Any, live_server: Any, archivist: Any, reviewer: Any, make_capture: Any, tape: Any
) -> None:
    capture = make_capture(tape, frames=12)
    services.job_request(actor=archivist, capture=capture)
    version = RestoredVersion.objects.get()
    capture.refresh_from_db()
    assert capture.proxy_ready  # the "before" side plays the capture's browser proxy
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    log_in(page, live_server.url, "reviewer")
    page.goto(f"{live_server.url}/versions/{version.pk}/")
    page.wait_for_selector("#review[data-ready='1']")
    page.wait_for_function(
        "document.querySelector('video[data-role=b]').readyState >= 1 && "
        "document.querySelector('video[data-role=a]').readyState >= 1"
    )

    page.locator("[data-role=stage]").focus()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("document.getElementById('review').reviewState().settled")
    assert page.inner_text("[data-role=frame]") == "3"
    assert page.inner_text("[data-role=timecode]") == "00:00:00:03"
    current = state(page)
    assert current["frame"] == 3 and abs(current["a"] - current["b"]) < 0.02
    page.keyboard.press("ArrowLeft")
    assert state(page)["frame"] == 2

    page.click("[data-mode=wipe]")
    assert "wipe" in page.get_attribute("[data-role=stage]", "class")
    page.fill("[data-role=wipe]", "30")
    page.dispatch_event("[data-role=wipe]", "input")
    assert (
        page.evaluate(
            "getComputedStyle(document.querySelector('[data-role=stage]')).getPropertyValue('--wipe')"
        ).strip()
        == "30%"
    )
    # Wipe mode names both sides on the picture.
    assert page.locator(".wipe-label.left").is_visible()
    assert page.locator(".wipe-label.right").is_visible()
    assert "Before" in page.inner_text(".wipe-label.left")
    assert "After" in page.inner_text(".wipe-label.right")
    page.click("[data-mode=side]")
    assert not page.locator(".wipe-label.left").is_visible()

    page.click(".pane.a .viewport", position={"x": 10, "y": 10})
    assert state(page)["zoom"] == 2
    assert "scale(2)" in page.get_attribute(".pane.b .zoomed", "style")

    page.wait_for_function(  # the timeline is drawn (before/after curves and the cursor)
        "(() => { const c = document.querySelector('canvas[data-role=timeline]');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let ink = 0; for (let i = 3; i < d.length; i += 4) ink += d[i] > 0; return ink > 50; })()"
    )
    timeline = page.locator("canvas[data-role=timeline]")
    box = timeline.bounding_box()
    timeline.click(position={"x": box["width"] * 0.75 + 1, "y": box["height"] / 2})
    assert state(page)["frame"] == 9  # 12 frames: three quarters in

    page.wait_for_function(
        "[...document.querySelectorAll('.worst-frames img')].length > 0 && "
        "[...document.querySelectorAll('.worst-frames img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    page.locator(".worst-frames button").first.click()

    page.check("input[name=decision][value=approve]")
    page.fill("#id_comment", "Looks right")
    page.click("text=Record decision")
    page.wait_for_selector("text=Decision recorded: approved.")
    assert version.decisions.get().reviewer == reviewer
    assert errors == []


def test_job_list_shows_progress_rows(
    page: Any, live_server: Any, archivist: Any, capture: Any
) -> None:
    services.job_request(actor=archivist, capture=capture)
    log_in(page, live_server.url, "archivist")
    page.goto(f"{live_server.url}/jobs/")
    row = page.locator("tr[data-job-id]")
    assert row.get_attribute("data-status") == "succeeded"
    assert page.inner_text("[data-role=badge]") == "Succeeded"
    page.click("text=Review")
    page.wait_for_selector("#review")


def test_job_list_updates_live_while_a_worker_progresses(
    page: Any, live_server: Any, archivist: Any, capture: Any
) -> None:
    from django.utils import timezone

    from restoration.models import JobStatus, RestorationJob
    from tests.restoration.factories import version_for

    job = RestorationJob.objects.create(
        institution=capture.institution,
        capture=capture,
        requested_by=archivist,
        parameters={"model": "tiny"},
        created_at=timezone.now(),
    )
    log_in(page, live_server.url, "archivist")
    page.goto(f"{live_server.url}/jobs/")
    row = page.locator(f"tr[data-job-id='{job.pk}']")
    assert "queued, position 1" in row.inner_text()

    RestorationJob.objects.filter(pk=job.pk).update(  # a worker claims it and reports progress
        status=JobStatus.RUNNING,
        stage="restoring",
        frames_done=6,
        frames_total=12,
        eta_seconds=75,
        worker_host="gpu-1",
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    page.wait_for_function(
        f"document.querySelector(\"tr[data-job-id='{job.pk}']\").dataset.status === 'running'"
    )
    assert row.locator("[data-role=badge]").inner_text() == "Running"
    assert row.locator("progress").evaluate("bar => bar.value") == 0.5
    # The live update says it in the same words as the server (selectors.job_progress_text).
    assert (
        row.locator("[data-role=text]").inner_text()
        == "restoring · 6 of 12 frames · about 1 min 15 s left"
    )

    RestorationJob.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, frames_done=12)
    job.refresh_from_db()
    version = version_for(job)
    page.wait_for_selector(f"tr[data-job-id='{job.pk}'] [data-role=result] a")
    assert row.locator("[data-role=result] a").get_attribute("href") == f"/versions/{version.pk}/"
    assert row.locator("progress").is_hidden()
