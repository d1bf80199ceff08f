"""Real `manage.py qcluster` restoration workers (subprocesses) on a sandbox installation:
the ORM broker with two workers and a duplicated task, the Redis broker (when REDIS_URL is
set), and a worker killed mid-job that the reaper cleans up after."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from restoration.bench_jobs import Sandbox

pytestmark = pytest.mark.slow


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path / "sandbox", env={"RESTORATION_PROGRESS_INTERVAL_MS": "0"})
    yield box
    box.stop()


def count(box: Sandbox, sql: str, *params: object) -> int:
    return int(box.query(sql, *params)[0][0])


def started_events(box: Sandbox, job_id: int) -> int:
    return count(
        box,
        "SELECT count(*) FROM audit_auditevent WHERE action = 'job.started' AND target_id = ?",
        str(job_id),
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_orm_workers_run_a_job_once_even_with_two_tasks(sandbox: Sandbox) -> None:
    seeded = sandbox.setup(frames=12)
    sandbox.start_worker("worker-a")
    sandbox.start_worker("worker-b")
    job_id = sandbox.django(f"request_job({seeded['capture']}, {seeded['user']}, {{}})")
    sandbox.django(f"enqueue_again({job_id})")  # a second task for the same job
    job = sandbox.wait_job(job_id, ("succeeded", "failed"))
    assert job["status"] == "succeeded", job["error_message"]
    assert job["worker_host"] in ("worker-a", "worker-b")
    # Both tasks were delivered and processed; the job started exactly once.
    sandbox.wait_for(
        lambda: (
            count(sandbox, "SELECT count(*) FROM django_q_ormq WHERE key = ?", sandbox.queue) == 0
        ),
        what="the restoration queue to drain",
    )
    sandbox.wait_for(
        lambda: (
            count(
                sandbox,
                "SELECT count(*) FROM django_q_task WHERE func = "
                "'restoration.tasks.run_restoration_job'",
            )
            == 2
        ),
        what="both tasks to be recorded",
    )
    assert started_events(sandbox, job_id) == 1
    assert count(sandbox, "SELECT count(*) FROM restoration_restoredversion") == 1
    # Each worker process warmed up on a synthetic SD clip, in window worker processes that a
    # daemonic django-q2 worker could not have started.
    # (The worker that did not get the job may still be warming up: wait for its line.)
    for name in ("worker-a", "worker-b"):
        sandbox.wait_for(
            lambda name=name: (
                "ready: warm-up restored" in sandbox.worker_log(name)
                or "warm-up failed" in sandbox.worker_log(name)
            ),
            what=f"{name} to finish its warm-up",
        )
        log = sandbox.worker_log(name)
        assert "ready: warm-up restored 24 frames with tiny on cpu" in log, log
        assert "warm-up failed" not in log, log


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set (CI sets it)")
def test_a_worker_on_the_redis_broker_runs_a_job(tmp_path: Path) -> None:
    box = Sandbox(tmp_path / "sandbox", redis_url=os.environ["REDIS_URL"])
    try:
        seeded = box.setup(frames=12)
        box.start_worker()
        job_id = box.django(f"request_job({seeded['capture']}, {seeded['user']}, {{}})")
        job = box.wait_job(job_id, ("succeeded", "failed"))
        assert job["status"] == "succeeded", job["error_message"]
        assert started_events(box, job_id) == 1
        # Nothing went through the database queue: the tasks travelled through Redis.
        assert count(box, "SELECT count(*) FROM django_q_ormq") == 0
    finally:
        box.stop()


def test_killed_worker_is_reaped_and_its_partial_outputs_removed(sandbox: Sandbox) -> None:
    seeded = sandbox.setup(frames=12)
    worker = sandbox.start_worker()
    first = sandbox.django(f"request_job({seeded['capture']}, {seeded['user']}, {{}})")
    assert sandbox.wait_job(first, ("succeeded", "failed"))["status"] == "succeeded"
    version = dict(sandbox.query("SELECT * FROM restoration_restoredversion")[0])
    kept = {
        sandbox.media_root / version["master"]: version["master_sha256"],
        sandbox.media_root / version["access"]: version["access_sha256"],
    }
    capture = dict(
        sandbox.query("SELECT * FROM captures_capture WHERE id = ?", seeded["capture"])[0]
    )

    # Long enough to be killed mid-way: the worker's kept window workers are warm, and a tiny
    # frame takes them milliseconds.
    frames = 1000
    long_capture = sandbox.django(
        f"add_capture({seeded['tape']}, {seeded['user']}, {frames}, 64, 48)"
    )
    job_id = sandbox.django(f"request_job({long_capture}, {seeded['user']}, {{}})")
    scratch = sandbox.work_dir / f"job-{job_id}"
    sandbox.wait_for(
        lambda: (
            (row := sandbox.job(job_id))["stage"] == "restoring"
            and row["frames_done"] > 0
            and (scratch / "master.mkv").exists()
        ),  # a partial master is being written
        what="the second job to be restoring",
    )
    sandbox.kill_worker(worker)  # SIGKILL to the whole cluster: the machine is gone

    job = sandbox.job(job_id)
    assert job["status"] == "running" and 0 < job["frames_done"] < frames
    time.sleep(2.0)
    output = sandbox.manage("reap_stale_jobs", "--stale-after", "1")
    assert f"Failed 1 stale job(s): {job_id}" in output
    job = sandbox.job(job_id)
    assert job["status"] == "failed" and job["error_permanent"] == 0
    assert "stopped reporting" in job["error_message"]
    stored = sandbox.media_root / "restorations" / str(capture["institution_id"]) / f"job-{job_id}"
    assert not stored.exists() or not any(stored.iterdir())
    assert count(sandbox, "SELECT count(*) FROM restoration_restoredversion") == 1
    assert all(sha256(path) == digest for path, digest in kept.items())
    assert sha256(sandbox.media_root / capture["original"]) == capture["sha256"]
    assert (
        count(
            sandbox,
            "SELECT count(*) FROM audit_auditevent WHERE action = 'job.failed' AND target_id = ?",
            str(job_id),
        )
        == 1
    )

    # The reaper ran on another machine (the web host), so the dead worker's local scratch is
    # still there; the next job on that worker machine sweeps it before it starts.
    assert scratch.exists()
    sandbox.start_worker()  # the machine comes back (same worker name)
    third = sandbox.django(f"request_job({seeded['capture']}, {seeded['user']}, {{}})")
    assert sandbox.wait_job(third, ("succeeded", "failed"))["status"] == "succeeded"
    assert not scratch.exists()
