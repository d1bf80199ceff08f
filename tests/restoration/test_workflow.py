"""The whole workflow with django-q2 running tasks inline and the `tiny` model: request, run,
version with files and provenance, review, publication, public page, audit of every step."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.test import Client

from portal.audit.models import AuditEvent
from restoration import services
from restoration.engine.video import iter_frames, probe
from restoration.models import JobStatus, RestorationJob, RestoredVersion
from restoration.progress import ProgressWriter
from restoration.provenance import version_provenance
from restoration.worker import job_storage_dir, job_work_dir

pytestmark = pytest.mark.usefixtures("sync_tasks")


def job_actions(job: RestorationJob) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type="restoration.restorationjob", target_id=str(job.pk))
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


def sha256_of(field_file: Any) -> str:
    with field_file.open("rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_request_run_review_publish_with_audit_of_every_step(
    archivist: Any,
    reviewer: Any,
    manager: Any,
    capture: Any,
    tape: Any,
    archivist_client: Client,
    reviewer_client: Client,
    manager_client: Client,
) -> None:
    capture_sha = sha256_of(capture.original)
    response = archivist_client.post(
        f"/jobs/new/{capture.pk}/",
        {"model": "tiny", "scorer": "none", "deinterlace": "off", "references": "1"},
    )
    job = RestorationJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.frames_done == job.frames_total == 12 and job.device == "cpu"
    assert job.worker_host and job.started_at <= job.finished_at
    assert job.timings["progress_writes"] >= 1 and job.timings["restore_s"] > 0
    # "Total on the worker" covers every phase people see listed above it on the job page.
    phases = ("fetch_s", "load_s", "score_before_s", "restore_s", "store_s")
    assert job.timings["worker_total_s"] >= sum(job.timings[key] for key in phases) - 0.01
    assert job_actions(job) == ["job.requested", "job.started", "job.succeeded"]
    # History labels name the job and its capture, never a state that was true only at the time.
    labels = set(
        AuditEvent.objects.filter(
            target_type="restoration.restorationjob", target_id=str(job.pk)
        ).values_list("target_label", flat=True)
    )
    assert labels == {f"restoration job #{job.pk} of {capture.original_filename}"}
    assert not job_work_dir(job.pk).exists()

    version = RestoredVersion.objects.get(job=job)
    assert (version.frame_start, version.frame_end, version.frame_count) == (0, 12, 12)
    assert version.master_sha256 == sha256_of(version.master)
    assert version.access_sha256 == sha256_of(version.access)
    assert len(version.scores_before) == len(version.scores_after) == 12
    assert version.model_variant == "tiny" and len(version.weights_sha256) == 64
    assert version.parameters["references"] == 1 and version.engine_version
    master = probe(default_storage.path(version.master.name))
    access = probe(default_storage.path(version.access.name))
    assert master.video_codec == "ffv1" and master.frame_count == 12
    assert access.video_codec == "h264" and access.frame_count == 12
    assert master.audio_streams and access.audio_streams  # sound kept
    assert sha256_of(capture.original) == capture_sha  # the capture is never modified
    assert AuditEvent.objects.filter(action="version.created", target_id=str(version.pk)).exists()

    page = reviewer_client.get(f"/versions/{version.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="review-data"' in html and 'data-role="timeline"' in html
    assert f"/versions/{version.pk}/access.mp4" in html
    scores = reviewer_client.get(f"/versions/{version.pk}/scores.json").json()
    assert scores["before"] == version.scores_before and len(scores["after"]) == 12
    for which in ("before", "after"):
        thumb = reviewer_client.get(f"/versions/{version.pk}/frames/3/{which}.jpg")
        assert thumb.status_code == 200 and body(thumb)[:2] == b"\xff\xd8"  # JPEG
        again = reviewer_client.get(
            f"/versions/{version.pk}/frames/3/{which}.jpg", HTTP_IF_NONE_MATCH=thumb["ETag"]
        )
        assert again.status_code == 304 and again.content == b""  # the browser keeps its copy
    ranged = reviewer_client.get(f"/versions/{version.pk}/access.mp4", HTTP_RANGE="bytes=0-99")
    assert ranged.status_code == 206 and len(body(ranged)) == 100

    # The requester is an archivist: cannot decide. Reviewers decide, managers publish.
    assert (
        archivist_client.post(
            f"/versions/{version.pk}/decide/", {"decision": "approve"}
        ).status_code
        == 403
    )
    reviewer_client.post(
        f"/versions/{version.pk}/decide/", {"decision": "approve", "comment": "good"}
    )
    manager_client.post(f"/versions/{version.pk}/publish/", {"comment": ""})
    assert version.publications.get().is_current

    assert Client().get(f"/public/tapes/{tape.pk}/").status_code == 404  # public access off
    tape.institution.public_access = True
    tape.institution.save()
    public = Client().get(f"/public/tapes/{tape.pk}/")
    assert (
        public.status_code == 200
        and f"/public/tapes/{tape.pk}/video.mp4" in public.content.decode()
    )
    video = Client().get(f"/public/tapes/{tape.pk}/video.mp4", HTTP_RANGE="bytes=4-11")
    assert video.status_code == 206 and body(video) == b"ftyp" + b"isom"

    download = archivist_client.get(f"/versions/{version.pk}/master.mkv")
    assert (
        download.status_code == 200
        and hashlib.sha256(body(download)).hexdigest() == version.master_sha256
    )
    manager_client.post(f"/tapes/{tape.pk}/unpublish/")
    assert Client().get(f"/public/tapes/{tape.pk}/").status_code == 404

    provenance = archivist_client.get(f"/versions/{version.pk}/provenance.json").json()
    assert [e["eventType"] for e in provenance["events"]] == [
        "restoration",
        "review",
        "dissemination",
        "dissemination withdrawn",
    ]
    restoration = provenance["events"][0]["eventDetailInformation"]["eventDetailExtension"]
    assert restoration["precision"] in ("fp32", "bf16")  # the worker's CPU decides (auto)
    assert restoration["parameters"]["precision"] == restoration["precision"]
    assert restoration["parameters"]["workers"] >= 1

    timeline = list(
        AuditEvent.objects.filter(tape_id=tape.pk)
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )
    expected = [
        "job.requested",
        "job.started",
        "job.succeeded",
        "version.created",
        "review.approved",
        "publication.published",
        "version.master_downloaded",
        "publication.unpublished",
    ]
    positions = [timeline.index(action) for action in expected]
    assert positions == sorted(positions), timeline


def test_preview_restores_a_short_segment_around_the_worst_frames(
    archivist: Any, make_capture: Any, tape: Any
) -> None:
    capture = make_capture(tape, frames=40)
    job = services.job_request(
        actor=archivist, capture=capture, parameters={"preview": True, "preview_seconds": 0.5}
    )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    version = job.version
    assert version.is_preview and version.frame_count == 12 == len(version.scores_before)
    assert 0 <= version.frame_start <= 28 and version.frame_end == version.frame_start + 12
    assert probe(default_storage.path(version.master.name)).frame_count == 12


def test_two_previews_at_two_strengths_differ_and_record_their_strength(
    archivist: Any, make_capture: Any, tape: Any
) -> None:
    capture = make_capture(tape, frames=20)
    versions = {}
    for strength in ("standard", "gentle"):
        job = services.job_request(
            actor=archivist,
            capture=capture,
            parameters={"preview": True, "preview_seconds": 0.5, "strength": strength},
        )
        job.refresh_from_db()
        assert job.status == JobStatus.SUCCEEDED, job.error_message
        versions[strength] = job.version
        assert job.version.parameters["strength"] == strength
        assert f'"strength": "{strength}"' in json.dumps(version_provenance(version=job.version))
    standard, gentle = (
        [frame.astype(int) for frame in iter_frames(default_storage.path(v.master.name))]
        for v in (versions["standard"], versions["gentle"])
    )
    assert any(np.abs(a - b).mean() > 0.1 for a, b in zip(standard, gentle, strict=True))


def test_cancel_while_running_stops_the_engine_and_keeps_nothing(
    archivist: Any, reviewer: Any, make_capture: Any, tape: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = make_capture(tape, frames=30)
    original = ProgressWriter.__call__
    state = {"asked": False}

    def call_and_click_cancel(self: ProgressWriter, done: int, total: int, eta: Any = None) -> None:
        original(self, done, total, eta)
        if self.stage == "restoring" and not state["asked"]:
            state["asked"] = True  # the reviewer presses "Cancel" while frames are restored
            services.job_cancel(actor=reviewer, job=RestorationJob.objects.get(pk=self.job_id))

    monkeypatch.setattr(ProgressWriter, "__call__", call_and_click_cancel)
    job = services.job_request(actor=archivist, capture=capture)
    job.refresh_from_db()
    assert state["asked"] and job.status == JobStatus.CANCELLED
    assert job.frames_done < 30
    assert not RestoredVersion.objects.exists()
    assert not job_work_dir(job.pk).exists()
    stored = Path(default_storage.path(job_storage_dir(job)))
    assert not stored.exists() or not any(stored.iterdir())  # nothing stored for this job
    assert job_actions(job) == [
        "job.requested",
        "job.started",
        "job.cancel_requested",
        "job.cancelled",
    ]


def test_missing_weights_fail_the_job_with_an_actionable_message(
    archivist: Any, capture: Any, settings: Any, tmp_path: Path
) -> None:
    settings.RESTORATION_CHECKPOINT_DIR = str(tmp_path / "empty")
    job = services.job_request(actor=archivist, capture=capture)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_permanent is True
    assert "No weights are installed for model 'tiny'" in job.error_message
    assert "RESTORATION_CHECKPOINT_DIR" in job.error_message
    assert job_actions(job) == ["job.requested", "job.started", "job.failed"]
    assert not RestoredVersion.objects.exists()


def test_unreadable_capture_fails_naming_the_capture_not_a_server_path(
    archivist: Any, capture: Any
) -> None:
    path = Path(capture.original.path)
    path.write_bytes(path.read_bytes()[:600])  # truncated on disk after the upload
    job = services.job_request(actor=archivist, capture=capture)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error_permanent is True
    assert f"capture “{capture.original_filename}”" in job.error_message
    assert str(path) not in job.error_message and "not a readable video" in job.error_message


def test_corrupt_weights_fail_and_a_retry_is_a_new_job(
    archivist: Any, capture: Any, settings: Any, tmp_path: Path, tiny_weights_dir: Path
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tiny.json").write_text((tiny_weights_dir / "tiny.json").read_text())
    data = bytearray((tiny_weights_dir / "tiny.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (broken / "tiny.safetensors").write_bytes(bytes(data))
    settings.RESTORATION_CHECKPOINT_DIR = str(broken)
    job = services.job_request(actor=archivist, capture=capture)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "sha256" in job.error_message

    settings.RESTORATION_CHECKPOINT_DIR = str(tiny_weights_dir)  # an admin repairs the weights
    retry = services.job_retry(actor=archivist, job=job)
    retry.refresh_from_db()
    job.refresh_from_db()
    assert retry.status == JobStatus.SUCCEEDED and retry.retry_of_id == job.pk
    assert job.status == JobStatus.FAILED  # the failed job stays on the record


def test_frame_range_deinterlace_and_the_offline_scorer(archivist: Any, capture: Any) -> None:
    job = services.job_request(
        actor=archivist,
        capture=capture,
        parameters={
            "frame_start": 2,
            "frame_end": 8,
            "deinterlace": "bwdif",
            "scorer": "offline",
            "references": 0,
        },
    )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    version = job.version
    assert (version.frame_start, version.frame_end, version.frame_count) == (2, 8, 6)
    assert version.scorer == "offline" and version.parameters["deinterlace"] == "bwdif"
    assert version.parameters["references"] == 0
    assert len(version.scores_before) == len(version.scores_after) == 6
    assert all(0.0 <= value <= 1.0 for value in version.scores_before + version.scores_after)
    assert probe(default_storage.path(version.master.name)).frame_count == 6


def test_preview_segment_contains_the_damaged_frames(
    archivist: Any, tape: Any, tmp_path: Path
) -> None:
    """Frames 40-45 of a 60-frame capture are hit by heavy noise: the preview is around them."""
    from fractions import Fraction

    import av
    import numpy as np
    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal.captures.services import capture_create

    rng = np.random.default_rng(7)
    path = tmp_path / "damaged.mkv"
    ys, xs = np.mgrid[0:48, 0:64]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv444p"
        for index in range(60):
            rgb = np.stack([xs * 3 + index, ys * 4, np.full_like(xs, 90)], axis=-1).astype(
                np.float32
            )
            if 40 <= index <= 45:
                rgb += rng.normal(0, 60, rgb.shape)
            frame = av.VideoFrame.from_ndarray(
                np.clip(rgb, 0, 255).astype(np.uint8), format="rgb24"
            )
            frame.pts, frame.time_base = index, Fraction(1, 25)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    capture = capture_create(
        tape=tape, upload=SimpleUploadedFile(path.name, path.read_bytes()), actor=archivist
    )
    job = services.job_request(
        actor=archivist,
        capture=capture,
        parameters={"preview": True, "preview_seconds": 0.5, "scorer": "none"},
    )
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    version = job.version
    assert version.frame_count == 12
    assert version.frame_start <= 40 and version.frame_end >= 46
    worst = max(range(12), key=lambda i: version.scores_before[i]) + version.frame_start
    assert 40 <= worst <= 45
