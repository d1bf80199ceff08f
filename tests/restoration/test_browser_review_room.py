"""The review room's tools in chromium, on a capture whose frames carry their own numbers:
nearest-neighbour zoom with pan and position, A/B flip on a key, the difference view, loop,
J/K/L shuttle and go-to-timecode, frame comments (timeline, list, history), the exact original
frame, and two versions of one capture side by side."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.audit.models import AuditEvent
from portal.captures.services import capture_create
from restoration.models import FrameComment
from tests.media import READ_CODE_JS, make_coded_video
from tests.personas import PASSWORD
from tests.restoration.factories import coded_version, finished_job

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("sync_tasks")]


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def state(page: Any) -> dict[str, Any]:
    page.wait_for_function("document.getElementById('review').reviewState().settled")
    return page.evaluate("document.getElementById('review').reviewState()")


@pytest.fixture
def coded(tape: Any, archivist: Any, tmp_path: Any) -> dict[str, Any]:
    path = make_coded_video(tmp_path / "coded.mkv", frames=40)
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="video/x-matroska")
    capture = capture_create(tape=tape, upload=upload, actor=archivist)
    version = coded_version(
        finished_job(capture, archivist), frame_start=5, frame_end=35, tmp_dir=tmp_path
    )
    other = coded_version(
        finished_job(capture, archivist), frame_start=0, frame_end=20, tmp_dir=tmp_path
    )
    return {"capture": capture, "version": version, "other": other}


def open_review(page: Any, base: str, path: str) -> None:
    page.goto(f"{base}{path}")
    page.wait_for_selector("#review[data-ready='1']")
    page.wait_for_function(
        "document.querySelector('video[data-role=b]').readyState >= 2 && "
        "(!document.querySelector('video[data-role=a]').src || "
        "document.querySelector('video[data-role=a]').readyState >= 2)"
    )
    state(page)


def test_review_room_tools(page: Any, live_server: Any, reviewer: Any, coded: dict) -> None:
    version = coded["version"]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "reviewer")
    open_review(page, live_server.url, f"/versions/{version.pk}/")
    stage = page.locator("[data-role=stage]")

    # Go to a timecode (capture frame 00:00:00:12 = 12), then J/K/L.
    page.fill("[data-role=goto-input]", "00:00:00:12")
    page.press("[data-role=goto-input]", "Enter")
    assert state(page)["frame"] == 12
    stage.focus()
    page.keyboard.press("l")
    page.wait_for_timeout(300)
    page.keyboard.press("k")
    forward = state(page)["frame"]
    assert forward > 12
    page.keyboard.press("j")
    page.wait_for_timeout(250)
    page.keyboard.press("k")
    assert state(page)["frame"] < forward

    # Zoom is nearest neighbour, pans by dragging, and says where it is.
    page.fill("[data-role=goto-input]", "20")
    page.press("[data-role=goto-input]", "Enter")
    state(page)
    stage.focus()
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert state(page)["zoom"] == 4
    assert (
        page.eval_on_selector("video[data-role=b]", "v => getComputedStyle(v).imageRendering")
        == "pixelated"
    )
    assert page.locator("[data-role=minimap]").is_visible()
    where = page.inner_text("[data-role=zoom-position]")
    assert where.startswith("4×") and "of 160×96" in where
    before_pan = state(page)["centre"]
    viewport = page.locator(".pane.b .viewport")
    box = viewport.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 60, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    assert state(page)["centre"]["x"] < before_pan["x"]  # dragged right: looks further left
    assert page.inner_text("[data-role=zoom-position]") != where
    stage.focus()
    page.keyboard.press("0")
    assert state(page)["zoom"] == 1

    # A/B flip on a key: one picture, F switches which.
    page.keyboard.press("f")
    current = state(page)
    assert current["mode"] == "flip" and current["flipShowsA"]
    assert page.locator(".pane.b").evaluate("p => getComputedStyle(p).visibility") == "hidden"
    assert "Before" in page.inner_text("[data-role=flip-badge]")
    page.keyboard.press("f")
    assert not state(page)["flipShowsA"]
    assert page.locator(".pane.b").evaluate("p => getComputedStyle(p).visibility") == "visible"

    # Difference: same frame on both sides (the coded bars are identical) -> black canvas.
    page.keyboard.press("d")
    assert state(page)["mode"] == "diff"
    page.wait_for_function("document.querySelector('canvas[data-role=diff]').width === 160")
    brightest = page.eval_on_selector(
        "canvas[data-role=diff]",
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let m = 0; for (let i = 0; i < d.length; i += 4) m = Math.max(m, d[i]); return m; }",
    )
    assert brightest < 90  # coding noise × 4 at most, never the bars themselves (255)
    page.keyboard.press("s")

    # Loop a region: in at 20, out at 24, play -> stays inside.
    page.keyboard.press("i")
    page.fill("[data-role=goto-input]", "24")
    page.press("[data-role=goto-input]", "Enter")
    state(page)
    stage.focus()
    page.keyboard.press("o")
    assert state(page)["loop"] == {"from": 20, "to": 24, "on": True}
    page.keyboard.press("l")
    seen = set()
    for _ in range(12):
        page.wait_for_timeout(60)
        seen.add(page.evaluate("document.getElementById('review').reviewState().frame"))
    page.keyboard.press("k")
    assert seen and max(seen) <= 25 and min(seen) >= 20, seen
    page.keyboard.press("r")
    assert not state(page)["loop"]["on"]

    # A comment on a frame: saved, listed, on the timeline, in the history.
    page.fill("[data-role=goto-input]", "17")
    page.press("[data-role=goto-input]", "Enter")
    state(page)
    page.fill("[data-role=comment-text]", "dropout streak top left")
    page.click("[data-role=comment-form] button[type=submit]")
    page.wait_for_selector("[data-role=comment-list] li[data-frame='17']")
    stage.focus()
    page.keyboard.press("m")  # a marker, no text
    page.wait_for_function("document.getElementById('review').reviewState().comments === 2")
    comment = FrameComment.objects.get(text="dropout streak top left")
    assert comment.frame == 17 and comment.version == version
    event = AuditEvent.objects.get(action="review.frame_commented")
    assert event.details["timecode"] == "00:00:00:17" and event.tape_id == version.tape_id
    page.goto(f"{live_server.url}/tapes/{version.tape_id}/history/")
    assert "dropout streak top left" in page.inner_text("table.history")

    # The exact original frame, decoded from the FFV1 original, when paused.
    open_review(page, live_server.url, f"/versions/{version.pk}/")
    page.fill("[data-role=goto-input]", "9")
    page.press("[data-role=goto-input]", "Enter")
    state(page)
    page.check("[data-role=exact]")
    page.wait_for_function("!document.querySelector('img[data-role=exact-img]').hidden")
    code = page.eval_on_selector(
        "img[data-role=exact-img]",
        "img => { const c = document.createElement('canvas'); c.width = img.naturalWidth;"
        " c.height = img.naturalHeight; c.getContext('2d').drawImage(img, 0, 0);"
        " const bar = c.width / 8; let v = 0; for (let b = 0; b < 8; b++) {"
        " const px = c.getContext('2d').getImageData(b * bar + bar / 2, c.height / 3, 1, 1);"
        " if (px.data[0] > 128) v |= 1 << b; }"
        " return [v, img.naturalWidth]; }",
    )
    assert code == [9, 160]  # full size, exactly capture frame 9
    page.click("[data-action=play]")
    page.wait_for_function("document.querySelector('img[data-role=exact-img]').hidden")
    page.click("[data-action=play]")
    assert errors == []


def test_two_versions_of_a_capture_side_by_side(
    page: Any, live_server: Any, reviewer: Any, coded: dict
) -> None:
    version, other = coded["version"], coded["other"]
    log_in(page, live_server.url, "reviewer")
    page.goto(f"{live_server.url}/versions/{version.pk}/")
    page.click("[data-role=compare-go]")
    page.wait_for_selector("#review[data-ready='1']")
    assert f"/versions/{version.pk}/compare/{other.pk}/" in page.url
    page.wait_for_function(
        "document.querySelector('video[data-role=a]').readyState >= 2 && "
        "document.querySelector('video[data-role=b]').readyState >= 2"
    )
    # Only the frames both cover: 5..19.
    assert state(page)["frame"] == 5
    assert "frames" in page.inner_text(".compare-table")
    page.fill("[data-role=goto-input]", "30")
    page.press("[data-role=goto-input]", "Enter")
    assert state(page)["frame"] == 19
    a = page.eval_on_selector("video[data-role=a]", READ_CODE_JS)
    b = page.eval_on_selector("video[data-role=b]", READ_CODE_JS)
    assert a == b == 19
    assert "A: version" in page.inner_text("[data-role=label-a]")
