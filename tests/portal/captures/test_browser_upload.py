"""The upload page in a real browser: XHR progress bar, redirect, then the player appears."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from portal.captures.models import Capture
from portal.captures.tasks import build_capture_proxy
from portal.catalog.models import Tape
from tests.personas import PASSWORD

pytestmark = pytest.mark.browser

# Records every value the progress bar shows (the script sets `value`, which is reflected as
# an attribute on <progress>).
RECORD_PROGRESS = """
window.__progress = [];
document.addEventListener("DOMContentLoaded", function () {
  var bar = document.getElementById("upload-bar");
  if (!bar) { return; }
  new MutationObserver(function () {
    if (bar.hasAttribute("value")) {
      window.__progress.push(parseFloat(bar.getAttribute("value")));
    }
  }).observe(bar, { attributes: true });
});
"""


@pytest.fixture
def page(browser_context: Any) -> Any:
    browser_context.add_init_script(RECORD_PROGRESS)
    return browser_context.new_page()


@pytest.mark.django_db(transaction=True)
def test_upload_shows_progress_then_detail_then_player(
    page: Any,
    live_server: Any,
    archivist: Any,
    institution: Any,
    video_factory: Callable[..., Path],
) -> None:
    tape = Tape.objects.create(institution=institution, identifier="VHS-42", title="Wedding")
    video = video_factory("wedding.mkv", frames=30, size=(320, 240))

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "archivist")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/captures/upload/{tape.pk}/")
    page.set_input_files("#id_file", str(video))
    page.click("#upload-submit")
    page.wait_for_url(f"{live_server.url}/captures/*/", timeout=30_000)

    capture = Capture.objects.get()
    assert capture.original_filename == "wedding.mkv"
    assert capture.sha256 in page.content()
    assert "Waiting for a worker" in page.content()

    # The detail page polls the status and shows the player once the proxy is made.
    build_capture_proxy(capture.pk)
    page.wait_for_selector("video source[type='video/mp4']", timeout=20_000, state="attached")
    playable = page.evaluate(
        """() => new Promise((resolve) => {
             const video = document.querySelector("video");
             if (video.readyState >= 1) { resolve(video.duration); return; }
             video.addEventListener("loadedmetadata", () => resolve(video.duration));
             video.addEventListener("error", () => resolve(-1));
             video.load();
           })"""
    )
    assert playable == pytest.approx(30 / 25, abs=0.1)


@pytest.mark.django_db(transaction=True)
def test_progress_bar_moves_and_errors_are_shown(
    page: Any,
    live_server: Any,
    archivist: Any,
    institution: Any,
    tmp_path: Path,
) -> None:
    tape = Tape.objects.create(institution=institution, identifier="VHS-43")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "archivist")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()

    # A large non-video file: the bar moves while it uploads, then the server's reason shows.
    junk = tmp_path / "notes.bin"
    junk.write_bytes(os.urandom(8 * 1024 * 1024))
    page.goto(f"{live_server.url}/captures/upload/{tape.pk}/")
    page.set_input_files("#id_file", str(junk))
    page.click("#upload-submit")
    page.wait_for_selector("#upload-error:not([hidden])", timeout=30_000)
    assert "cannot be used as a capture" in page.inner_text("#upload-error")
    values = page.evaluate("window.__progress")
    assert values and max(values) > 0, values
    assert not Capture.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_interrupted_browser_upload_resumes_to_identical_file(
    page: Any,
    live_server: Any,
    archivist: Any,
    institution: Any,
    settings: Any,
    video_factory: Callable[..., Path],
) -> None:
    """tus through Uppy: PATCH requests cut off at several points, a pause and a resume; the
    stored original is byte-identical with the right SHA-256."""
    import hashlib

    from portal.storage import iter_stored

    settings.UPLOAD_CHUNK_SIZE = 64 * 1024
    tape = Tape.objects.create(institution=institution, identifier="VHS-44", title="Picnic")
    video = video_factory("picnic.mkv", frames=40, size=(160, 120))
    content = video.read_bytes()
    assert len(content) > 6 * 64 * 1024

    patches = {"n": 0, "dropped": 0}

    def cut_some(route: Any) -> None:
        if route.request.method == "PATCH":
            patches["n"] += 1
            if patches["n"] in (2, 4, 5):  # the network drops these requests
                patches["dropped"] += 1
                route.abort("connectionreset")
                return
        route.continue_()

    page.route("**/api/v1/uploads/**", cut_some)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "archivist")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/captures/upload/{tape.pk}/")
    page.set_input_files("#id_file", str(video))
    page.click("#upload-submit")
    page.wait_for_function("window.__progress.some((v) => v > 20)", timeout=30_000)
    page.click("#upload-pause")
    assert page.inner_text("#upload-pause") == "Resume"
    page.wait_for_timeout(300)
    page.click("#upload-pause")
    page.wait_for_url(f"{live_server.url}/captures/*/", timeout=60_000)

    assert patches["dropped"] == 3
    capture = Capture.objects.get()
    assert capture.sha256 == hashlib.sha256(content).hexdigest()
    assert b"".join(iter_stored(capture.original.storage, capture.original.name)) == content
