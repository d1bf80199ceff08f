"""``manage.py restoration_worker``: a django-q2 cluster serving the restoration queue that
stops within seconds of SIGTERM/SIGINT, leaving its running job failed-and-retryable with its
partial outputs removed (see ``restoration.shutdown``). Use it instead of
``Q_CLUSTER_NAME=restoration manage.py qcluster`` on worker machines.

It also exits when a SIGTERM reaches the whole process group (systemd's default
``KillMode=control-group``). That signal kills django-q2's sentinel at once, and django-q2's
own stop then waits forever: it wakes the sentinel through a shared event whose wake-up the
dead sentinel never acknowledges. The command stops the cluster in a helper thread, and if the
sentinel dies without stopping it, waits (bounded) for the cluster's other processes to exit
on their own (``restoration.shutdown``: workers whose cluster is gone stop their job and
exit) and then exits itself."""

from __future__ import annotations

import logging
import os
import platform
import signal
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from restoration.shutdown import STOP_SIGNAL, descendants, forward_stop_to_workers, is_running

logger = logging.getLogger(__name__)

#: glibc malloc arenas of a restoration worker. A job moves full frames through several threads
#: (reader, writer, the window pool's feeder); with glibc's default of 8 arenas per core each
#: thread keeps what it freed, and a worker grew by 110-250 MB per SD job long after its first
#: one; with 2 arenas, by about 30 MB (restoring 20 SD frames four times in one process).
MALLOC_ARENAS = "2"
#: How long the command waits for the processes of a cluster whose sentinel died to exit on
#: their own (a worker stops its job within seconds) before it exits anyway.
ORPHANS_GRACE = 30.0


def stop_cluster(cluster: Any, signum: int, frame: Any) -> None:
    """Stop ``cluster`` as django-q2 does, without hanging when its sentinel is already dead."""
    processes = descendants(os.getpid())  # before the workers lose their parent
    forward_stop_to_workers()
    stopper = threading.Thread(
        target=cluster.sig_handler, args=(signum, frame), name="cluster-stop", daemon=True
    )
    stopper.start()
    sentinel = cluster.sentinel.pid if cluster.sentinel is not None else None
    while stopper.is_alive():
        stopper.join(0.2)
        # /proc, not ``Process.is_alive()``: this handler may run inside multiprocessing's
        # exit-time join of the sentinel, right after that join's waitpid reaped it and before
        # it recorded the exit code; ``is_alive()`` then reports the sentinel alive forever.
        if sentinel is not None and not is_running(sentinel):
            stopper.join(2.0)  # a normal stop returns right after the sentinel exits
            break
    hung = stopper.is_alive()
    if hung:
        logger.warning(
            "restoration worker: the cluster's sentinel %s died before stopping its workers "
            "(a signal to the whole process group?); waiting up to %.0f s for them to exit",
            sentinel,
            ORPHANS_GRACE,
        )
    # After a normal stop nothing is left; after a dead sentinel, its workers exit on their own.
    deadline = time.monotonic() + ORPHANS_GRACE
    while time.monotonic() < deadline and any(is_running(pid) for pid in processes):
        time.sleep(0.2)
    left = [pid for pid in processes if is_running(pid)]
    if left:
        logger.error("restoration worker: processes %s of the cluster did not exit", left)
    if hung:  # django-q2's stop thread waits forever: exit without joining it
        logging.shutdown()
        os._exit(1 if left else 0)


def _restart_with_malloc_arenas() -> None:
    """Run this command again with ``MALLOC_ARENA_MAX`` set (glibc reads it only when a process
    starts); the process keeps its id, so service managers and signals are unaffected. An
    explicit setting in the environment is kept."""
    if platform.system() != "Linux" or "MALLOC_ARENA_MAX" in os.environ:
        return
    os.environ["MALLOC_ARENA_MAX"] = MALLOC_ARENAS
    os.execv(sys.executable, sys.orig_argv)  # the same interpreter options and arguments


class Command(BaseCommand):
    help = "Run a restoration worker (django-q2 cluster) that stops promptly on SIGTERM."

    def handle(self, *args: Any, **options: Any) -> None:
        _restart_with_malloc_arenas()
        os.environ["Q_CLUSTER_NAME"] = settings.RESTORATION_QUEUE
        from django_q.cluster import Cluster

        # Inherited by the sentinel, monitor and pusher, which must not die of the stop
        # request; worker processes install their handler when spawned.
        signal.signal(STOP_SIGNAL, signal.SIG_IGN)
        cluster = Cluster()
        stopping = threading.Event()

        def stop(signum: int, frame: Any) -> None:
            if stopping.is_set():  # a second Ctrl-C or SIGTERM: the stop is under way
                forward_stop_to_workers()
                return
            stopping.set()
            stop_cluster(cluster, signum, frame)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        cluster.start()
