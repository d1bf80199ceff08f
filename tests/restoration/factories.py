"""Rows for tests that exercise review, publication and permissions without running the engine
(the workflow tests produce versions for real)."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from restoration.models import JobStatus, RestorationJob, RestoredVersion


def finished_job(capture: Any, requested_by: Any, **fields: Any) -> RestorationJob:
    now = timezone.now()
    return RestorationJob.objects.create(
        institution=capture.institution,
        capture=capture,
        requested_by=requested_by,
        parameters={"model": "tiny", "scorer": "none", "frame_start": 0, "frame_end": None},
        status=JobStatus.SUCCEEDED,
        created_at=now,
        started_at=now,
        finished_at=now,
        worker_host="test-host",
        device="cpu",
        **fields,
    )


def version_for(job: RestorationJob, *, is_preview: bool = False) -> RestoredVersion:
    prefix = f"restorations/{job.institution_id}/job-{job.pk}"
    master_bytes, access_bytes = b"master-" + bytes(str(job.pk), "ascii"), b"access"
    master = default_storage.save(f"{prefix}/master.mkv", ContentFile(master_bytes))
    access = default_storage.save(f"{prefix}/access.mp4", ContentFile(access_bytes))
    capture = job.capture
    return RestoredVersion.objects.create(
        institution=job.institution,
        job=job,
        capture=capture,
        tape=capture.tape,
        is_preview=is_preview,
        frame_start=0,
        frame_end=capture.frame_count,
        frame_count=capture.frame_count,
        frame_rate=capture.frame_rate or "25/1",
        master=master,
        master_sha256=hashlib.sha256(master_bytes).hexdigest(),
        master_size=len(master_bytes),
        access=access,
        access_sha256=hashlib.sha256(access_bytes).hexdigest(),
        access_size=len(access_bytes),
        model_variant="tiny",
        weights_sha256="0" * 64,
        scorer="none",
        engine_version="test",
        parameters=job.parameters,
        scores_before=[0.1] * capture.frame_count,
        scores_after=[0.05] * capture.frame_count,
        created_at=timezone.now(),
    )


def coded_version(
    job: RestorationJob, *, frame_start: int, frame_end: int, tmp_dir: Any, is_preview: bool = False
) -> RestoredVersion:
    """A version with real files whose frames show their capture frame numbers
    (``tests.media.make_coded_video``): an FFV1 master and an H.264 access copy of capture
    frames ``frame_start``..``frame_end - 1``, as a worker would store them."""
    from pathlib import Path

    from django.core.files import File

    from tests.media import make_coded_video

    count = frame_end - frame_start
    prefix = f"restorations/{job.institution_id}/job-{job.pk}"
    stored = {}
    for name, codec in (("master.mkv", "ffv1"), ("access.mp4", "libx264")):
        local = make_coded_video(
            Path(tmp_dir) / f"job{job.pk}-{name}",
            frames=count,
            first_index=frame_start,
            codec=codec,
        )
        with open(local, "rb") as handle:
            stored[name] = default_storage.save(f"{prefix}/{name}", File(handle, name=name))
        stored[name + ":sha"] = hashlib.sha256(local.read_bytes()).hexdigest()
        stored[name + ":size"] = local.stat().st_size
    capture = job.capture
    return RestoredVersion.objects.create(
        institution=job.institution,
        job=job,
        capture=capture,
        tape=capture.tape,
        is_preview=is_preview,
        frame_start=frame_start,
        frame_end=frame_end,
        frame_count=count,
        frame_rate=capture.frame_rate or "25/1",
        master=stored["master.mkv"],
        master_sha256=stored["master.mkv:sha"],
        master_size=stored["master.mkv:size"],
        access=stored["access.mp4"],
        access_sha256=stored["access.mp4:sha"],
        access_size=stored["access.mp4:size"],
        model_variant="tiny",
        weights_sha256="0" * 64,
        scorer="none",
        engine_version="test",
        parameters=job.parameters,
        scores_before=[round(0.2 + 0.6 * (i % 7) / 7, 3) for i in range(count)],
        scores_after=[0.05] * count,
        created_at=timezone.now(),
    )
