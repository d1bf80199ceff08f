"""Capture pages: upload (plain form and XHR), detail, status, tape include; isolation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from portal.captures.demo import ensure_demo_capture
from portal.captures.models import Capture, ProxyStatus
from portal.captures.tasks import build_capture_proxy
from tests.portal.captures.conftest import stored_files

pytestmark = pytest.mark.django_db

XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest", "HTTP_ACCEPT": "application/json"}


def test_upload_page_shows_form_and_progress_script(archivist_client: Client, tape: Any) -> None:
    response = archivist_client.get(reverse("captures:upload", args=[tape.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert "js/upload.js" in html and "<progress" in html


def test_xhr_upload_streams_hashes_and_redirects(
    archivist_client: Client, tape: Any, video_factory: Callable[..., Path]
) -> None:
    path = video_factory("from-browser.mkv")
    with path.open("rb") as handle:
        response = archivist_client.post(
            reverse("captures:upload", args=[tape.pk]), {"file": handle}, **XHR
        )
    assert response.status_code == 201, response.content
    capture = Capture.objects.get()
    assert response.json()["url"] == reverse("captures:detail", args=[capture.pk])
    import hashlib

    assert capture.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_plain_form_upload_of_non_video_shows_the_reason(
    archivist_client: Client, tape: Any
) -> None:
    bogus = SimpleUploadedFile("scan.pdf", b"%PDF-1.4 not a video at all" * 20)
    response = archivist_client.post(reverse("captures:upload", args=[tape.pk]), {"file": bogus})
    assert response.status_code == 400
    assert "scan.pdf" in response.content.decode() and "cannot be used" in response.content.decode()
    assert Capture.objects.count() == 0 and stored_files(settings.MEDIA_ROOT) == []


def test_xhr_upload_errors_are_json(archivist_client: Client, tape: Any) -> None:
    empty = SimpleUploadedFile("empty.mkv", b"")
    response = archivist_client.post(
        reverse("captures:upload", args=[tape.pk]), {"file": empty}, **XHR
    )
    assert response.status_code == 400
    assert "empty" in response.json()["error"]["message"]
    missing = archivist_client.post(reverse("captures:upload", args=[tape.pk]), {}, **XHR)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "no_file"


def test_upload_over_limit_is_413_and_leaves_nothing(
    archivist_client: Client, tape: Any, video_factory: Callable[..., Path], settings: Any
) -> None:
    path = video_factory()
    settings.CAPTURE_MAX_UPLOAD_SIZE = 1000
    with path.open("rb") as handle:
        response = archivist_client.post(
            reverse("captures:upload", args=[tape.pk]), {"file": handle}, **XHR
        )
    assert response.status_code == 413
    assert "upload limit" in response.json()["error"]["message"]
    assert Capture.objects.count() == 0 and stored_files(settings.MEDIA_ROOT) == []
    assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).glob("*.upload*")) == []


def test_detail_shows_metadata_status_then_player(
    archivist_client: Client, tape: Any, make_capture: Callable[..., Capture]
) -> None:
    capture = make_capture(tape)
    url = reverse("captures:detail", args=[capture.pk])
    html = archivist_client.get(url).content.decode()
    assert capture.sha256 in html and "64 × 48" in html and "ffv1" in html
    assert "Waiting for a worker" in html and "<video" not in html
    status = archivist_client.get(reverse("captures:status", args=[capture.pk])).json()
    assert status["proxy_status"] == ProxyStatus.PENDING and status["proxy_url"] is None

    build_capture_proxy(capture.pk)
    html = archivist_client.get(url).content.decode()
    assert "<video" in html and reverse("captures:proxy", args=[capture.pk]) in html


@pytest.mark.parametrize("name", ["detail", "status", "upload"])
def test_pages_are_404_for_outsiders(
    outsider_client: Client, tape: Any, make_capture: Callable[..., Capture], name: str
) -> None:
    capture = make_capture(tape)
    arg = tape.pk if name == "upload" else capture.pk
    assert outsider_client.get(reverse(f"captures:{name}", args=[arg])).status_code == 404


def test_outsider_cannot_upload_to_another_institutions_tape(
    outsider_client: Client, tape: Any, video_factory: Callable[..., Path]
) -> None:
    with video_factory().open("rb") as handle:
        response = outsider_client.post(
            reverse("captures:upload", args=[tape.pk]), {"file": handle}
        )
    assert response.status_code == 404
    assert Capture.objects.count() == 0


def test_outsider_cannot_delete_or_retry(
    outsider_client: Client, tape: Any, make_capture: Callable[..., Capture]
) -> None:
    capture = make_capture(tape)
    for name in ("delete", "retry_proxy"):
        assert (
            outsider_client.post(reverse(f"captures:{name}", args=[capture.pk])).status_code == 404
        )
    assert Capture.objects.filter(pk=capture.pk).exists()


def test_anonymous_is_sent_to_login(client: Client, tape: Any) -> None:
    response = client.get(reverse("captures:upload", args=[tape.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_manager_deletes_capture_from_page(
    manager_client: Client,
    archivist_client: Client,
    tape: Any,
    make_capture: Callable[..., Capture],
    django_capture_on_commit_callbacks: Any,
) -> None:
    capture = make_capture(tape)
    archivist_client.post(reverse("captures:delete", args=[capture.pk]))
    assert Capture.objects.filter(pk=capture.pk).exists()  # archivists may not
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("captures:delete", args=[capture.pk]))
    assert response.status_code == 302
    assert not Capture.objects.exists() and stored_files(settings.MEDIA_ROOT) == []


def test_tape_captures_include_lists_poster_duration_status(
    tape: Any, make_capture: Callable[..., Capture]
) -> None:
    capture = make_capture(tape)
    html = render_to_string("captures/_tape_captures.html", {"tape": tape})
    assert reverse("captures:detail", args=[capture.pk]) in html
    assert reverse("captures:poster", args=[capture.pk]) in html
    assert capture.duration_label in html and "Waiting for a worker" in html


def test_demo_capture_is_generated_once(tape: Any, archivist: Any) -> None:
    first = ensure_demo_capture(tape=tape, actor=archivist)
    assert first.video_codec == "ffv1" and first.frame_count == 125
    assert first.width <= 720 and first.height <= 576 and first.audio_streams
    assert ensure_demo_capture(tape=tape, actor=archivist) == first
    assert Capture.objects.count() == 1


def test_tape_detail_page_lists_its_captures(
    archivist_client: Client, tape: Any, make_capture: Callable[..., Capture]
) -> None:
    capture = make_capture(tape)
    html = archivist_client.get(reverse("catalog:tape_detail", args=[tape.pk])).content.decode()
    assert reverse("captures:detail", args=[capture.pk]) in html
    assert reverse("captures:upload", args=[tape.pk]) in html


def test_technical_metadata_is_explained_in_words():
    from portal import humanize

    assert humanize.container("matroska,webm") == "Matroska"
    assert humanize.container("mov,mp4,m4a,3gp,3g2,mj2") == "QuickTime / MP4"
    assert humanize.bit_rate(157_000_000) == "157 Mb/s"
    assert humanize.bit_rate(2_500_000) == "2.5 Mb/s"
    assert humanize.bit_rate(None) == "unknown"
    assert humanize.scan(None, None).startswith("scan type unknown")
    assert humanize.scan(True, "tt") == "interlaced, top field first"
    assert humanize.value("preview", False) == "no" and humanize.value("references", None) == "none"
    assert humanize.value("carrier_format", "u-matic") == "U-matic"
    assert humanize.value("parameters", {"references": None, "preview": False}) == (
        "references: none; preview only: no"
    )
