"""``manage.py reap_stale_jobs``: fail running jobs whose worker stopped sending heartbeats.

Also runs every minute as a django-q2 schedule on the default queue (created by migration
0002). ``--stale-after`` overrides RESTORATION_STALE_AFTER (seconds) for this run.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from restoration.worker import jobs_reap_stale


class Command(BaseCommand):
    help = "Mark restoration jobs whose worker died as failed and delete their partial outputs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stale-after",
            type=float,
            default=None,
            help="Seconds without a heartbeat after which a running job is failed "
            "(default: settings.RESTORATION_STALE_AFTER).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        reaped = jobs_reap_stale(stale_after=options["stale_after"])
        if reaped:
            self.stdout.write(f"Failed {len(reaped)} stale job(s): {', '.join(map(str, reaped))}")
        else:
            self.stdout.write("No stale jobs.")
