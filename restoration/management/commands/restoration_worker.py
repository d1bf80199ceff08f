"""``manage.py restoration_worker``: a django-q2 cluster serving the restoration queue that
stops within seconds of SIGTERM/SIGINT, leaving its running job failed-and-retryable with its
partial outputs removed (see ``restoration.shutdown``). Use it instead of
``Q_CLUSTER_NAME=restoration manage.py qcluster`` on worker machines."""

from __future__ import annotations

import os
import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from restoration.shutdown import STOP_SIGNAL, forward_stop_to_workers


class Command(BaseCommand):
    help = "Run a restoration worker (django-q2 cluster) that stops promptly on SIGTERM."

    def handle(self, *args: Any, **options: Any) -> None:
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
