"""Worker faults of issue 12 (defect 6), each reproduced for real:

- a worker killed with SIGKILL: its job is failed after 3 missed heartbeats (defaults: beat
  every 10 s, stale after 30 s, reaper every minute: out of "running" within ~90 s);
- SIGTERM to the worker's main process (``docker stop``): it exits within 10 s and its job is
  failed-and-retryable, partial outputs removed;
- SIGTERM to the worker's whole process group (systemd's ``KillMode=control-group``): the
  same, and no process of the cluster is left behind;
- the database connection terminated mid-job (PostgreSQL ``pg_terminate_backend``): the job
  is failed at once with the true cause, not 15 minutes later as "worker probably killed".
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection, connections

from restoration import services
from restoration.bench_jobs import Sandbox, _seconds
from restoration.models import JobStatus, RestorationJob, RestoredVersion


@pytest.mark.django_db
def test_default_timings_detect_a_dead_worker_within_90_seconds() -> None:
    from django_q.models import Schedule

    beat = django_settings.RESTORATION_HEARTBEAT_INTERVAL
    assert 10 <= beat <= 15
    assert django_settings.RESTORATION_STALE_AFTER == 3 * beat
    reaper = Schedule.objects.get(func="restoration.tasks.reap_stale_jobs")
    assert django_settings.RESTORATION_STALE_AFTER + 60 * reaper.minutes <= 90


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path / "sandbox")
    yield box
    box.stop()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _start_long_job(box: Sandbox, frames: int = 1000) -> tuple[int, dict[str, Any]]:
    seeded = box.setup(frames=12)
    capture_id = box.django(f"add_capture({seeded['tape']}, {seeded['user']}, {frames}, 64, 48)")
    job_id = box.django(f"request_job({capture_id}, {seeded['user']}, {{}})")
    box.wait_for(
        lambda: (row := box.job(job_id))["stage"] == "restoring" and row["frames_done"] > 0,
        what="the job to be restoring",
    )
    capture = dict(box.query("SELECT * FROM captures_capture WHERE id = ?", capture_id)[0])
    return job_id, capture


@pytest.mark.slow
def test_sigterm_stops_the_worker_within_10_s_leaving_a_clear_state(sandbox: Sandbox) -> None:
    worker = sandbox.start_worker(command="restoration_worker")
    job_id, capture = _start_long_job(sandbox)
    # The command restarted itself with fewer malloc arenas (a worker's memory stays flat).
    environ = Path(f"/proc/{worker.pid}/environ").read_bytes().split(b"\0")
    assert b"MALLOC_ARENA_MAX=2" in environ, environ
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)  # the main process only, as `docker stop` does
    worker.wait(timeout=30)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"the worker took {elapsed:.1f} s to exit\n{sandbox.worker_log()}"
    job = sandbox.job(job_id)
    assert job["status"] == "failed", sandbox.worker_log()
    assert "was stopped" in job["error_message"] and job["error_permanent"] == 0
    assert int(sandbox.query("SELECT count(*) FROM restoration_restoredversion")[0][0]) == 0
    stored = sandbox.media_root / "restorations" / str(capture["institution_id"]) / f"job-{job_id}"
    assert not stored.exists() or not any(stored.iterdir())
    assert _sha256(sandbox.media_root / capture["original"]) == capture["sha256"]


@pytest.mark.slow
@pytest.mark.parametrize("command", ["restoration_worker", "qcluster"])
def test_a_worker_that_kept_its_window_workers_stops_within_10_s(
    sandbox: Sandbox, command: str
) -> None:
    """RESTORATION_KEEP_WORKERS: after a job the window workers stay up (model loaded) for
    the next one; a stop must still end them and the worker within seconds, also in a plain
    qcluster (as `make run` starts it), whose worker processes exit the normal way."""
    from restoration.shutdown import descendants

    sandbox.env["RESTORATION_KEEP_WORKERS"] = "true"
    worker = sandbox.start_worker(command=command)
    seeded = sandbox.setup(frames=12)
    job_id = sandbox.django(f"request_job({seeded['capture']}, {seeded['user']}, {{}})")
    job = sandbox.wait_job(job_id, ("succeeded", "failed"))
    assert job["status"] == "succeeded", (job["error_message"], sandbox.worker_log())

    def window_workers() -> list[int]:
        found = []
        for pid in descendants(worker.pid):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in command:
                found.append(pid)
        return found

    kept = window_workers()
    assert len(kept) >= 2, sandbox.worker_log()  # the tiny job ran on the kept pool
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"the worker took {elapsed:.1f} s to exit\n{sandbox.worker_log()}"
    assert not [pid for pid in kept if Path(f"/proc/{pid}").exists()], "window workers left"


_REAPED_SENTINEL = """
import multiprocessing, os, signal, threading, time
from restoration.management.commands import restoration_worker as command
command.ORPHANS_GRACE = 1.0
sentinel = multiprocessing.get_context("fork").Process(target=time.sleep, args=(0,))
sentinel.start()
os.waitpid(sentinel.pid, 0)  # reaped before multiprocessing recorded it
assert sentinel.is_alive()  # and from now on reported alive


class Cluster:
    def __init__(self):
        self.sentinel = sentinel

    def sig_handler(self, signum, frame):
        threading.Event().wait()  # django-q2's stop, waiting for the dead sentinel's wake-up


command.stop_cluster(Cluster(), signal.SIGTERM, None)
print("stop_cluster returned instead of exiting")
"""


def test_the_worker_exits_when_its_sentinel_was_reaped_under_multiprocessing() -> None:
    """The hang behind about one group SIGTERM in eight: the command's handler ran inside
    multiprocessing's exit-time join of the sentinel, after that join's waitpid had reaped the
    sentinel but before it recorded the exit code, so ``Process.is_alive()`` said "alive"
    forever and the command waited for it forever. It must exit."""
    probe = subprocess.run(
        [sys.executable, "-c", _REAPED_SENTINEL],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"},
    )
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert "returned" not in probe.stdout
    assert "died before stopping its workers" in probe.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", ["restoration_worker", "qcluster"])
def test_a_sigterm_to_the_whole_process_group_leaves_no_process_behind(
    sandbox: Sandbox, command: str
) -> None:
    """django-q2's sentinel dies of a group-wide SIGTERM without telling its workers to stop:
    each worker notices that its cluster is gone, fails its job as stopped and exits. The
    ``restoration_worker`` command exits too (a plain ``qcluster``'s main process can hang in
    django-q2's own stop, waiting for the dead sentinel: only its workers are checked).
    (About one run in eight of this test once hung in the ``restoration_worker`` main process:
    see ``test_the_worker_exits_when_its_sentinel_was_reaped_under_multiprocessing``.)"""
    from restoration.shutdown import descendants, is_running

    sandbox.env["RESTORATION_KEEP_WORKERS"] = "true"
    worker = sandbox.start_worker(command=command)
    job_id, capture = _start_long_job(sandbox)
    cluster = descendants(worker.pid)
    assert len(cluster) >= 4, cluster  # sentinel, monitor, pusher, worker(s), window workers
    os.killpg(worker.pid, signal.SIGTERM)
    started = time.monotonic()
    if command == "restoration_worker":
        try:
            worker.wait(timeout=40)
        except subprocess.TimeoutExpired:
            pytest.fail("the restoration_worker command did not exit\n" + sandbox.worker_log())
    while [pid for pid in cluster if is_running(pid)] and time.monotonic() - started < 30:
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    left = [pid for pid in cluster if is_running(pid)]
    assert not left, f"still running {elapsed:.0f} s after the signal: {left}\n" + (
        sandbox.worker_log()
    )
    job = sandbox.job(job_id)
    assert job["status"] == "failed", sandbox.worker_log()
    assert "was stopped" in job["error_message"] and job["error_permanent"] == 0
    assert int(sandbox.query("SELECT count(*) FROM restoration_restoredversion")[0][0]) == 0
    assert _sha256(sandbox.media_root / capture["original"]) == capture["sha256"]
    if command == "restoration_worker":
        assert "is gone; stopping the running job" in sandbox.worker_log()


@pytest.mark.slow
@pytest.mark.parametrize(
    "beat", [2, django_settings.RESTORATION_HEARTBEAT_INTERVAL], ids=["scaled-2s", "default"]
)
def test_kill_9_job_is_failed_after_three_missed_heartbeats(sandbox: Sandbox, beat: int) -> None:
    """Scaled down (a beat every 2 s: "3 intervals" is 6 s) and with the default timings (a
    beat every 10 s, stale after 30 s; with the minute reaper out of "running" within 90 s)."""
    sandbox.env.update({"RESTORATION_HEARTBEAT_INTERVAL": str(beat)})
    worker = sandbox.start_worker(command="restoration_worker")
    job_id, capture = _start_long_job(sandbox)
    sandbox.kill_worker(worker)  # SIGKILL to the whole cluster
    killed = time.time()
    assert sandbox.job(job_id)["status"] == "running"
    # The reaper (a subprocess here, ~5 s to start on a busy machine) runs once the last
    # heartbeat is 3 intervals old: that one run must fail the job.
    last_beat = _seconds(sandbox.job(job_id)["heartbeat_at"])
    time.sleep(max(0.0, last_beat + 3 * beat + 0.5 - time.time()))
    # Stale this long after the kill; the reaper's schedule runs every minute after that.
    assert last_beat + 3 * beat - killed + 60 <= 90
    assert "Failed 1 stale job" in sandbox.manage("reap_stale_jobs")
    job = sandbox.job(job_id)
    assert job["status"] == "failed" and "stopped reporting" in job["error_message"]
    assert _sha256(sandbox.media_root / capture["original"]) == capture["sha256"]


@pytest.mark.skipif(
    django_settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="terminating a connection needs PostgreSQL (pg_terminate_backend)",
)
@pytest.mark.django_db(transaction=True)
def test_database_connection_terminated_mid_job_is_recorded_with_its_cause(
    archivist: Any, tape: Any, make_capture: Callable[..., Any]
) -> None:
    capture = make_capture(tape, frames=150)
    original = _sha256(Path(capture.original.path))
    job = services.job_request(actor=archivist, capture=capture)
    outcome: dict[str, Any] = {}

    def run() -> None:
        from restoration.worker import job_run

        try:
            outcome["result"] = job_run(job_id=job.pk)
        except Exception as exc:  # noqa: BLE001 (job_run re-raises after recording)
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = RestorationJob.objects.values("stage", "frames_done").get(pk=job.pk)
        if row["stage"] == "restoring" and row["frames_done"] > 0:
            break
        time.sleep(0.05)
    with connection.cursor() as cursor:  # a failover: every other session is cut
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    terminated = time.monotonic()
    thread.join(timeout=60)
    assert not thread.is_alive()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED, job.error_message
    assert "lost its database connection" in job.error_message
    assert job.error_permanent is False
    assert job.finished_at is not None and time.monotonic() - terminated < 30
    assert not RestoredVersion.objects.filter(job=job).exists()
    assert _sha256(Path(capture.original.path)) == original
