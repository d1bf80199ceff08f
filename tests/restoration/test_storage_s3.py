"""The restoration workflow on a real S3-protocol server (moto): proxy, restoration, review
thumbnails made by a worker through ranged reads, master downloads audited only when bytes go."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from portal.audit.models import AuditEvent
from portal.captures.models import ProxyStatus
from portal.storage import RangedReader, is_remote
from restoration import services
from restoration.models import RestoredVersion
from restoration.thumbnails import _extract_rgb, thumbnail_name
from tests.media import make_video

pytestmark = pytest.mark.usefixtures("s3_storage")


def _downloads() -> int:
    return AuditEvent.objects.filter(action="version.master_downloaded").count()


@pytest.mark.usefixtures("sync_tasks")
def test_restoration_on_s3_with_worker_thumbnails_and_honest_download_audit(
    archivist: Any, archivist_client: Client, make_capture: Any, tape: Any
) -> None:
    assert is_remote(default_storage)
    capture = make_capture(tape, frames=12)
    capture.refresh_from_db()
    assert capture.proxy_status == ProxyStatus.READY  # built by the (inline) worker from S3
    services.job_request(actor=archivist, capture=capture, parameters={})
    version = RestoredVersion.objects.get()

    # The worker queued the review thumbnails when the version was made: they are in storage.
    worst = [0]  # the page shows at least frame 0 ("none" scorer: no worst-frame list)
    for which in ("before", "after"):
        answer = archivist_client.get(f"/versions/{version.pk}/frames/{worst[0]}/{which}.jpg")
        if answer["Content-Type"] == "image/svg+xml":  # not made yet: queued (inline here)
            answer = archivist_client.get(f"/versions/{version.pk}/frames/{worst[0]}/{which}.jpg")
        assert answer.status_code == 302  # cached JPEG on S3: a signed URL
        assert default_storage.exists(thumbnail_name(version, 0, which))

    # HEAD, and a GET whose body is never read: nothing was sent, nothing is recorded.
    assert archivist_client.head(f"/versions/{version.pk}/master.mkv").status_code == 200
    unread = archivist_client.get(f"/versions/{version.pk}/master.mkv")
    assert unread.status_code == 200 and unread.streaming
    assert _downloads() == 0
    # Streamed from S3 through the portal (not a redirect), recorded once the bytes flow.
    data = b"".join(unread.streaming_content)
    assert hashlib.sha256(data).hexdigest() == version.master_sha256
    assert _downloads() == 1
    ranged = archivist_client.get(f"/versions/{version.pk}/master.mkv", HTTP_RANGE="bytes=0-99")
    assert ranged.status_code == 206 and len(b"".join(ranged.streaming_content)) == 100
    assert _downloads() == 1


@pytest.mark.django_db
def test_thumbnail_decodes_through_ranged_reads_not_a_copy(tmp_path: Path) -> None:
    from django.core.files.base import File

    path = make_video(tmp_path / "long.mkv", frames=150, size=(320, 240), audio=False)
    with path.open("rb") as handle:
        name = default_storage.save("probe/long.mkv", File(handle))
    size = default_storage.size(name)

    class Stored:
        storage, name_ = default_storage, name

    stored = Stored()
    stored.name = name  # type: ignore[attr-defined]
    reads: list[RangedReader] = []
    original_init = RangedReader.__init__

    def tracking_init(self: RangedReader, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **{**kwargs, "block": 64 * 1024})
        reads.append(self)

    RangedReader.__init__ = tracking_init  # type: ignore[method-assign]
    try:
        rgb = _extract_rgb(stored, at_s=5.5)
    finally:
        RangedReader.__init__ = original_init  # type: ignore[method-assign]
    assert rgb.shape == (240, 320, 3)
    fetched = reads[0].gets * 64 * 1024
    assert fetched < size / 2, (fetched, size)
