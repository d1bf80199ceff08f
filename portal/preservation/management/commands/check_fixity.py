"""Re-check stored files now: `manage.py check_fixity [--all] [--record ID ...]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.preservation.fixity import fixity_run


class Command(BaseCommand):
    help = (
        "Re-read stored originals and masters and compare their SHA-256 with the recorded one "
        "(oldest-checked first). Failures are audited and e-mailed to the managers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="check every file, due or not")
        parser.add_argument("--record", type=int, action="append", help="check these records")
        parser.add_argument("--max-bytes", type=int, default=None, help="stop after this much")
        parser.add_argument("--rate", type=int, default=0, help="bytes/s (0 = unlimited)")

    def handle(self, *args: Any, **options: Any) -> None:
        run = fixity_run(
            max_bytes=options["max_bytes"] if options["max_bytes"] is not None else 2**62,
            recheck_days=-1 if options["all"] else None,
            read_rate=options["rate"],
            only=options["record"],
        )
        self.stdout.write(
            f"checked {run.checked} file(s), {run.bytes_read} bytes; failed: {run.failed}"
            + (f" (records {', '.join(map(str, run.failures))})" if run.failures else "")
        )
        if run.failed:
            self.stderr.write(self.style.ERROR("FIXITY FAILURES: see the Storage page."))
