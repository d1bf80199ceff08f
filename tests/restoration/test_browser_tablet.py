"""The review room on a tablet in chromium (touch, no keyboard), portrait 768x1024 and landscape
1024x768: no sideways scrolling, every control big enough for a finger and on the screen, and
the work done by touch alone (frame steps, play and pause, A/B flip, wipe by dragging on the
picture, scrubbing the timeline, zoom by a tap and pan by a finger). Screenshots go to
docs/screenshots/ (README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.captures.services import capture_create
from tests.media import READ_CODE_JS, make_coded_video
from tests.personas import PASSWORD
from tests.restoration.factories import coded_version, finished_job

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("sync_tasks")]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TABLETS = {"portrait": (768, 1024), "landscape": (1024, 768)}
FINGER = 44  # px: the smallest target a finger hits reliably (WCAG 2.5.5)

#: Every control of the review room a person works with, visible in side-by-side mode.
CONTROLS = (
    "[data-mode]",
    "[data-role=zoom]",
    "[data-role=exact]",
    ".transport button",
    "[data-role=goto-input]",
    "[data-role=comment-text]",
    "[data-role=comment-form] button",
)


@pytest.fixture
def coded(tape: Any, archivist: Any, tmp_path: Any) -> Any:
    path = make_coded_video(tmp_path / "coded.mkv", frames=40)
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="video/x-matroska")
    capture = capture_create(tape=tape, upload=upload, actor=archivist)
    return coded_version(
        finished_job(capture, archivist), frame_start=5, frame_end=35, tmp_dir=tmp_path
    )


def state(page: Any) -> dict[str, Any]:
    page.wait_for_function("document.getElementById('review').reviewState().settled")
    return page.evaluate("document.getElementById('review').reviewState()")


class Finger:
    """Real touch events (Chrome DevTools Protocol), so the page sees pointerType "touch"."""

    def __init__(self, context: Any, page: Any) -> None:
        self.page = page
        self.cdp = context.new_cdp_session(page)

    def _send(self, kind: str, points: list[tuple[float, float]]) -> None:
        touch = [{"x": x, "y": y} for x, y in points]
        self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch})

    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> None:
        self._send("touchStart", [start])
        for i in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * i / steps
            y = start[1] + (end[1] - start[1]) * i / steps
            self._send("touchMove", [(x, y)])
        self.page.wait_for_timeout(150)  # the finger rests before it lifts: no fling
        self._send("touchEnd", [])


def small_or_outside(page: Any, width: int) -> list[str]:
    problems = []
    for selector in CONTROLS:
        items = page.locator(f"#review {selector}")
        for i in range(items.count()):
            item = items.nth(i)
            if not item.is_visible():
                continue
            box = item.bounding_box()
            target = item.evaluate(
                "e => (e.type === 'checkbox' ? e.closest('label') || e : e)"
                ".getBoundingClientRect().height"
            )
            if target < FINGER - 0.5 or box["x"] < 0 or box["x"] + box["width"] > width:
                problems.append(f"{selector}[{i}] {box} target height {target}")
    return problems


@pytest.mark.parametrize("orientation", sorted(TABLETS))
def test_review_room_on_a_tablet_by_touch(
    chromium_browser: Any, live_server: Any, reviewer: Any, coded: Any, orientation: str
) -> None:
    width, height = TABLETS[orientation]
    context = chromium_browser.new_context(
        viewport={"width": width, "height": height},
        has_touch=True,
        is_mobile=True,
        device_scale_factor=1,
        bypass_csp=True,  # wait_for_function needs eval (see tests/conftest.py)
    )
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "reviewer")
        page.fill("#id_password", PASSWORD)
        with page.expect_navigation():
            page.tap("button[type=submit]")
        page.goto(f"{live_server.url}/versions/{coded.pk}/")
        page.wait_for_selector("#review[data-ready='1']")
        page.wait_for_function(
            "document.querySelector('video[data-role=a]').readyState >= 2 && "
            "document.querySelector('video[data-role=b]').readyState >= 2"
        )
        state(page)
        assert page.evaluate("matchMedia('(pointer: coarse)').matches")

        # Fits the screen, both pictures side by side and large enough to judge.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        pane_a = page.locator(".pane.a .viewport").bounding_box()
        pane_b = page.locator(".pane.b .viewport").bounding_box()
        assert abs(pane_a["y"] - pane_b["y"]) < 2 and pane_a["width"] >= width * 0.4
        assert small_or_outside(page, width) == []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"review-tablet-{orientation}.png"), full_page=True)

        # Frame steps and play/pause by tapping.
        start = state(page)["frame"]
        page.tap("[data-action=next]")
        page.tap("[data-action=next]")
        assert state(page)["frame"] == start + 2
        page.tap("[data-action=shuttle-forward]")
        page.wait_for_timeout(400)
        page.tap("[data-action=play]")  # pauses the shuttle
        paused = state(page)
        assert paused["frame"] > start + 2
        assert int(page.inner_text("[data-role=frame]")) == paused["frame"]
        assert page.eval_on_selector("video[data-role=b]", READ_CODE_JS) == paused["frame"]

        # A/B flip with the button alone: pressed again, it switches sides.
        page.tap("[data-mode=flip]")
        assert not state(page)["flipShowsA"]
        page.tap("[data-mode=flip]")
        assert state(page)["flipShowsA"]
        assert "Before" in page.inner_text("[data-role=flip-badge]")

        # Wipe: a finger dragged across the picture moves the line, labels on both sides.
        page.tap("[data-mode=wipe]")
        finger = Finger(context, page)
        page.locator(".pane.a .viewport").scroll_into_view_if_needed()
        picture = page.locator(".pane.a .viewport").bounding_box()
        y = picture["y"] + picture["height"] / 2
        finger.drag(
            (picture["x"] + picture["width"] * 0.5, y), (picture["x"] + picture["width"] * 0.2, y)
        )
        assert abs(int(page.input_value("[data-role=wipe]")) - 20) <= 3
        assert state(page)["zoom"] == 1  # a drag is not a tap: no zoom
        assert page.locator(".wipe-label.left").is_visible()
        assert page.locator(".wipe-label.right").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(SCREENSHOTS / f"review-tablet-{orientation}-wipe.png"))

        # Scrub the timeline with a finger: the frame follows, both players agree.
        page.locator("canvas[data-role=timeline]").scroll_into_view_if_needed()
        timeline = page.locator("canvas[data-role=timeline]").bounding_box()
        ty = timeline["y"] + timeline["height"] / 2
        finger.drag(
            (timeline["x"] + timeline["width"] * 0.1, ty),
            (timeline["x"] + timeline["width"] * 0.9, ty),
        )
        scrubbed = state(page)
        assert scrubbed["frame"] >= 28, scrubbed  # frames 5..34: 90 % is frame 32
        page.tap("[data-mode=side]")
        assert state(page)["mode"] == "side"
        assert page.eval_on_selector("video[data-role=b]", READ_CODE_JS) == scrubbed["frame"]
        assert page.eval_on_selector("video[data-role=a]", READ_CODE_JS) == scrubbed["frame"]

        # Zoom by tapping the picture, pan with a finger, back to fit with the menu.
        viewport = page.locator(".pane.b .viewport")
        viewport.scroll_into_view_if_needed()
        viewport.tap()
        zoomed = state(page)
        assert zoomed["zoom"] == 2
        box = viewport.bounding_box()
        middle = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        finger.drag(middle, (middle[0] - box["width"] / 4, middle[1]))
        assert state(page)["centre"]["x"] > zoomed["centre"]["x"]  # looks further right
        assert state(page)["zoom"] == 2  # a pan is not a tap
        page.select_option("[data-role=zoom]", "1")
        assert state(page)["zoom"] == 1
        assert errors == []
    finally:
        context.close()
