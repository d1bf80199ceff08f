"""Fixity re-checks (a corrupted object fails, alerts), BagIt packages validated with `bagit`,
PREMIS XML listing every event, storage usage on the page and in the API. Local disk and S3."""

from __future__ import annotations

import hashlib
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import bagit
import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client

from portal.audit.models import AuditEvent
from portal.catalog.models import Collection, Tape
from portal.events import fixity_failed
from portal.preservation.fixity import fixity_run
from portal.preservation.metadata_xml import PREMIS_NS
from portal.preservation.models import FixityRecord, PreservationPackage
from portal.storage import iter_stored
from restoration import services
from restoration.models import RestoredVersion
from tests.media import make_video

pytestmark = pytest.mark.usefixtures("sync_tasks", "_tiny_model")


@pytest.fixture
def sync_tasks(monkeypatch: pytest.MonkeyPatch, transactional_db: None) -> None:
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def _tiny_model(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.restoration.conftest import make_tiny_checkpoint

    weights = tmp_path_factory.mktemp("weights")
    make_tiny_checkpoint(weights)
    settings.RESTORATION_CHECKPOINT_DIR = str(weights)
    settings.RESTORATION_DEFAULT_MODEL = "tiny"
    settings.RESTORATION_DEFAULT_SCORER = "none"
    settings.RESTORATION_WORK_DIR = tmp_path_factory.mktemp("work")
    settings.RESTORATION_DEVICE = "cpu"
    settings.RESTORATION_PROGRESS_INTERVAL = 0.0


@pytest.fixture
def tape(institution: Any) -> Tape:
    collection = Collection.objects.create(institution=institution, name="Donation Weber")
    return Tape.objects.create(
        institution=institution, identifier="VHS-9", title="Carnival", collection=collection
    )


@pytest.fixture
def capture(tape: Tape, archivist: Any, tmp_path: Path) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal.captures.services import capture_create

    path = make_video(tmp_path / "carnival.mkv", frames=12)
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="video/x-matroska")
    return capture_create(tape=tape, upload=upload, actor=archivist)


def _corrupt(name: str) -> None:
    content = b"".join(iter_stored(default_storage, name))
    damaged = content[:100] + bytes([content[100] ^ 0xFF]) + content[101:]
    if default_storage.exists(name):
        try:
            Path(default_storage.path(name)).chmod(0o640)
        except NotImplementedError:
            pass
        default_storage.delete(name)
    assert default_storage.save(name, ContentFile(damaged)) == name


def test_corrupted_original_fails_its_fixity_check_and_alerts_managers(
    any_storage: str, capture: Any, manager: Any, manager_client: Client
) -> None:
    received: list[Any] = []
    fixity_failed.connect(lambda sender, **kw: received.append(kw), weak=False)
    try:
        assert fixity_run().checked == 1
        record = FixityRecord.objects.get(capture=capture)
        assert record.last_ok is True
        assert AuditEvent.objects.filter(action="fixity.passed", tape_id=capture.tape_id).exists()

        _corrupt(capture.original.name)
        call_command("check_fixity", "--all")
    finally:
        fixity_failed.receivers.clear()
    record.refresh_from_db()
    assert record.last_ok is False and record.checks == 2
    assert capture.sha256 in record.last_error
    event = AuditEvent.objects.get(action="fixity.failed")
    assert event.details["expected_sha256"] == capture.sha256
    assert event.details["actual_sha256"] != capture.sha256
    assert [m.to for m in mail.outbox] == [[manager.email]]
    assert "FAILED" in mail.outbox[0].subject
    assert received and received[0]["record"].pk == record.pk
    page = manager_client.get(f"/captures/{capture.pk}/").content.decode()
    assert "failed its fixity check" in page  # the notice on every manager page
    assert "FAILED" in page and "last checked" in page


def test_schedule_checks_oldest_first_within_its_byte_budget(
    capture: Any, tape: Tape, archivist: Any, tmp_path: Path
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal.captures.services import capture_create

    path = make_video(tmp_path / "second.mkv", frames=12)
    second = capture_create(
        tape=tape,
        upload=SimpleUploadedFile(path.name, path.read_bytes()),
        actor=archivist,
    )
    first_run = fixity_run(max_bytes=1)  # budget for one file: the run stops after it
    assert first_run.checked == 1
    checked = FixityRecord.objects.exclude(last_checked_at=None).get()
    second_run = fixity_run(max_bytes=1)
    assert second_run.checked == 1
    assert {
        checked.capture_id,
        FixityRecord.objects.order_by("-last_checked_at")[0].capture_id,
    } == {
        capture.pk,
        second.pk,
    }
    assert fixity_run().checked == 0  # nothing due until FIXITY_RECHECK_DAYS have passed


def test_missing_file_is_a_failure(capture: Any) -> None:
    try:
        Path(default_storage.path(capture.original.name)).chmod(0o640)
    except NotImplementedError:
        pass
    default_storage.delete(capture.original.name)
    run = fixity_run()
    assert run.failed == 1
    assert "missing" in FixityRecord.objects.get().last_error


def test_tape_bag_validates_and_its_premis_lists_every_event(
    any_storage: str,
    capture: Any,
    tape: Tape,
    archivist: Any,
    reviewer: Any,
    manager: Any,
    manager_client: Client,
    tmp_path: Path,
) -> None:
    services.job_request(actor=archivist, capture=capture, parameters={})
    version = RestoredVersion.objects.get()
    services.version_decide(actor=reviewer, version=version, decision="approve", comment="ok")
    services.version_publish(actor=manager, version=version, comment="")
    fixity_run()

    assert manager_client.post(f"/storage/packages/tape/{tape.pk}/").status_code == 302
    package = PreservationPackage.objects.get()
    assert package.status == "ready", package.error
    download = manager_client.get(f"/storage/packages/{package.pk}/bag.tar")
    if download.status_code == 302:  # S3: a signed URL
        data = b"".join(iter_stored(package.file.storage, package.file.name))
    else:
        data = b"".join(download.streaming_content)
    archive = tmp_path / "bag.tar"
    archive.write_bytes(data)
    assert package.sha256 == hashlib.sha256(data).hexdigest()
    assert package.size_bytes == len(data)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "out", filter="data")
    bag = bagit.Bag(str(tmp_path / "out" / "tape-VHS-9"))
    bag.validate()  # raises on any missing file or checksum mismatch
    assert "sha256" in bag.algorithms
    payload = set(bag.payload_files())
    assert f"data/originals/{capture.uuid}/carnival.mkv" in payload
    assert f"data/masters/version-{version.pk}.master.mkv" in payload
    assert bag.info["External-Identifier"] == "VHS-9"

    premis = ET.parse(tmp_path / "out" / "tape-VHS-9" / "data" / "metadata" / "premis.xml")
    ns = {"p": PREMIS_NS}
    types = [e.findtext("p:eventType", namespaces=ns) for e in premis.findall("p:event", ns)]
    fixity_events = AuditEvent.objects.filter(action__startswith="fixity.").count()
    assert fixity_events == 2  # the original and the master
    assert sorted(types) == sorted(
        ["ingestion", "restoration", "review", "dissemination"] + ["fixity check"] * 2
    )
    restoration = next(
        e
        for e in premis.findall("p:event", ns)
        if e.findtext("p:eventType", namespaces=ns) == "restoration"
    )
    extension = restoration.findtext(
        "p:eventDetailInformation/p:eventDetailExtension", namespaces=ns
    )
    assert version.weights_sha256 in extension and '"model_variant"' in extension
    digests = {d.text for d in premis.iterfind(".//p:messageDigest", ns)}
    assert {capture.sha256, version.master_sha256} <= digests
    descriptive = ET.parse(tmp_path / "out" / "tape-VHS-9" / "data" / "metadata" / "pbcore.xml")
    pbcore = ET.tostring(descriptive.getroot(), encoding="unicode")
    assert "Carnival" in pbcore and capture.sha256 in pbcore


def test_storage_usage_page_and_api(
    capture: Any, manager: Any, manager_client: Client, archivist_client: Client
) -> None:
    from portal.captures.models import Capture

    capture = Capture.objects.get(pk=capture.pk)
    assert capture.proxy_size_bytes and capture.proxy_size_bytes > 0
    api = manager_client.get("/api/v1/storage-usage/").json()
    assert api["total"]["originals"] == capture.size_bytes
    assert api["total"]["proxies"] == capture.proxy_size_bytes
    assert api["collections"][0]["label"] == "Donation Weber"
    assert api["total"]["total"] == capture.size_bytes + capture.proxy_size_bytes
    assert archivist_client.get("/api/v1/storage-usage/").status_code == 403
    page = manager_client.get("/storage/").content.decode()
    assert "Donation Weber" in page and "Usage" in page
    assert archivist_client.get("/storage/").status_code == 403
