"""BagIt preservation packages of tapes, built by a worker.

A bag (RFC 8493, made with the ``bagit`` package, SHA-256 manifests) holds, under ``data/``:
``originals/<capture uuid>/<file>`` (every capture of the tape), ``masters/version-<id>.mkv``
(every restored version that was approved or published), ``metadata/pbcore.xml`` (the
portal's PBCore 2.1 export of the tape) and ``metadata/premis.xml`` (the event log). The bag is
written to ``PACKAGE_WORK_DIR`` (stored files are copied chunk by chunk), packed as an
uncompressed tar (video does not compress) and saved to storage; the work folder needs room for
twice the tape's files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from accounts.permissions import Role, require_role
from portal.audit.services import audit_record
from portal.captures.models import Capture
from portal.catalog.models import Tape
from portal.preservation.metadata_xml import premis_xml
from portal.preservation.models import PackageStatus, PreservationPackage
from portal.storage import file_sha256, iter_stored

logger = logging.getLogger(__name__)

TASK = "portal.preservation.tasks.build_package"


def _now() -> dt.datetime:
    return timezone.now()


def package_request(*, actor: Any, tape: Tape) -> PreservationPackage:
    """Queue the building of a tape's bag (managers)."""
    require_role(actor, tape.institution, Role.MANAGER)
    with transaction.atomic():
        package = PreservationPackage.objects.create(
            institution=tape.institution, tape=tape, requested_by=actor, created_at=_now()
        )
        audit_record(
            actor=actor,
            institution=tape.institution,
            action="package.requested",
            target=tape,
            tape=tape,
            details={"package_id": package.pk},
        )
        transaction.on_commit(lambda: _enqueue(package))
    return package


def _enqueue(package: PreservationPackage) -> None:
    from portal.broker import task_enqueue

    # After the commit: a broker outage keeps the task for later, never a 500 for the request.
    task_enqueue(TASK, package.pk, task_name=f"package-{package.pk}", group="package")


def packaged_versions(tape: Tape) -> list[Any]:
    """Versions whose master goes into the bag: approved (latest decision) or ever published."""
    from restoration.models import Publication, RestoredVersion
    from restoration.selectors import version_review_state

    published = set(Publication.objects.filter(tape=tape).values_list("version_id", flat=True))
    versions = RestoredVersion.objects.filter(tape=tape).select_related(
        "job", "capture", "tape", "job__requested_by"
    )
    return [
        v
        for v in versions.order_by("created_at", "id")
        if v.pk in published or version_review_state(version=v) == "approve"
    ]


def _copy_stored(field_file: Any, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        out.writelines(iter_stored(field_file.storage, field_file.name))


def bag_write(*, tape: Tape, folder: Path) -> Any:
    """Write the tape's bag into the empty ``folder``; returns the ``bagit.Bag``."""
    import bagit

    versions = packaged_versions(tape)
    data = folder
    for capture in Capture.objects.filter(tape=tape).order_by("created_at", "id"):
        _copy_stored(capture.original, data / "originals" / str(capture.uuid) / _name(capture))
    for version in versions:
        _copy_stored(version.master, data / "masters" / f"version-{version.pk}.master.mkv")
    (data / "metadata").mkdir(parents=True, exist_ok=True)
    (data / "metadata" / "pbcore.xml").write_bytes(_pbcore(tape))
    (data / "metadata" / "premis.xml").write_bytes(premis_xml(tape=tape, versions=versions))
    return bagit.make_bag(
        str(folder),
        bag_info={
            "Source-Organization": str(tape.institution),
            "External-Identifier": tape.identifier,
            "External-Description": f"Tape {tape.identifier} {tape.title}".strip(),
            "Bag-Group-Identifier": tape.collection.name if tape.collection_id else "",
        },
        checksums=["sha256"],
    )


def _pbcore(tape: Tape) -> bytes:
    """The tape's PBCore 2.1 document (the portal's export), with its published version."""
    from portal.catalog.pbcore import tape_xml
    from restoration.selectors import tape_current_publication

    publication = tape_current_publication(tape_id=tape.pk)
    return tape_xml(tape, published=publication.version if publication else None)


def _name(capture: Capture) -> str:
    stored = capture.original.name or ""
    return Path(capture.original_filename).name or f"original{Path(stored).suffix}"


def package_build(*, package_id: int) -> bool:
    """Build, pack and store the bag. Returns False when the package was not claimed."""
    claimed = PreservationPackage.objects.filter(pk=package_id, status=PackageStatus.QUEUED).update(
        status=PackageStatus.BUILDING
    )
    if not claimed:
        return False
    package = PreservationPackage.objects.select_related("tape", "institution").get(pk=package_id)
    work_root = Path(settings.PACKAGE_WORK_DIR)
    work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"package-{package.pk}-", dir=work_root))
    try:
        bag_folder = work / f"tape-{package.tape.identifier or package.tape_id}"
        bag_folder.mkdir()
        bag_write(tape=package.tape, folder=bag_folder)
        archive = work / "bag.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(bag_folder, arcname=bag_folder.name)
        stamp = _now().strftime("%Y%m%dT%H%M%S")
        with open(archive, "rb") as handle:
            name = package.file.storage.save(
                f"packages/{package.institution_id}/tape-{package.tape_id}/{stamp}.tar",
                File(handle),
            )
        digest, size = file_sha256(archive)
        with transaction.atomic():
            PreservationPackage.objects.filter(pk=package.pk).update(
                status=PackageStatus.READY,
                file=name,
                size_bytes=size,
                sha256=digest,
                finished_at=_now(),
            )
            audit_record(
                actor=None,
                institution=package.institution,
                action="package.built",
                target=package.tape,
                tape=package.tape,
                details={"package_id": package.pk, "size_bytes": archive.stat().st_size},
            )
        return True
    except Exception as exc:
        logger.exception("package %s failed", package.pk)
        PreservationPackage.objects.filter(pk=package.pk).update(
            status=PackageStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
