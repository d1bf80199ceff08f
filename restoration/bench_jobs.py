"""Overhead of the job system, measured with real `qcluster` workers.

    python -m restoration.bench_jobs [--broker orm|redis|both] [--jobs 5] [--frames 48]
                                     [--size 320x240] [--progress-interval-ms 1000]

For each broker, a sandbox (its own SQLite database, media, scratch, tiny weights and a unique
restoration queue name, so nothing else on the machine is touched) is migrated and seeded, one
restoration worker (`Q_CLUSTER_NAME=<queue> manage.py qcluster`) is started, and jobs are
requested one after the other. Printed per broker:

- enqueue -> claim: from the job row's creation (the enqueue happens on its commit) to the
  worker's atomic claim (`started_at`): broker delivery + django-q2 pusher + worker process;
- enqueue -> engine: to the moment `restore_video` is called (after fetching the capture,
  loading weights and scoring frames);
- progress writes: count, total seconds, and share of the restoration (`restore_video`) time.

The `Sandbox` class is also what the qcluster tests (tests/restoration/test_qcluster.py) use.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def make_tiny_checkpoint(directory: Path, *, seed: int = 0) -> Path:
    """Random-initialised `tiny` weights with a real card (sha256 verified on load)."""
    import torch

    from restoration.engine.models import create_model, save_checkpoint

    torch.manual_seed(seed)
    return save_checkpoint(create_model("tiny"), directory / "tiny", {"training": "random init"})


# --------------------------------------------------------------------------------------------
# Code run inside the sandbox's Django (through `Sandbox.django`)


def seed(frames: int, width: int, height: int) -> dict[str, Any]:
    """An institution, an archivist, a tape and a real capture of ``frames`` frames."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.models import Institution, Membership, Role
    from portal.captures.demo import write_demo_clip
    from portal.captures.services import capture_create
    from portal.catalog.models import Tape

    institution = Institution.objects.create(name="Bench Archive", slug="bench")
    user = get_user_model().objects.create_user("bench-archivist", password="x")
    Membership.objects.create(user=user, institution=institution, role=Role.ARCHIVIST)
    tape = Tape.objects.create(institution=institution, identifier="B-1", title="Bench")
    with tempfile.TemporaryDirectory() as folder:
        path = write_demo_clip(
            Path(folder) / "capture.mkv", seconds=frames / 25, size=(width, height)
        )
        upload = SimpleUploadedFile(path.name, path.read_bytes())
        capture = capture_create(tape=tape, upload=upload, actor=user)
    return {"capture": capture.pk, "user": user.pk, "tape": tape.pk}


def add_capture(tape_id: int, user_id: int, frames: int, width: int, height: int) -> int:
    """One more real capture on the seeded tape."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal.captures.demo import write_demo_clip
    from portal.captures.services import capture_create
    from portal.catalog.models import Tape

    user = get_user_model().objects.get(pk=user_id)
    with tempfile.TemporaryDirectory() as folder:
        path = write_demo_clip(
            Path(folder) / "capture.mkv", seconds=frames / 25, size=(width, height)
        )
        upload = SimpleUploadedFile(path.name, path.read_bytes())
        return capture_create(tape=Tape.objects.get(pk=tape_id), upload=upload, actor=user).pk


def request_job(capture_id: int, user_id: int, parameters: dict[str, Any]) -> int:
    from django.contrib.auth import get_user_model

    from portal.captures.models import Capture
    from restoration.services import job_request

    user = get_user_model().objects.get(pk=user_id)
    capture = Capture.objects.select_related("institution", "tape").get(pk=capture_id)
    return job_request(actor=user, capture=capture, parameters=parameters).pk


def enqueue_again(job_id: int) -> str:
    """A second task for the same job (what a redelivery or a double click would cause)."""
    from restoration.services import job_enqueue

    return job_enqueue(job_id=job_id)


# --------------------------------------------------------------------------------------------
# The sandbox


class Sandbox:
    """A throwaway portal installation in ``root`` driven through subprocesses."""

    def __init__(
        self, root: Path, *, redis_url: str = "", env: dict[str, str] | None = None
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / "db.sqlite3"
        self.queue = f"restoration-{uuid.uuid4().hex[:10]}"
        self.work_dir = self.root / "work"
        self.media_root = self.root / "media"
        self.weights_dir = self.root / "weights"
        self.workers: list[subprocess.Popen[bytes]] = []
        self._migrated = False
        base = {k: v for k, v in os.environ.items() if not k.startswith(("RESTORATION_", "Q_"))}
        self.env = {
            **base,
            "DJANGO_SETTINGS_MODULE": "portal.settings",
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": f"sqlite:///{self.db_path}",
            "PORTAL_VAR_DIR": str(self.root / "var"),
            "MEDIA_ROOT": str(self.media_root),
            "FILE_UPLOAD_TEMP_DIR": str(self.root / "upload-tmp"),
            "REDIS_URL": redis_url,
            "RESTORATION_QUEUE": self.queue,
            "RESTORATION_WORK_DIR": str(self.work_dir),
            "RESTORATION_CHECKPOINT_DIR": str(self.weights_dir),
            "RESTORATION_DEFAULT_MODEL": "tiny",
            "RESTORATION_DEFAULT_SCORER": "none",
            "RESTORATION_DEVICE": "cpu",
            "Q_SYNC": "0",
            **(env or {}),
        }

    # -- setup ---------------------------------------------------------------------------------
    def setup(self, *, frames: int = 12, size: tuple[int, int] = (64, 48)) -> dict[str, Any]:
        (self.root / "upload-tmp").mkdir(exist_ok=True)
        make_tiny_checkpoint(self.weights_dir)
        self.migrate()
        return self.django(f"seed({frames}, {size[0]}, {size[1]})")

    def migrate(self) -> None:
        """Create the sandbox's tables (once): a worker started before them logs a "no such
        table" error every poll and its pusher dies and is restarted."""
        if not self._migrated:
            self.manage("migrate", "--noinput")
            self._migrated = True

    def manage(self, *args: str, timeout: float = 300) -> str:
        return self._python(
            [str(REPO / "manage.py"), *args], f"manage.py {' '.join(args)}", timeout
        )

    def django(self, expression: str, *, timeout: float = 300) -> Any:
        """Evaluate ``expression`` (a call of this module's functions) in the sandbox."""
        code = (
            "import django, json; django.setup()\n"
            "from restoration.bench_jobs import *\n"
            f"print('RESULT=' + json.dumps({expression}))\n"
        )
        output = self._python(["-c", code], expression, timeout)
        line = [row for row in output.splitlines() if row.startswith("RESULT=")]
        return json.loads(line[-1][len("RESULT=") :])

    def _python(self, args: list[str], what: str, timeout: float) -> str:
        """Run this Python with ``args`` in the sandbox; its output, or its errors raised."""
        completed = subprocess.run(
            [sys.executable, *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{what} failed:\n{completed.stderr.decode()}")
        return completed.stdout.decode()

    # -- workers -------------------------------------------------------------------------------
    def start_worker(
        self, name: str = "worker", *, command: str = "qcluster", env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        self.migrate()
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [sys.executable, str(REPO / "manage.py"), command],
            cwd=REPO,
            env={
                **self.env,
                "Q_CLUSTER_NAME": self.queue,
                "RESTORATION_WORKER_NAME": name,
                **(env or {}),
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill the whole cluster at once
        )
        log.close()
        self.workers.append(process)
        return process

    def kill_worker(self, process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                self.kill_worker(process, signal.SIGTERM)
        self.workers.clear()

    def worker_log(self, name: str = "worker") -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- reading the sandbox's database directly (fast, read-only) ------------------------------
    def query(self, sql: str, *params: Any) -> list[sqlite3.Row]:
        connection = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        connection.row_factory = sqlite3.Row
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def job(self, job_id: int) -> dict[str, Any]:
        rows = self.query("SELECT * FROM restoration_restorationjob WHERE id = ?", job_id)
        return dict(rows[0])

    def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 120,
        interval: float = 0.02,
        what: str = "condition",
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except sqlite3.OperationalError:
                pass  # the database is busy or not created yet: try again
            time.sleep(interval)
        raise TimeoutError(f"timed out after {timeout} s waiting for {what}\n{self.worker_log()}")

    def wait_job(
        self, job_id: int, statuses: tuple[str, ...], timeout: float = 180
    ) -> dict[str, Any]:
        self.wait_for(
            lambda: self.job(job_id)["status"] in statuses,
            timeout=timeout,
            what=f"job {job_id} to be {statuses}",
        )
        return self.job(job_id)


# --------------------------------------------------------------------------------------------
# The benchmark


def _seconds(text: str) -> float:
    """A datetime column as Django stores it in SQLite (naive UTC text) -> Unix seconds."""
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(text.replace(" ", "T"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def bench_broker(
    broker: str,
    *,
    jobs: int,
    frames: int,
    size: tuple[int, int],
    progress_interval_ms: int,
    redis_url: str,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-jobs-{broker}-") as folder:
        sandbox = Sandbox(
            Path(folder),
            redis_url=redis_url if broker == "redis" else "",
            env={"RESTORATION_PROGRESS_INTERVAL_MS": str(progress_interval_ms)},
        )
        seeded = sandbox.setup(frames=frames, size=size)
        sandbox.start_worker()
        claim, engine, write_share, writes, write_seconds, restore = [], [], [], [], [], []
        try:
            # A first job warms the worker (imports, first model load); not counted.
            for index in range(jobs + 1):
                job_id = sandbox.django(f"request_job({seeded['capture']}, {seeded['user']}, {{}})")
                job = sandbox.wait_job(job_id, ("succeeded", "failed"), timeout=600)
                if job["status"] != "succeeded":
                    raise RuntimeError(f"bench job failed: {job['error_message']}")
                if index == 0:
                    continue
                timings = json.loads(job["timings"])
                created = _seconds(job["created_at"])
                claim.append(_seconds(job["started_at"]) - created)
                engine.append(timings["engine_start_unix"] - created)
                writes.append(timings["progress_writes"])
                write_seconds.append(timings["progress_write_s"])
                restore.append(timings["restore_s"])
                write_share.append(timings["progress_write_s"] / timings["restore_s"])
        finally:
            sandbox.stop()
    return {
        "broker": broker,
        "jobs": jobs,
        "clip": f"{size[0]}x{size[1]}, {frames} frames, model tiny, CPU",
        "progress_interval_ms": progress_interval_ms,
        "enqueue_to_claim_s": _stats(claim),
        "enqueue_to_engine_s": _stats(engine),
        "restore_s": _stats(restore),
        "progress_writes_per_job": _stats(writes),
        "progress_write_s_per_job": _stats(write_seconds),
        "progress_write_share_of_restore": _stats(write_share),
    }


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 4),
        "min": round(ordered[0], 4),
        "max": round(ordered[-1], 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", choices=("orm", "redis", "both"), default="both")
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--progress-interval-ms", type=int, default=1000)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    args = parser.parse_args(argv)
    width, height = (int(part) for part in args.size.split("x"))
    brokers = ("orm", "redis") if args.broker == "both" else (args.broker,)
    results = [
        bench_broker(
            broker,
            jobs=args.jobs,
            frames=args.frames,
            size=(width, height),
            progress_interval_ms=args.progress_interval_ms,
            redis_url=args.redis_url,
        )
        for broker in brokers
    ]
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
