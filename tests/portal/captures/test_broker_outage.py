"""Defect 1 of issue 12: an upload while the task broker (Redis) is unreachable.

The upload must not answer 500 after committing, must not delete the stored files of a committed
capture, and must leave the proxy in a state the archivist can retry once the broker is back.
These tests commit for real (``transaction=True``): ``on_commit`` runs as in production.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_q.conf import Conf

from portal.audit.models import AuditEvent
from portal.captures.models import Capture, ProxyStatus
from portal.captures.services import capture_create, capture_proxy_retry
from tests.portal.captures.conftest import stored_files

pytestmark = pytest.mark.django_db(transaction=True)

# Port 9 (discard) on loopback: nothing listens, so every connection is refused at once.
UNREACHABLE_REDIS = "redis://127.0.0.1:9/0"


@pytest.fixture
def broker_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point django-q2 at a Redis broker that cannot be reached (as when Redis is down)."""
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", UNREACHABLE_REDIS)
    monkeypatch.setattr(Conf, "SYNC", False)


def _assert_kept_with_retryable_proxy(capture: Capture, video: Path) -> None:
    capture.refresh_from_db()
    assert capture.proxy_status == ProxyStatus.FAILED
    assert "queue" in capture.proxy_error.lower() and "retry" in capture.proxy_error.lower()
    with capture.original.open("rb") as stored:
        assert (
            hashlib.sha256(stored.read()).hexdigest()
            == hashlib.sha256(video.read_bytes()).hexdigest()
        )
    assert capture.poster and capture.poster.storage.exists(capture.poster.name)
    actions = list(
        AuditEvent.objects.filter(target_id=str(capture.pk)).values_list("action", flat=True)
    )
    assert sorted(actions) == ["capture.created", "capture.proxy_failed"]


def test_service_upload_with_broker_down_keeps_capture_and_proxy_is_retryable(
    tape: Any,
    archivist: Any,
    video_factory: Callable[..., Path],
    broker_down: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    video = video_factory("outage.mkv")
    upload = SimpleUploadedFile("outage.mkv", video.read_bytes())
    capture = capture_create(tape=tape, upload=upload, actor=archivist)

    _assert_kept_with_retryable_proxy(capture, video)

    # Broker back (ORM broker, run inline): "retry proxy" queues it and the proxy gets made.
    monkeypatch.setattr(Conf, "ORM", "default")
    monkeypatch.setattr(Conf, "REDIS", None)
    monkeypatch.setattr(Conf, "SYNC", True)
    assert capture_proxy_retry(capture=capture, actor=archivist)
    capture.refresh_from_db()
    assert capture.proxy_status == ProxyStatus.READY


def test_retry_while_broker_still_down_stays_failed_and_retryable(
    tape: Any, archivist: Any, video_factory: Callable[..., Path], broker_down: None
) -> None:
    video = video_factory("outage.mkv")
    capture = capture_create(
        tape=tape, upload=SimpleUploadedFile("outage.mkv", video.read_bytes()), actor=archivist
    )
    assert capture_proxy_retry(capture=capture, actor=archivist)
    capture.refresh_from_db()
    assert capture.proxy_status == ProxyStatus.FAILED
    assert capture_proxy_retry(capture=capture, actor=archivist)


@pytest.mark.parametrize("endpoint", ["page", "api"])
def test_upload_endpoints_with_broker_down_answer_201_and_keep_files(
    endpoint: str,
    tape: Any,
    archivist: Any,
    video_factory: Callable[..., Path],
    broker_down: None,
    settings: Any,
) -> None:
    video = video_factory("outage.mkv")
    client = Client(raise_request_exception=False)
    client.force_login(archivist)
    with video.open("rb") as handle:
        if endpoint == "page":
            response = client.post(
                reverse("captures:upload", args=[tape.pk]),
                {"file": handle},
                HTTP_ACCEPT="application/json",
            )
        else:
            response = client.post("/api/v1/captures/", {"tape": tape.pk, "file": handle})
    assert response.status_code == 201, response.content[:500]
    capture = Capture.objects.get()
    _assert_kept_with_retryable_proxy(capture, video)
    # Exactly the capture's files, nothing orphaned, nothing missing.
    names = {
        p.relative_to(settings.MEDIA_ROOT).as_posix() for p in stored_files(settings.MEDIA_ROOT)
    }
    assert names == {capture.original.name, capture.poster.name}
