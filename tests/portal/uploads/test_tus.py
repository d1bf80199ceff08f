"""tus 1.0 uploads through the API: cut at several points, resumed to a byte-identical capture."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import io
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from portal.audit.models import AuditEvent
from portal.captures.models import Capture
from portal.storage import iter_stored
from portal.uploads import hashing
from portal.uploads.models import ResumableUpload, UploadStatus
from portal.uploads.services import uploads_expire
from tests.personas import api_token
from tests.portal.uploads.conftest import (
    TUS,
    tus_create,
    tus_head,
    tus_patch,
    upload_checksum,
)

pytestmark = pytest.mark.django_db


def _stored_bytes(capture: Capture) -> bytes:
    return b"".join(iter_stored(capture.original.storage, capture.original.name))


@pytest.mark.parametrize("cuts", [(1,), (4096, 4097, 20_000), (0.5,)], ids=str)
def test_upload_cut_at_several_points_resumes_to_identical_capture(
    any_storage: str,
    archivist_client: Client,
    tape: Any,
    video_factory: Callable[..., Path],
    cuts: tuple[float, ...],
) -> None:
    content = video_factory("concert.mkv", frames=20, size=(96, 64)).read_bytes()
    points = [int(c * len(content)) if isinstance(c, float) else c for c in cuts]
    created = tus_create(archivist_client, tape, len(content), filename="concert.mkv")
    assert created.status_code == 201, created.content
    location = created["Location"]
    offset = 0
    for point in [*points, len(content)]:
        # Each piece is sent, then the "connection drops": the client asks HEAD where to resume.
        head = tus_head(archivist_client, location)
        assert head.status_code == 200 and int(head["Upload-Offset"]) == offset
        answer = tus_patch(archivist_client, location, offset, content[offset:point])
        assert answer.status_code == 204, answer.content
        offset = int(answer["Upload-Offset"])
        assert offset == point
    status = archivist_client.get(location).json()
    assert status["status"] == "done", status
    capture = Capture.objects.get(pk=status["capture"])
    assert capture.sha256 == hashlib.sha256(content).hexdigest() == status["sha256"]
    assert capture.original_filename == "concert.mkv"
    assert _stored_bytes(capture) == content
    assert not ResumableUpload.objects.get().partial_path.exists()


def test_resume_in_another_process_rehashes_only_from_disk(
    archivist_client: Client, tape: Any, video_factory: Callable[..., Path]
) -> None:
    content = video_factory("a.mkv", frames=16).read_bytes()
    location = tus_create(archivist_client, tape, len(content), filename="a.mkv")["Location"]
    half = len(content) // 2
    assert tus_patch(archivist_client, location, 0, content[:half]).status_code == 204
    hashing._states.clear()  # a restart, or the next PATCH reaching another worker process
    answer = tus_patch(archivist_client, location, half, content[half:])
    assert answer.status_code == 204
    assert Capture.objects.get().sha256 == hashlib.sha256(content).hexdigest()


def _raw_patch_then_drop(url: str, auth: str, offset: int, sent: bytes, announced: int) -> None:
    """Send a PATCH announcing ``announced`` bytes, send only ``sent``, then close the socket."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    head = (
        f"PATCH {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
        f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n"
        f"Content-Length: {announced}\r\nAuthorization: {auth}\r\n\r\n"
    )
    sock.sendall(head.encode() + sent)
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(10)
    try:
        sock.recv(1024)  # the server answers (or closes) once it has seen the body end early
    except OSError:
        pass
    sock.close()


@pytest.mark.django_db(transaction=True)
def test_a_real_dropped_connection_keeps_the_bytes_received(
    live_server: Any, archivist: Any, tape: Any, video_factory: Callable[..., Path]
) -> None:
    auth = f"Bearer {api_token(archivist)}"
    client = Client(HTTP_AUTHORIZATION=auth)
    content = video_factory("b.mkv", frames=24, size=(96, 64)).read_bytes()
    location = tus_create(client, tape, len(content), filename="b.mkv")["Location"]
    url = live_server.url + urlsplit(location).path
    offset = 0
    for cut in (len(content) // 3, 2 * len(content) // 3):
        _raw_patch_then_drop(url, auth, offset, content[offset:cut], len(content) - offset)
        upload = ResumableUpload.objects.get()
        assert upload.offset == cut, (upload.offset, cut)
        offset = cut
    connection = http.client.HTTPConnection(urlsplit(url).hostname, urlsplit(url).port)
    connection.request(
        "PATCH",
        urlsplit(url).path,
        body=content[offset:],
        headers={
            "Tus-Resumable": "1.0.0",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(offset),
            "Authorization": auth,
        },
    )
    assert connection.getresponse().status == 204
    capture = Capture.objects.get()
    assert capture.sha256 == hashlib.sha256(content).hexdigest()
    assert _stored_bytes(capture) == content


def test_token_client_discovers_and_uploads(
    archivist: Any, tape: Any, video_factory: Callable[..., Path]
) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_token(archivist)}", enforce_csrf_checks=True)
    options = client.options("/api/v1/uploads/")
    assert options.status_code == 204
    assert options["Tus-Version"] == "1.0.0" and "termination" in options["Tus-Extension"]
    content = video_factory("c.mkv").read_bytes()
    digest = hashlib.sha256(content).hexdigest()
    created = tus_create(client, tape, len(content), filename="c.mkv", sha256=digest)
    assert created.status_code == 201
    assert tus_patch(client, created["Location"], 0, content).status_code == 204
    assert Capture.objects.get().sha256 == digest


def test_tokens_are_the_apis_own(archivist: Any, tape: Any) -> None:
    """API tokens as on the rest of the API: a read-only one may not upload; a revoked one,
    or an unknown secret, is refused with the API's error shape."""
    read_only = Client(HTTP_AUTHORIZATION=f"Bearer {api_token(archivist, scope='read')}")
    refused = tus_create(read_only, tape, 100, filename="x.mkv")
    assert refused.status_code == 403
    assert refused.json()["error"] == {
        "code": "token_read_only",
        "message": refused.json()["error"]["message"],
        "details": None,
    }
    unknown = Client(HTTP_AUTHORIZATION="Bearer tap_nothing")
    assert tus_create(unknown, tape, 100, filename="x.mkv").status_code == 401
    assert not ResumableUpload.objects.exists()


def test_session_client_must_send_the_csrf_token(archivist: Any, tape: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(archivist)
    refused = tus_create(client, tape, 100, filename="x.mkv")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"


def test_protocol_errors_are_clear(archivist_client: Client, tape: Any) -> None:
    created = tus_create(archivist_client, tape, 10, filename="x.mkv")
    location = created["Location"]
    wrong_offset = tus_patch(archivist_client, location, 3, b"abc")
    assert wrong_offset.status_code == 409
    assert "HEAD" in wrong_offset.json()["error"]["message"]
    no_version = archivist_client.head(location)
    assert no_version.status_code == 412
    wrong_type = archivist_client.generic(
        "PATCH", location, b"abc", content_type="text/plain", HTTP_UPLOAD_OFFSET="0", **TUS
    )
    assert wrong_type.status_code == 415
    too_long = tus_patch(archivist_client, location, 0, b"x" * 11)
    assert too_long.status_code == 400
    assert tus_head(archivist_client, location)["Upload-Offset"] == "0"


def test_checksum_mismatch_is_refused_and_nothing_kept(
    archivist_client: Client, tape: Any, video_factory: Callable[..., Path]
) -> None:
    content = video_factory("d.mkv").read_bytes()
    created = tus_create(archivist_client, tape, len(content), filename="d.mkv", sha256="0" * 64)
    answer = tus_patch(archivist_client, created["Location"], 0, content)
    assert answer.status_code == 460
    assert "damaged on the way" in answer.json()["error"]["message"]
    upload = ResumableUpload.objects.get()
    assert upload.status == UploadStatus.FAILED and not upload.partial_path.exists()
    assert not Capture.objects.exists()


@pytest.mark.parametrize("algorithm", ["sha256", "sha1"])
def test_patch_checksum_keeps_a_matching_body_and_refuses_a_damaged_one(
    any_storage: str,
    archivist_client: Client,
    tape: Any,
    video_factory: Callable[..., Path],
    algorithm: str,
) -> None:
    options = archivist_client.options("/api/v1/uploads/")
    assert "checksum" in options["Tus-Extension"].split(",")
    assert algorithm in options["Tus-Checksum-Algorithm"].split(",")
    content = video_factory("e.mkv", frames=12).read_bytes()
    half = len(content) // 2
    location = tus_create(archivist_client, tape, len(content), filename="e.mkv")["Location"]
    first = tus_patch(
        archivist_client,
        location,
        0,
        content[:half],
        HTTP_UPLOAD_CHECKSUM=upload_checksum(algorithm, content[:half]),
    )
    assert first.status_code == 204 and first["Upload-Offset"] == str(half)

    damaged = bytearray(content[half:])
    damaged[100] ^= 0xFF  # one bit pattern changed on the way; the client hashed the original
    refused = tus_patch(
        archivist_client,
        location,
        half,
        bytes(damaged),
        HTTP_UPLOAD_CHECKSUM=upload_checksum(algorithm, content[half:]),
    )
    assert refused.status_code == 460
    assert refused.json()["error"]["code"] == "checksum_mismatch"
    assert f"from offset {half}" in refused.json()["error"]["message"]
    assert tus_head(archivist_client, location)["Upload-Offset"] == str(half)
    upload = ResumableUpload.objects.get()
    assert upload.status == UploadStatus.RECEIVING
    assert upload.partial_path.stat().st_size == half

    resent = tus_patch(
        archivist_client,
        location,
        half,
        content[half:],
        HTTP_UPLOAD_CHECKSUM=upload_checksum(algorithm, content[half:]),
    )
    assert resent.status_code == 204
    capture = Capture.objects.get()
    assert capture.sha256 == hashlib.sha256(content).hexdigest()
    assert _stored_bytes(capture) == content


def test_checksummed_body_cut_short_is_not_kept(archivist_client: Client, tape: Any) -> None:
    from portal.uploads.exceptions import UploadError
    from portal.uploads.services import upload_append

    location = tus_create(archivist_client, tape, 3000, filename="x.mkv")["Location"]
    body = io.BytesIO(b"a" * 1000)  # the client announced 2000 bytes, then went away

    upload = ResumableUpload.objects.get()
    with pytest.raises(UploadError, match="1000 bytes short"):
        upload_append(
            upload=upload,
            offset=0,
            read=body.read,
            content_length=2000,
            checksum=("sha256", hashlib.sha256(b"a" * 2000).digest()),
        )
    assert tus_head(archivist_client, location)["Upload-Offset"] == "0"
    assert upload.partial_path.stat().st_size == 0


def test_patch_checksum_header_errors_are_clear(archivist_client: Client, tape: Any) -> None:
    location = tus_create(archivist_client, tape, 10, filename="x.mkv")["Location"]
    unknown = tus_patch(archivist_client, location, 0, b"abc", HTTP_UPLOAD_CHECKSUM="crc99 AAAA")
    assert unknown.status_code == 400
    assert "sha256" in unknown.json()["error"]["message"]
    garbled = tus_patch(archivist_client, location, 0, b"abc", HTTP_UPLOAD_CHECKSUM="sha256 %%%")
    assert garbled.status_code == 400
    assert tus_head(archivist_client, location)["Upload-Offset"] == "0"


def test_not_a_video_fails_with_the_capture_reason(archivist_client: Client, tape: Any) -> None:
    created = tus_create(archivist_client, tape, 5000, filename="notes.txt")
    tus_patch(archivist_client, created["Location"], 0, b"hello " * 833 + b"xx")
    status = archivist_client.get(created["Location"]).json()
    assert status["status"] == "failed"
    assert "cannot be used as a capture" in status["error"]
    assert not Capture.objects.exists()


def test_institution_size_limit(archivist_client: Client, tape: Any, institution: Any) -> None:
    institution.max_upload_bytes = 1000
    institution.save()
    refused = tus_create(archivist_client, tape, 1001, filename="big.mkv")
    assert refused.status_code == 413
    assert "1000 bytes" in refused.json()["error"]["message"]
    assert tus_create(archivist_client, tape, 1000, filename="ok.mkv").status_code == 201


def test_other_institutions_upload_is_not_found(
    archivist_client: Client, outsider_client: Client, tape: Any
) -> None:
    location = tus_create(archivist_client, tape, 10, filename="x.mkv")["Location"]
    assert tus_head(outsider_client, location).status_code == 404
    assert tus_patch(outsider_client, location, 0, b"abc").status_code == 404
    assert tus_create(outsider_client, tape, 10, filename="x.mkv").status_code == 404


def test_termination_deletes_the_bytes(archivist_client: Client, tape: Any) -> None:
    location = tus_create(archivist_client, tape, 10, filename="x.mkv")["Location"]
    tus_patch(archivist_client, location, 0, b"abcd")
    upload = ResumableUpload.objects.get()
    assert upload.partial_path.stat().st_size == 4
    assert archivist_client.delete(location, **TUS).status_code == 204
    assert not upload.partial_path.exists()
    assert tus_head(archivist_client, location).status_code == 410
    assert tus_patch(archivist_client, location, 4, b"ef").status_code == 410


def test_abandoned_uploads_expire(archivist_client: Client, tape: Any) -> None:
    stale = tus_create(archivist_client, tape, 10, filename="old.mkv")["Location"]
    fresh = tus_create(archivist_client, tape, 10, filename="new.mkv")["Location"]
    tus_patch(archivist_client, stale, 0, b"abc")
    old = ResumableUpload.objects.get(filename="old.mkv")
    later = timezone.now() + dt.timedelta(hours=2)
    ResumableUpload.objects.filter(pk=old.pk).update(expires_at=later - dt.timedelta(hours=1))
    assert uploads_expire(now=later - dt.timedelta(minutes=30)) == 1
    assert not old.partial_path.exists()
    assert tus_head(archivist_client, stale).status_code == 410
    assert tus_head(archivist_client, fresh).status_code == 200
    event = AuditEvent.objects.get(action="upload.expired")
    assert event.details["bytes_received"] == 3


def test_the_hourly_schedule_expires_abandoned_uploads(archivist_client: Client, tape: Any) -> None:
    from django.utils.module_loading import import_string
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="portal.uploads.tasks.expire_uploads")
    assert schedule.schedule_type == Schedule.HOURLY and schedule.repeats == -1
    location = tus_create(archivist_client, tape, 10, filename="old.mkv")["Location"]
    tus_patch(archivist_client, location, 0, b"abc")
    ResumableUpload.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert import_string(schedule.func)() == 1  # what the django-q2 cluster runs each hour
    assert ResumableUpload.objects.get().status == UploadStatus.EXPIRED
    assert not ResumableUpload.objects.get().partial_path.exists()


def test_big_files_are_finished_by_the_worker(
    settings: Any,
    archivist_client: Client,
    tape: Any,
    video_factory: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)
    settings.UPLOAD_INLINE_FINALIZE_BYTES = 0
    content = video_factory("e.mkv").read_bytes()
    location = tus_create(archivist_client, tape, len(content), filename="e.mkv")["Location"]
    assert tus_patch(archivist_client, location, 0, content).status_code == 204
    assert archivist_client.get(location).json()["status"] == "done"
