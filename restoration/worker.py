"""What a restoration worker does with a job: claim, run the engine, store, record; and the
reaper that fails jobs whose worker died.

The django-q2 task (``restoration.tasks``) is a thin adapter over ``job_run``. Everything here
runs on a worker machine, so it only relies on what every machine shares: the database, the
broker and the storage. Local scratch files live in ``RESTORATION_WORK_DIR/job-<id>/``.

Stale-job policy (README, "Restoration workflow and workers"): a running job whose heartbeat is
older than ``RESTORATION_STALE_AFTER`` seconds is marked *failed* (not re-queued: a job that
killed its worker, e.g. out of memory, would kill the next one too) with a message saying so;
its partial outputs are deleted; a person retries it, which makes a new job.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from portal.audit.services import audit_record
from portal.storage import file_sha256
from restoration.models import JobStatus, RestorationJob, RestoredVersion
from restoration.pipeline import run_pipeline, warm_up
from restoration.progress import Heartbeat, ProgressWriter, worker_host
from restoration.shutdown import (
    in_restoration_cluster,
    stop_reason,
    stop_requested,
    task_running,
)

logger = logging.getLogger(__name__)

_HASH_CHUNK = 1024 * 1024


def _now() -> dt.datetime:
    return timezone.now()


def job_work_dir(job_id: int) -> Path:
    return Path(settings.RESTORATION_WORK_DIR) / f"job-{job_id}"


def job_storage_dir(job: RestorationJob) -> str:
    return f"restorations/{job.institution_id}/job-{job.pk}"


def on_worker_spawn_warm_up(sender: Any = None, proc_name: str = "", **_: Any) -> None:
    """django-q2 ``post_spawn`` receiver: a new restoration worker process restores a short
    synthetic clip before it takes its first job (``RESTORATION_WARM_UP``, on by default), and
    checks that it can reach the media storage. Its one-time costs (model, torch, codecs: about
    200 MB and a few seconds on a CPU worker) are then paid here, and a worker that cannot run
    says so in its log at start, not in an archivist's first job. A failed warm-up is logged and
    the worker carries on: the job then fails with the same error, in its own words."""
    if not in_restoration_cluster() or not settings.RESTORATION_WARM_UP:
        return
    work_dir = Path(settings.RESTORATION_WORK_DIR) / f"warm-up-{os.getpid()}"
    try:
        with task_running():  # a worker whose cluster dies meanwhile lets it clean up first
            try:
                default_storage.exists("restorations/.worker-check")
                done = warm_up(work_dir, cancel=stop_requested)
            finally:
                shutil.rmtree(work_dir, ignore_errors=True)
    except Exception as exc:
        if stop_requested():  # stopped while warming up (a deployment, Ctrl-C): not a fault
            logger.info("restoration worker %s: warm-up stopped (%s)", os.getpid(), stop_reason())
            return
        logger.warning(
            "restoration worker %s (pid %s): warm-up failed (%s: %s); jobs will report it",
            worker_host(),
            os.getpid(),
            type(exc).__name__,
            exc,
            exc_info=True,
        )
        return
    logger.info(
        "restoration worker %s (pid %s) ready: warm-up restored %s frames with %s on %s in %.1f s",
        worker_host(),
        os.getpid(),
        done["frames"],
        done["model"],
        done["device"],
        done["seconds"],
    )


# --------------------------------------------------------------------------------------------
# Claiming


def job_claim(*, job_id: int | None) -> RestorationJob | None:
    """Atomically move a queued job to running for this worker; None when there is none.

    The job named by the task is tried first; when another worker has it already (or it was
    cancelled), the oldest queued job is claimed instead, so a task that waited in a busy
    worker's prefetch buffer never leaves a job stranded. Each attempt is one guarded UPDATE:
    two workers can never both move the same row out of "queued".
    """
    now = _now()
    claim = {
        "status": JobStatus.RUNNING,
        "started_at": now,
        "heartbeat_at": now,
        "worker_host": worker_host()[:255],
        "worker_pid": os.getpid(),
        "stage": "starting",
        "frames_done": 0,
    }
    candidates: list[int] = [job_id] if job_id is not None else []
    candidates += list(
        RestorationJob.objects.filter(status=JobStatus.QUEUED)
        .exclude(pk=job_id)
        .order_by("created_at", "id")
        .values_list("pk", flat=True)[:5]
    )
    for candidate in candidates:
        if RestorationJob.objects.filter(pk=candidate, status=JobStatus.QUEUED).update(**claim):
            return RestorationJob.objects.select_related(
                "capture", "capture__tape", "institution"
            ).get(pk=candidate)
    return None


# --------------------------------------------------------------------------------------------
# Files


def _delete_storage_dir(prefix: str) -> list[str]:
    """Delete every stored file under ``prefix`` (a job's partial outputs); return the names."""
    deleted: list[str] = []
    try:
        _dirs, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotImplementedError, OSError):
        return deleted
    for name in files:
        path = f"{prefix}/{name}"
        with contextlib.suppress(FileNotFoundError, OSError):
            default_storage.delete(path)
            deleted.append(path)
    return deleted


def job_discard_outputs(*, job: RestorationJob) -> list[str]:
    """Remove what a job that did not succeed left behind: its scratch directory (when it ran
    on this machine) and anything it stored. Never touches the capture or any version."""
    if RestoredVersion.objects.filter(job_id=job.pk).exists():
        return []  # a succeeded job's files are a version's: never delete them
    removed = _delete_storage_dir(job_storage_dir(job))
    if job.worker_host in ("", worker_host()):
        work_dir = job_work_dir(job.pk)
        if work_dir.exists():
            shutil.rmtree(work_dir, ignore_errors=True)
            removed.append(str(work_dir))
    return removed


def sweep_work_dirs() -> list[int]:
    """Delete scratch directories on this machine whose job is no longer running here (left by
    a worker process that was killed). Called before each job starts."""
    root = Path(settings.RESTORATION_WORK_DIR)
    if not root.is_dir():
        return []
    ids: dict[int, Path] = {}
    for child in root.iterdir():
        if child.is_dir() and child.name.startswith("job-") and child.name[4:].isdigit():
            ids[int(child.name[4:])] = child
    running_here = set(
        RestorationJob.objects.filter(
            pk__in=list(ids), status=JobStatus.RUNNING, worker_host=worker_host()
        ).values_list("pk", flat=True)
    )
    swept = []
    for job_id, path in ids.items():
        if job_id not in running_here:
            shutil.rmtree(path, ignore_errors=True)
            swept.append(job_id)
    return swept


# --------------------------------------------------------------------------------------------
# Finishing


def _finish(
    job_id: int,
    *,
    status: str,
    action: str,
    error: str = "",
    permanent: bool | None = None,
    timings: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> RestorationJob | None:
    """Move a running job to a final state and record it; None when it is no longer running
    (cancelled by a person, or reaped meanwhile: their record stands)."""
    with transaction.atomic():
        fields: dict[str, Any] = {
            "status": status,
            "finished_at": _now(),
            "error_message": error[:4000],
            "error_permanent": permanent,
            "stage": "",
            "eta_seconds": None,
        }
        if timings is not None:
            fields["timings"] = timings
        if not RestorationJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(**fields):
            return None
        job = RestorationJob.objects.select_related("capture__tape", "institution").get(pk=job_id)
        audit_record(
            actor=None,
            institution=job.institution,
            action=action,
            target=job,
            tape=job.capture.tape,
            details={
                "worker_host": job.worker_host,
                "device": job.device,
                **({"error": error[:500], "permanent": permanent} if error else {}),
                **(details or {}),
            },
        )
    from restoration.webhooks import webhook_notify

    webhook_notify(job=job)
    return job


def job_run(*, job_id: int | None) -> int | None:
    """Claim a job and run it to a final state. Returns the id of the job run, or None."""
    from restoration.engine.exceptions import CancelledError, EngineError

    if stop_requested():  # a stopping worker takes no new job (the queue keeps it)
        logger.info("restoration task for job %s: worker stopping, not claiming", job_id)
        return None
    job = job_claim(job_id=job_id)
    if job is None:
        logger.info("restoration task for job %s: nothing to claim", job_id)
        return None
    sweep_work_dirs()
    audit_record(
        actor=None,
        institution=job.institution,
        action="job.started",
        target=job,
        tape=job.capture.tape,
        details={"worker_host": job.worker_host, "pid": job.worker_pid},
    )
    work_dir = job_work_dir(job.pk)
    work_dir.mkdir(parents=True, exist_ok=True)
    progress = ProgressWriter(job.pk, interval=settings.RESTORATION_PROGRESS_INTERVAL)
    heartbeat = Heartbeat(job.pk, interval=settings.RESTORATION_HEARTBEAT_INTERVAL)
    heartbeat.start()
    stored: list[str] = []
    try:
        result = run_pipeline(job=job, work_dir=work_dir, progress=progress)
        version = _store_version(job=job, result=result, progress=progress, stored=stored)
        if version is None:  # cancelled or reaped while storing: nothing is kept
            _cleanup(job, stored)
            _finish(job.pk, status=JobStatus.CANCELLED, action="job.cancelled")
        return job.pk
    except CancelledError:
        if stop_requested():
            _fail_stopped(job, stored)
            return job.pk
        _cleanup(job, stored)
        _finish(
            job.pk,
            status=JobStatus.CANCELLED,
            action="job.cancelled",
            timings={"progress_writes": progress.writes},
        )
        return job.pk
    except EngineError as exc:
        if stop_requested():  # e.g. its window workers got the stop signal first
            _fail_stopped(job, stored)
            return job.pk
        _cleanup(job, stored)
        logger.warning("restoration job %s failed: %s", job.pk, exc)
        _finish(
            job.pk,
            status=JobStatus.FAILED,
            action="job.failed",
            error=_user_message(job, exc),
            permanent=exc.permanent,
        )
        return job.pk
    except Exception as exc:
        logger.exception("restoration job %s failed unexpectedly", job.pk)
        if isinstance(exc, DatabaseError):
            error = (
                f"The worker {job.worker_host} lost its database connection during this job "
                f"({type(exc).__name__}: {str(exc).strip()[:300]}). Nothing from this run was "
                "kept; retry the job."
            )
        else:
            error = (
                f"The worker hit an unexpected error ({type(exc).__name__}: {exc}). "
                "Retry the job; if it fails again, tell your administrator."
            )
        _fail_recorded_first(job, stored, error=error, details={"exception": type(exc).__name__})
        raise
    finally:
        heartbeat.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


def _fail_stopped(job: RestorationJob, stored: list[str]) -> None:
    """The job's worker was asked to stop: failed, retryable, nothing kept."""
    _fail_recorded_first(
        job,
        stored,
        error=(
            f"The worker {job.worker_host} was stopped during this job "
            f"({stop_reason()}). Nothing from this run was kept; retry the job."
        ),
        details={"reason": "worker_stopped"},
    )


def _fail_recorded_first(
    job: RestorationJob, stored: list[str], *, error: str, details: dict[str, Any]
) -> None:
    """Record the failure with its true cause, then clean up.

    Recording comes first and retries on a fresh connection: when the database connection was
    lost mid-job, the clean-up's own queries would fail too, and the job would sit "running"
    until the reaper blamed a dead worker.
    """
    for attempt in range(3):
        try:
            _finish(
                job.pk,
                status=JobStatus.FAILED,
                action="job.failed",
                error=error,
                permanent=False,
                details=details,
            )
            break
        except DatabaseError:
            logger.warning("recording the failure of job %s failed", job.pk, exc_info=True)
            connection.close()
            time.sleep(1.0 * (attempt + 1))
    try:
        _cleanup(job, stored)
    except Exception:
        logger.exception("clean-up after job %s failed; the reaper's sweep retries it", job.pk)
        connection.close()


def _user_message(job: RestorationJob, exc: Exception) -> str:
    """Engine messages name the file the worker read: a storage path or a scratch copy that
    means nothing to the archivist (and shows server paths). Name the capture instead."""
    message = str(exc)
    name = f"capture “{job.capture.original_filename}”"
    with contextlib.suppress(NotImplementedError, ValueError):
        message = message.replace(job.capture.original.path, name)
    return re.sub(r"\S*capture-src-[^\s:]*", name, message)


def _cleanup(job: RestorationJob, stored: list[str]) -> None:
    for name in stored:
        with contextlib.suppress(OSError):
            default_storage.delete(name)
    job_discard_outputs(job=job)


def _store_version(
    *, job: RestorationJob, result: Any, progress: ProgressWriter, stored: list[str]
) -> RestoredVersion | None:
    """Hash and upload master and access copy, then create the version and finish the job in
    one transaction (guarded: a job cancelled or reaped meanwhile gets no version)."""
    progress.set_stage("storing")
    started = time.perf_counter()
    master_sha, master_size = file_sha256(result.master_path)
    access_sha, access_size = file_sha256(result.access_path)
    prefix = job_storage_dir(job)
    with open(result.master_path, "rb") as handle:
        master_name = default_storage.save(f"{prefix}/master.mkv", File(handle))
    stored.append(master_name)
    with open(result.access_path, "rb") as handle:
        access_name = default_storage.save(f"{prefix}/access.mp4", File(handle))
    stored.append(access_name)
    store_s = round(time.perf_counter() - started, 3)
    timings = {
        **result.timings,
        "store_s": store_s,
        # Everything on the worker: fetch, load, score, restore (pipeline), then storing.
        "worker_total_s": round(float(result.timings.get("pipeline_total_s", 0.0)) + store_s, 3),
        "progress_writes": progress.writes,
        "progress_write_s": round(progress.write_seconds, 4),
    }
    with transaction.atomic():
        if not RestorationJob.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, cancel_requested=False
        ).update(
            status=JobStatus.SUCCEEDED,
            finished_at=_now(),
            frames_done=result.frame_count,
            frames_total=result.frame_count,
            eta_seconds=0,
            stage="",
            device=result.device[:32],
            timings=timings,
        ):
            return None
        version = RestoredVersion.objects.create(
            institution=job.institution,
            job=job,
            capture=job.capture,
            tape=job.capture.tape,
            is_preview=job.is_preview,
            frame_start=result.frame_start,
            frame_end=result.frame_end,
            frame_count=result.frame_count,
            frame_rate=result.frame_rate,
            master=master_name,
            master_sha256=master_sha,
            master_size=master_size,
            access=access_name,
            access_sha256=access_sha,
            access_size=access_size,
            model_variant=result.model_variant,
            weights_sha256=result.weights_sha256,
            scorer=result.scorer,
            engine_version=result.engine_version,
            parameters={**job.parameters, **result.effective_parameters},
            scores_before=result.scores_before,
            scores_after=result.scores_after,
            timings=timings,
            created_at=_now(),
        )
        tape = job.capture.tape
        audit_record(
            actor=None,
            institution=job.institution,
            action="job.succeeded",
            target=job,
            tape=tape,
            details={
                "worker_host": job.worker_host,
                "device": result.device,
                "frames": result.frame_count,
                "restore_s": timings.get("restore_s"),
            },
        )
        audit_record(
            actor=None,
            institution=job.institution,
            action="version.created",
            target=version,
            tape=tape,
            details={
                "job_id": job.pk,
                "master_sha256": master_sha,
                "access_sha256": access_sha,
                "model_variant": result.model_variant,
                "weights_sha256": result.weights_sha256,
                "engine_version": result.engine_version,
                "frames": [result.frame_start, result.frame_end],
            },
        )
    job.refresh_from_db()
    from restoration.thumbnails import thumbnails_enqueue
    from restoration.webhooks import webhook_notify

    try:  # review thumbnails are made on the default queue, never inside a page request
        thumbnails_enqueue(version=version)
    except Exception:  # the broker being down must not fail a finished job; pages re-queue
        logger.exception("could not queue the review thumbnails of version %s", version.pk)
    webhook_notify(job=job)
    return version


# --------------------------------------------------------------------------------------------
# Reaper


def jobs_reap_stale(
    *, now: dt.datetime | None = None, stale_after: float | None = None
) -> list[int]:
    """Fail running jobs whose worker stopped sending heartbeats; clean their partial outputs.

    Returns the ids of the jobs reaped. Safe to run anywhere, any number of times at once: each
    job is moved by one guarded UPDATE that only matches a still-stale running row.
    """
    now = now or _now()
    stale_after = settings.RESTORATION_STALE_AFTER if stale_after is None else stale_after
    cutoff = now - dt.timedelta(seconds=stale_after)
    reaped: list[int] = []
    for job in RestorationJob.objects.filter(
        status=JobStatus.RUNNING, heartbeat_at__lt=cutoff
    ).select_related("capture__tape", "institution"):
        last_seen = job.heartbeat_at
        message = (
            f"The worker {job.worker_host or '(unknown)'} stopped reporting during this job "
            f"(last heartbeat {last_seen:%Y-%m-%d %H:%M:%S} UTC, more than {int(stale_after)} s "
            "ago): it was probably killed or lost its machine. Nothing from this run was kept; "
            "retry the job."
        )
        with transaction.atomic():
            if not RestorationJob.objects.filter(
                pk=job.pk, status=JobStatus.RUNNING, heartbeat_at=last_seen
            ).update(
                status=JobStatus.FAILED,
                finished_at=now,
                error_message=message,
                error_permanent=False,
                stage="",
                eta_seconds=None,
            ):
                continue
            audit_record(
                actor=None,
                institution=job.institution,
                action="job.failed",
                target=job,
                tape=job.capture.tape,
                details={
                    "reason": "stale",
                    "worker_host": job.worker_host,
                    "last_heartbeat": last_seen.isoformat() if last_seen else None,
                    "stale_after_s": stale_after,
                    "error": message,
                    "permanent": False,
                },
            )
        removed = job_discard_outputs(job=job)
        logger.warning("reaped stale job %s (removed %d partial outputs)", job.pk, len(removed))
        reaped.append(job.pk)
        from restoration.webhooks import webhook_notify

        job.refresh_from_db()
        webhook_notify(job=job)
    _wake_stranded_queue(now=now)
    return reaped


def wake_if_stranded_after_run() -> None:
    """After a job, send one wake-up task if jobs are still queued.

    A busy worker may hold a prefetched task (django-q2 buffers up to ``queue_limit``); the
    job it names is then claimed by whichever worker runs the next task, and this wake-up makes
    sure there is such a task for an idle worker. Not needed when tasks run inline (sync).
    """
    from django_q.conf import Conf

    if Conf.SYNC:
        return
    if RestorationJob.objects.filter(status=JobStatus.QUEUED).exists():
        from restoration.services import job_enqueue

        job_enqueue(job_id=None)


def _wake_stranded_queue(*, now: dt.datetime) -> None:
    """If jobs have waited long while no job runs anywhere, their task may be lost (e.g. a
    Redis restart): send a wake-up task. Harmless otherwise: a task that finds nothing to
    claim does nothing."""
    if RestorationJob.objects.filter(status=JobStatus.RUNNING).exists():
        return
    waited = now - dt.timedelta(seconds=settings.RESTORATION_REQUEUE_AFTER)
    if RestorationJob.objects.filter(status=JobStatus.QUEUED, created_at__lt=waited).exists():
        from restoration.services import job_enqueue

        job_enqueue(job_id=None)
