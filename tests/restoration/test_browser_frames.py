"""Frame accuracy of the review room in chromium: after any pause, seek, step, shuttle or replay
the frame number shown equals the frame under the playhead in BOTH players.

The truth comes from the pixels: the capture and the version show their capture frame number
as bars (``tests.media.coded_frame``), read back through a canvas. The capture's browser copy
is made by the real proxy task (H.264), the version's access copy is H.264 too."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.captures.services import capture_create
from tests.media import READ_CODE_JS, make_coded_video
from tests.personas import PASSWORD
from tests.restoration.factories import coded_version, finished_job

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("sync_tasks")]

FRAMES = 60
FIRST, END = 10, 50  # the version restores capture frames 10..49


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def coded_capture(tape: Any, actor: Any, tmp_path: Any) -> Any:
    path = make_coded_video(tmp_path / "coded.mkv", frames=FRAMES)
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="video/x-matroska")
    capture = capture_create(tape=tape, upload=upload, actor=actor)
    capture.refresh_from_db()
    assert capture.proxy_ready and capture.frame_count == FRAMES
    return capture


def settle(page: Any) -> dict[str, Any]:
    page.wait_for_function(
        "document.getElementById('review').reviewState().settled", timeout=10_000
    )
    page.wait_for_timeout(60)  # one more paint after the last 'seeked'
    page.wait_for_function(
        "document.getElementById('review').reviewState().settled", timeout=10_000
    )
    return page.evaluate("document.getElementById('review').reviewState()")


def shown(page: Any) -> tuple[int, int, int, str]:
    label = int(page.inner_text("[data-role=frame]"))
    before = page.eval_on_selector("video[data-role=a]", READ_CODE_JS)
    after = page.eval_on_selector("video[data-role=b]", READ_CODE_JS)
    return label, before, after, page.inner_text("[data-role=timecode]")


def test_frame_number_matches_both_pictures_over_random_actions(
    page: Any, live_server: Any, archivist: Any, reviewer: Any, tape: Any, tmp_path: Any
) -> None:
    capture = coded_capture(tape, archivist, tmp_path)
    version = coded_version(
        finished_job(capture, archivist), frame_start=FIRST, frame_end=END, tmp_dir=tmp_path
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "reviewer")
    page.goto(f"{live_server.url}/versions/{version.pk}/")
    page.wait_for_selector("#review[data-ready='1']")
    page.wait_for_function(
        "document.querySelector('video[data-role=a]').readyState >= 2 && "
        "document.querySelector('video[data-role=b]').readyState >= 2"
    )
    settle(page)
    assert shown(page)[:3] == (FIRST, FIRST, FIRST)
    stage = page.locator("[data-role=stage]")
    timeline = page.locator("canvas[data-role=timeline]")
    rng = random.Random(15)
    actions: list[str] = []

    def play_then_pause() -> None:
        page.click("[data-action=play]")
        page.wait_for_timeout(rng.randint(80, 700))
        page.click("[data-action=play]")

    def step() -> None:
        stage.focus()
        page.keyboard.press(rng.choice(["ArrowRight", "ArrowLeft", "Shift+ArrowRight"]))

    def seek_on_timeline() -> None:
        box = timeline.bounding_box()
        timeline.click(position={"x": rng.uniform(2, box["width"] - 2), "y": box["height"] / 2})

    def go_to() -> None:
        page.fill("[data-role=goto-input]", str(rng.randint(FIRST, END - 1)))
        page.press("[data-role=goto-input]", "Enter")

    def replay_from_end() -> None:
        page.fill("[data-role=goto-input]", str(END - 1))
        page.press("[data-role=goto-input]", "Enter")
        settle(page)
        stage.focus()
        page.keyboard.press("Space")  # at the end: starts again from the first frame
        page.wait_for_timeout(rng.randint(100, 500))
        page.keyboard.press("k")

    def play_to_the_end() -> None:
        page.fill("[data-role=goto-input]", str(END - 4))
        page.press("[data-role=goto-input]", "Enter")
        settle(page)
        page.click("[data-action=play]")
        page.wait_for_function("document.querySelector('video[data-role=b]').ended", timeout=10_000)

    def shuttle() -> None:
        stage.focus()
        page.keyboard.press(rng.choice(["l", "j"]))
        page.wait_for_timeout(rng.randint(100, 400))
        page.keyboard.press("k")

    choices = [play_then_pause, step, seek_on_timeline, go_to, replay_from_end, shuttle]
    plan = [play_to_the_end, replay_from_end] + [rng.choice(choices) for _ in range(22)]
    for action in plan:
        action()
        state = settle(page)
        label, before, after, timecode = shown(page)
        actions.append(f"{action.__name__}: label {label} before {before} after {after}")
        assert label == state["frame"], actions[-3:]
        assert before == label and after == label, actions[-3:]
        assert FIRST <= label < END, actions
        assert timecode == f"00:00:{label // 25:02d}:{label % 25:02d}", actions
    assert len(plan) >= 20
    assert errors == []
