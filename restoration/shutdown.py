"""Stopping a restoration worker within seconds, leaving its job in a clear state.

django-q2 stops a cluster by letting each worker finish its current task, which for a
restoration can take hours; and SIGTERM reaches only the cluster's main process (``docker
stop``, Kubernetes, ``kill <pid>``). So ``manage.py restoration_worker`` forwards a stop request
(SIGUSR1) to its worker processes first. A worker that gets it (or a SIGTERM of its own, as
systemd sends to the whole control group) sets a flag that the engine's cancel hook reads at its
next window: the running job is failed with "the worker was stopped, retry", its partial
outputs are removed, and no further job is claimed by this process.

Only worker processes install the handler (django-q2's ``post_spawn``); the command makes every
other process of the cluster ignore SIGUSR1 before they are started.

A worker whose cluster is gone exits too. A SIGTERM to the whole process group (systemd's
default ``KillMode=control-group``, ``kill -- -<pgid>``) kills django-q2's sentinel at once
(it keeps SIGTERM's default action), so it never sends its workers the "STOP" they wait for;
a sentinel killed by the OOM killer does the same. Each worker therefore watches its parent:
once the parent has changed, it stops its running job as above, waits for that task to end,
stops its kept window workers and exits, instead of waiting for a task forever.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

STOP_SIGNAL = signal.SIGUSR1
_requested = threading.Event()
_reason = ["stop requested"]
_task = threading.RLock()  # held while a worker process runs a task (see ``task_running``)
WATCH_INTERVAL = 0.5  # seconds between a worker's checks that its cluster is still there


def request_stop(reason: str) -> None:
    _reason[0] = reason
    _requested.set()


def stop_requested() -> bool:
    return _requested.is_set()


def stop_reason() -> str:
    return _reason[0]


def _on_signal(signum: int, frame: Any) -> None:
    name = signal.Signals(signum).name
    request_stop(f"the worker process received {name} (a shutdown or deployment)")
    logger.warning("restoration worker %s: %s; stopping the running job", os.getpid(), name)


def in_restoration_cluster() -> bool:
    """Whether this process belongs to a restoration cluster (``manage.py restoration_worker``
    or ``Q_CLUSTER_NAME=<RESTORATION_QUEUE> manage.py qcluster``), not a web process, a shell,
    a test run or the default queue's cluster."""
    from django.conf import settings

    return os.environ.get("Q_CLUSTER_NAME") == settings.RESTORATION_QUEUE


@contextmanager
def task_running() -> Iterator[None]:
    """Marks a task in progress in this process: a worker whose cluster is gone waits for it to
    end (failed as stopped, its outputs removed) before it exits."""
    with _task:
        yield


def _exit_when_orphaned(parent: int) -> None:
    """Watch thread of a worker process: exit once the process that started it is gone."""
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL)
    if not stop_requested():  # a SIGTERM's reason, when one came first, stays
        request_stop("the worker's cluster stopped (a shutdown of the whole service, or a crash)")
    logger.warning(
        "restoration worker %s: its cluster process %s is gone; stopping the running job "
        "and exiting",
        os.getpid(),
        parent,
    )
    with _task:  # the running job, if any, fails as stopped at its next window
        from restoration.engine.execution import discard_kept_workers

        try:
            discard_kept_workers()
        finally:
            logging.shutdown()
            os._exit(0)


def on_worker_spawn(sender: Any = None, proc_name: str = "", **_: Any) -> None:
    """django-q2 ``post_spawn`` receiver: runs in each new worker process's main thread."""
    if not in_restoration_cluster():
        return  # the default queue's short tasks finish normally
    _requested.clear()
    signal.signal(STOP_SIGNAL, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    threading.Thread(
        target=_exit_when_orphaned,
        args=(os.getppid(),),
        name="restoration-cluster-watch",
        daemon=True,
    ).start()


def _stat_fields(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after "pid (comm)" (comm may hold spaces and parentheses):
    state, ppid, ...; None when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def is_running(pid: int) -> bool:
    """Whether ``pid`` runs: not gone, and not a zombie (which only waits to be reaped)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (Linux /proc), children before grandchildren."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat_fields(entry.name) if entry.name.isdigit() else None
        if fields is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    queue = [pid]
    while queue:
        children = parents.get(queue.pop(0), [])
        found += children
        queue += children
    return found


def forward_stop_to_workers() -> int:
    """Send STOP_SIGNAL to every process below this one; returns how many were signalled."""
    sent = 0
    for child in descendants(os.getpid()):
        try:
            os.kill(child, STOP_SIGNAL)
            sent += 1
        except ProcessLookupError:
            pass
    return sent
