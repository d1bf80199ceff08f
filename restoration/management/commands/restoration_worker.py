"""``manage.py restoration_worker``: a django-q2 cluster serving the restoration queue that
stops within seconds of SIGTERM/SIGINT, leaving its running job failed-and-retryable with its
partial outputs removed (see ``restoration.shutdown``). Use it instead of
``Q_CLUSTER_NAME=restoration manage.py qcluster`` on worker machines."""

from __future__ import annotations

import os
import platform
import signal
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from restoration.shutdown import STOP_SIGNAL, forward_stop_to_workers

#: glibc malloc arenas of a restoration worker. A job moves full frames through several threads
#: (reader, writer, the window pool's feeder); with glibc's default of 8 arenas per core each
#: thread keeps what it freed, and a worker grew by 110-250 MB per SD job long after its first
#: one; with 2 arenas, by about 30 MB (restoring 20 SD frames four times in one process).
MALLOC_ARENAS = "2"


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

        def stop(signum: int, frame: Any) -> None:
            forward_stop_to_workers()
            cluster.sig_handler(signum, frame)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        cluster.start()
