"""How a running job reports: the progress writer (the engine's progress callback and cancel
hook), the heartbeat thread, and the name of the worker host.

Used by ``restoration.worker`` (which runs a job) and ``restoration.pipeline`` (which drives the
engine); neither imports the other for these.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from restoration.models import JobStatus, RestorationJob
from restoration.shutdown import stop_requested

logger = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return timezone.now()


def worker_host() -> str:
    return settings.RESTORATION_WORKER_NAME or socket.gethostname()


class ProgressWriter:
    """The engine's progress callback and cancel hook, writing to the job row at most once per
    ``interval`` seconds.

    One guarded UPDATE (``status=running, cancel_requested=False``) both stores progress and
    notices a cancel request or a reaped job: when it matches no row, the next ``cancelled()``
    answers True and the engine stops at its next window.
    """

    def __init__(
        self,
        job_id: int,
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.job_id = job_id
        self.interval = interval
        self._clock = clock
        self._last_write = -float("inf")
        self._last_check = -float("inf")
        self._stop = False
        self.stage = ""
        self.writes = 0
        self.write_seconds = 0.0

    def _timed(self, func: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        try:
            return func()
        finally:
            self.write_seconds += time.perf_counter() - started
            self.writes += 1

    def set_stage(self, stage: str, *, total: int | None = None) -> None:
        self.stage = stage
        fields: dict[str, Any] = {"stage": stage, "heartbeat_at": _now(), "eta_seconds": None}
        if total is not None:  # a stage that counts frames starts from zero
            fields.update(frames_total=total, frames_done=0)
        self._write(fields)

    def set_device(self, device: str) -> None:
        self._write({"device": device[:32], "heartbeat_at": _now()})

    def _write(self, fields: dict[str, Any]) -> None:
        now = self._clock()
        self._last_write = self._last_check = now
        updated = self._timed(
            lambda: RestorationJob.objects.filter(
                pk=self.job_id, status=JobStatus.RUNNING, cancel_requested=False
            ).update(**fields)
        )
        if not updated:
            self._stop = True

    def __call__(self, done: int, total: int, eta: float | None = None) -> None:
        if self._clock() - self._last_write < self.interval and done < total:
            return
        self._write(
            {
                "frames_done": done,
                "frames_total": total,
                "eta_seconds": eta,
                "heartbeat_at": _now(),
                "stage": self.stage,
            }
        )

    def cancelled(self) -> bool:
        if self._stop or stop_requested():  # a person cancelled, or the worker is stopping
            return True
        if self._clock() - self._last_check >= self.interval:
            self._last_check = self._clock()
            still_running = self._timed(
                lambda: RestorationJob.objects.filter(
                    pk=self.job_id, status=JobStatus.RUNNING, cancel_requested=False
                ).exists()
            )
            self._stop = not still_running
        return self._stop


class Heartbeat(threading.Thread):
    """Keeps ``heartbeat_at`` fresh every ``interval`` seconds while a job runs, whatever the
    engine is doing (a long decode between progress callbacks, loading weights...). So a stale
    heartbeat means the worker process is gone, not that it is busy."""

    def __init__(self, job_id: int, *, interval: float) -> None:
        super().__init__(name=f"heartbeat-job-{job_id}", daemon=True)
        self.job_id = job_id
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:

        try:
            while not self._stop_event.wait(self.interval):
                try:
                    RestorationJob.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                        heartbeat_at=_now()
                    )
                except Exception:  # a busy database must not kill the job: next beat retries
                    logger.warning("heartbeat of job %s failed", self.job_id, exc_info=True)
                    connection.close()  # a lost connection is reopened by the next beat
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
