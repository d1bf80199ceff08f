"""Fixity: re-read stored originals and masters and compare their SHA-256 with the recorded one.

The schedule (every ``FIXITY_SCHEDULE_MINUTES``) checks files whose last check is older than
``FIXITY_RECHECK_DAYS``, oldest-checked (never-checked) first, reading at most
``FIXITY_BYTES_PER_RUN`` bytes per run at ``FIXITY_READ_RATE`` bytes/s. Each file's outcome is
committed as soon as it is known, so an interrupted run loses at most the file it was reading;
the next run starts from the oldest again. A mismatch (or a missing file) is an audit event
``fixity.failed``, an e-mail to the institution's managers, a notice on their pages, and the
``fixity_failed`` signal (webhooks hook it).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Membership, Role
from portal.audit.services import audit_record
from portal.captures.models import Capture
from portal.events import fixity_failed
from portal.preservation.models import FileRole, FixityRecord
from portal.storage import Throttle, stored_sha256

logger = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return timezone.now()


def fixity_records_sync() -> int:
    """Create the missing records: one per capture original and per version master, holding
    the SHA-256 and size recorded when the file was stored."""
    created = 0
    for owner, fields in _files_without_record():
        FixityRecord.objects.create(
            institution_id=owner.institution_id, tape_id=owner.tape_id, **fields
        )
        created += 1
    return created


def _files_without_record() -> Iterator[tuple[Any, dict[str, Any]]]:
    """(capture or version, the fields of its file's record) for each file without a record."""
    from restoration.models import RestoredVersion

    for capture in Capture.objects.filter(fixity__isnull=True).exclude(original=""):
        yield (
            capture,
            {
                "capture": capture,
                "role": FileRole.ORIGINAL,
                "storage_name": capture.original.name,
                "expected_sha256": capture.sha256,
                "expected_size": capture.size_bytes,
            },
        )
    for version in RestoredVersion.objects.filter(fixity__isnull=True):
        yield (
            version,
            {
                "version": version,
                "role": FileRole.MASTER,
                "storage_name": version.master.name,
                "expected_sha256": version.master_sha256,
                "expected_size": version.master_size,
            },
        )


def fixity_check(*, record: FixityRecord, read_rate: int | None = None) -> bool:
    """Re-read one stored file, record the outcome (audit event, record), alert on failure."""
    from django.core.files.storage import default_storage

    rate = settings.FIXITY_READ_RATE if read_rate is None else read_rate
    actual, size, error = "", 0, ""
    try:
        actual, size = stored_sha256(default_storage, record.storage_name, throttle=Throttle(rate))
    except FileNotFoundError:
        error = "The file is missing from storage."
    except Exception as exc:  # S3 NoSuchKey comes as a ClientError
        if "NoSuchKey" in str(exc) or "404" in str(exc):
            error = "The file is missing from storage."
        else:
            raise  # a storage outage is not a fixity failure: the next run tries again
    ok = not error and actual == record.expected_sha256 and size == record.expected_size
    if not ok and not error:
        error = (
            f"SHA-256 is {actual} ({size} bytes); recorded at ingest: "
            f"{record.expected_sha256} ({record.expected_size} bytes)."
        )
    with transaction.atomic():
        FixityRecord.objects.filter(pk=record.pk).update(
            last_checked_at=_now(),
            last_ok=ok,
            last_sha256=actual,
            last_error=error,
            checks=F("checks") + 1,
        )
        record.refresh_from_db()
        event = audit_record(
            actor=None,
            institution=record.institution,
            action="fixity.passed" if ok else "fixity.failed",
            target=record.target,
            tape=record.tape,
            details={
                "file": record.role,
                "storage_name": record.storage_name,
                "expected_sha256": record.expected_sha256,
                "actual_sha256": actual,
                "size_bytes": size,
                **({"error": error} if error else {}),
            },
        )
        if not ok:
            transaction.on_commit(lambda: _alert(record, event))
    return ok


def _alert(record: FixityRecord, event: Any) -> None:
    managers = Membership.objects.for_institution(record.institution).filter(role=Role.MANAGER)
    emails = sorted({m.user.email for m in managers.select_related("user") if m.user.email})
    if emails:
        try:
            send_mail(
                subject=f"[{record.institution}] Fixity check FAILED: {record.target}",
                message=(
                    f"A stored file of tape {record.tape} failed its fixity check.\n\n"
                    f"File: {record.get_role_display()} ({record.storage_name})\n"
                    f"{record.last_error}\n\nRestore it from another copy, then run "
                    f"`manage.py check_fixity --record {record.pk}`."
                ),
                from_email=None,
                recipient_list=emails,
            )
        except Exception:  # a mail outage must not hide the failure: it stays on the pages
            logger.exception("could not e-mail the fixity failure of record %s", record.pk)
    fixity_failed.send(sender=FixityRecord, record=record, event=event)


@dataclass
class FixityRun:
    checked: int = 0
    failed: int = 0
    bytes_read: int = 0
    failures: list[int] = field(default_factory=list)


def fixity_due(*, now: dt.datetime | None = None, recheck_days: int | None = None) -> Any:
    """Records due for a check, oldest-checked first (never-checked before all)."""
    days = settings.FIXITY_RECHECK_DAYS if recheck_days is None else recheck_days
    cutoff = (now or _now()) - dt.timedelta(days=days)
    return (
        FixityRecord.objects.filter(Q(last_checked_at__isnull=True) | Q(last_checked_at__lt=cutoff))
        .select_related("institution", "tape", "capture", "version")
        .order_by(F("last_checked_at").asc(nulls_first=True), "id")
    )


def fixity_run(
    *,
    max_bytes: int | None = None,
    recheck_days: int | None = None,
    read_rate: int | None = None,
    only: list[int] | None = None,
) -> FixityRun:
    """Check due files until ``max_bytes`` have been read (the schedule; the command)."""
    fixity_records_sync()
    budget = settings.FIXITY_BYTES_PER_RUN if max_bytes is None else max_bytes
    queryset = fixity_due(recheck_days=recheck_days)
    if only:
        queryset = FixityRecord.objects.filter(pk__in=only).select_related(
            "institution", "tape", "capture", "version"
        )
    run = FixityRun()
    for record in queryset.iterator():
        if run.checked and run.bytes_read + record.expected_size > budget:
            break
        ok = fixity_check(record=record, read_rate=read_rate)
        run.checked += 1
        run.bytes_read += record.expected_size
        if not ok:
            run.failed += 1
            run.failures.append(record.pk)
    return run
