"""Worker side without the engine: atomic claim, bounded progress writes with cancel detection,
the stale-job reaper and scratch-directory sweeping."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from portal.audit.models import AuditEvent
from restoration import services
from restoration.models import JobStatus, RestorationJob
from restoration.pipeline import preview_window
from restoration.progress import ProgressWriter, worker_host
from restoration.worker import (
    job_claim,
    job_storage_dir,
    job_work_dir,
    jobs_reap_stale,
    sweep_work_dirs,
)
from tests.restoration.factories import finished_job, version_for

pytestmark = pytest.mark.django_db


def test_a_job_is_claimed_once(archivist: Any, capture: Any) -> None:
    job = services.job_request(actor=archivist, capture=capture)
    claimed = job_claim(job_id=job.pk)
    assert claimed is not None and claimed.pk == job.pk
    assert claimed.status == JobStatus.RUNNING and claimed.worker_host == worker_host()
    assert claimed.heartbeat_at is not None and claimed.worker_pid
    assert job_claim(job_id=job.pk) is None  # the second worker gets nothing


def test_a_task_whose_job_was_taken_claims_the_oldest_queued_job(
    archivist: Any, capture: Any
) -> None:
    first = services.job_request(actor=archivist, capture=capture)
    second = services.job_request(actor=archivist, capture=capture)
    third = services.job_request(actor=archivist, capture=capture)
    assert job_claim(job_id=second.pk).pk == second.pk
    # The task of `second` arrives again (e.g. a prefetched duplicate): it runs `first`.
    assert job_claim(job_id=second.pk).pk == first.pk
    services.job_cancel(actor=archivist, job=third)
    assert job_claim(job_id=third.pk) is None  # cancelled jobs are never claimed
    assert job_claim(job_id=None) is None


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_written_at_a_bounded_rate(archivist: Any, capture: Any) -> None:
    job = job_claim(job_id=services.job_request(actor=archivist, capture=capture).pk)
    clock = FakeClock()
    writer = ProgressWriter(job.pk, interval=1.0, clock=clock)
    for done in range(1, 101):  # 100 callbacks within 0.99 s: only the first is written
        writer(done, 1000, 5.0)
        clock.now += 0.0099
    assert writer.writes == 1
    job.refresh_from_db()
    assert (job.frames_done, job.frames_total, job.eta_seconds) == (1, 1000, 5.0)
    clock.now += 1.0
    writer(150, 1000, 4.0)
    writer(1000, 1000, 0.0)  # the last frame is always written
    assert writer.writes == 3
    job.refresh_from_db()
    assert job.frames_done == 1000


def test_cancel_request_is_noticed_within_one_interval(
    archivist: Any, reviewer: Any, capture: Any
) -> None:
    job = job_claim(job_id=services.job_request(actor=archivist, capture=capture).pk)
    clock = FakeClock()
    writer = ProgressWriter(job.pk, interval=1.0, clock=clock)
    writer(1, 10, None)
    assert writer.cancelled() is False
    services.job_cancel(actor=reviewer, job=job)
    assert writer.cancelled() is False  # not checked again before the interval
    clock.now += 1.0
    assert writer.cancelled() is True
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING  # the worker finishes it as cancelled


def test_reaper_fails_jobs_without_heartbeat_and_removes_partial_outputs(
    archivist: Any, capture: Any, settings: Any, tape: Any
) -> None:
    earlier = version_for(finished_job(capture, archivist))
    earlier_files = [earlier.master.name, earlier.access.name]
    live = job_claim(job_id=services.job_request(actor=archivist, capture=capture).pk)
    dead = job_claim(job_id=services.job_request(actor=archivist, capture=capture).pk)
    stale = timezone.now() - dt.timedelta(seconds=settings.RESTORATION_STALE_AFTER + 5)
    RestorationJob.objects.filter(pk=dead.pk).update(heartbeat_at=stale)
    partial = default_storage.save(f"{job_storage_dir(dead)}/master.mkv", ContentFile(b"half"))
    scratch = job_work_dir(dead.pk)
    scratch.mkdir(parents=True)
    (scratch / "master.mkv").write_bytes(b"half a master")

    assert jobs_reap_stale() == [dead.pk]
    dead.refresh_from_db()
    live.refresh_from_db()
    assert dead.status == JobStatus.FAILED and dead.error_permanent is False
    assert "stopped reporting" in dead.error_message and "retry" in dead.error_message
    assert live.status == JobStatus.RUNNING
    assert not default_storage.exists(partial) and not scratch.exists()
    assert all(default_storage.exists(name) for name in earlier_files)
    assert capture.original.storage.exists(capture.original.name)
    event = AuditEvent.objects.get(action="job.failed", target_id=str(dead.pk))
    assert event.details["reason"] == "stale" and event.tape_id == tape.pk
    assert jobs_reap_stale() == []  # idempotent


def test_reap_command_uses_the_given_timeout(archivist: Any, capture: Any, capsys: Any) -> None:
    job = job_claim(job_id=services.job_request(actor=archivist, capture=capture).pk)
    RestorationJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - dt.timedelta(seconds=20)
    )
    call_command("reap_stale_jobs")
    assert "No stale jobs" in capsys.readouterr().out
    call_command("reap_stale_jobs", "--stale-after", "10")
    assert f"Failed 1 stale job(s): {job.pk}" in capsys.readouterr().out


def test_reaper_schedule_exists_after_migrations() -> None:
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="restoration: reap stale jobs")
    assert schedule.func == "restoration.tasks.reap_stale_jobs"
    assert schedule.schedule_type == Schedule.MINUTES and schedule.minutes == 1


def test_sweep_removes_scratch_of_jobs_not_running_here(
    archivist: Any, capture: Any, settings: Any
) -> None:
    running = job_claim(job_id=services.job_request(actor=archivist, capture=capture).pk)
    finished = finished_job(capture, archivist)
    for job in (running, finished):
        job_work_dir(job.pk).mkdir(parents=True)
    (Path(settings.RESTORATION_WORK_DIR) / "unrelated").mkdir()
    assert sweep_work_dirs() == [finished.pk]
    assert job_work_dir(running.pk).exists() and not job_work_dir(finished.pk).exists()
    assert (Path(settings.RESTORATION_WORK_DIR) / "unrelated").exists()


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([0.0] * 100, (0, 25)),  # no signal: the start of the capture
        ([0.1] * 60 + [0.9] * 5 + [0.1] * 35, (50, 75)),  # centred on the worst stretch
        ([0.1] * 95 + [0.9] * 5, (75, 100)),  # clamped at the end
        ([0.9] + [0.1] * 20, (0, 21)),  # shorter than the preview: everything
    ],
)
def test_preview_window_centres_on_the_worst_frames(
    scores: list[float], expected: tuple[int, int]
) -> None:
    assert preview_window(scores, frame_count=len(scores), fps=25.0, seconds=1.0) == expected


@pytest.mark.django_db(transaction=True)
def test_heartbeat_thread_keeps_a_running_job_alive(archivist: Any, capture: Any) -> None:
    import time

    from restoration.progress import Heartbeat

    job = job_claim(job_id=services.job_request(actor=archivist, capture=capture).pk)
    old = timezone.now() - dt.timedelta(hours=1)
    RestorationJob.objects.filter(pk=job.pk).update(heartbeat_at=old)
    beat = Heartbeat(job.pk, interval=0.05)
    beat.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.heartbeat_at > old:
                break
            time.sleep(0.05)
    finally:
        beat.stop()
    assert job.heartbeat_at > old and not beat.is_alive()
    assert jobs_reap_stale() == []  # a live worker is never reaped


def test_reaper_wakes_a_queue_whose_task_was_lost(
    archivist: Any, capture: Any, settings: Any
) -> None:
    import uuid

    from django_q.brokers import get_broker

    settings.RESTORATION_QUEUE = f"restoration-test-{uuid.uuid4().hex[:8]}"
    broker = get_broker(settings.RESTORATION_QUEUE)
    try:
        job = services.job_request(actor=archivist, capture=capture)  # its task never went out
        jobs_reap_stale()
        assert broker.queue_size() == 0  # queued only briefly: nothing to do yet
        waited = timezone.now() - dt.timedelta(seconds=settings.RESTORATION_REQUEUE_AFTER + 1)
        RestorationJob.objects.filter(pk=job.pk).update(created_at=waited)
        jobs_reap_stale()
        assert broker.queue_size() == 1  # a wake-up task for the restoration workers
        job_claim(job_id=None)  # once a job runs, the reaper leaves the queue alone
        services.job_request(actor=archivist, capture=capture)
        RestorationJob.objects.filter(status=JobStatus.QUEUED).update(created_at=waited)
        jobs_reap_stale()
        assert broker.queue_size() == 1
    finally:
        broker.purge_queue()


# --- warm-up of a new worker process ----------------------------------------------------------


def test_a_new_restoration_worker_process_warms_up_and_keeps_its_window_workers(
    settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from restoration.engine import execution
    from restoration.pipeline import WARM_UP_FRAMES
    from restoration.worker import on_worker_spawn_warm_up

    monkeypatch.setenv("Q_CLUSTER_NAME", settings.RESTORATION_QUEUE)
    settings.RESTORATION_KEEP_WORKERS = True
    try:
        with caplog.at_level("INFO", logger="restoration.worker"):
            on_worker_spawn_warm_up(proc_name="Process-1")
        assert f"warm-up restored {WARM_UP_FRAMES} frames with tiny on cpu" in caplog.text
        assert len(execution._KEPT["executor"]._processes) == 2  # kept for the first job
        assert not list(Path(settings.RESTORATION_WORK_DIR).glob("warm-up-*"))  # cleaned up
    finally:
        execution.discard_kept_workers()


def test_only_a_restoration_cluster_process_keeps_window_workers(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from restoration.pipeline import _load

    assert settings.RESTORATION_KEEP_WORKERS  # the default
    monkeypatch.delenv("Q_CLUSTER_NAME", raising=False)
    assert not _load("tiny")[2].keep_workers  # a web process, a shell, a test run
    monkeypatch.setenv("Q_CLUSTER_NAME", settings.RESTORATION_QUEUE)
    assert _load("tiny")[2].keep_workers
    settings.RESTORATION_KEEP_WORKERS = False
    assert not _load("tiny")[2].keep_workers


def test_a_failed_warm_up_is_logged_and_the_worker_carries_on(
    settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    from restoration.worker import on_worker_spawn_warm_up

    monkeypatch.setenv("Q_CLUSTER_NAME", settings.RESTORATION_QUEUE)
    settings.RESTORATION_CHECKPOINT_DIR = str(tmp_path / "no-weights")
    settings.RESTORATION_DEFAULT_MODEL = "tape-base"  # not shipped: no weights anywhere
    with caplog.at_level("WARNING", logger="restoration.worker"):
        on_worker_spawn_warm_up(proc_name="Process-1")  # no exception: the worker goes on
    assert "warm-up failed (WeightsError: No weights are installed for model 'tape-base'" in (
        caplog.text
    )


def test_default_queue_workers_and_a_disabled_warm_up_do_nothing(
    settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from restoration.worker import on_worker_spawn_warm_up

    with caplog.at_level("INFO", logger="restoration.worker"):
        monkeypatch.delenv("Q_CLUSTER_NAME", raising=False)
        on_worker_spawn_warm_up(proc_name="Process-1")
        monkeypatch.setenv("Q_CLUSTER_NAME", settings.RESTORATION_QUEUE)
        settings.RESTORATION_WARM_UP = False
        on_worker_spawn_warm_up(proc_name="Process-1")
    assert "warm-up" not in caplog.text


def test_a_worker_asked_to_stop_during_its_warm_up_stops_it_quietly(
    settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from restoration import shutdown
    from restoration.engine import execution
    from restoration.worker import on_worker_spawn_warm_up

    monkeypatch.setenv("Q_CLUSTER_NAME", settings.RESTORATION_QUEUE)
    shutdown.request_stop("the worker process received SIGUSR1 (a shutdown or deployment)")
    try:
        with caplog.at_level("INFO", logger="restoration.worker"):
            on_worker_spawn_warm_up(proc_name="Process-1")
    finally:
        shutdown._requested.clear()
        execution.discard_kept_workers()
    assert "warm-up stopped (the worker process received SIGUSR1" in caplog.text
    assert "warm-up failed" not in caplog.text and "ready" not in caplog.text
    assert execution._KEPT == {}  # a cancelled run keeps no window workers


def test_an_engine_error_while_the_worker_stops_fails_the_job_as_stopped(
    archivist: Any, capture: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM reaches the window worker processes too (the stop is forwarded to every process
    below the worker), so the engine may see them die before its cancel hook sees the flag: the
    job must still say that the worker was stopped and can be retried."""
    from restoration import shutdown, worker
    from restoration.engine.execution import WorkerError

    def dying_pipeline(**kwargs: Any) -> Any:
        shutdown.request_stop("the worker process received SIGTERM (a shutdown or deployment)")
        raise WorkerError("a window worker process stopped (killed, or out of memory)")

    monkeypatch.setattr(worker, "run_pipeline", dying_pipeline)
    job = services.job_request(actor=archivist, capture=capture)
    try:
        assert worker.job_run(job_id=job.pk) == job.pk
    finally:
        shutdown._requested.clear()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and not job.error_permanent
    assert "was stopped during this job (the worker process received SIGTERM" in job.error_message
