from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.captures.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo institution, users, collection, tapes and capture (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-capture", action="store_true", help="Skip making the demo capture."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        summary = seed_demo(with_capture=not options["no_capture"])
        out = self.stdout
        out.write(self.style.SUCCESS(f"Demo institution: {summary.institution.name}"))
        out.write("Demo users (log in at /accounts/login/):")
        for username, role, password, created in summary.users:
            note = "" if created else "  (existing user: password as set before)"
            out.write(f"  {role:<10} {username:<10} password: {password}{note}")
        out.write(f"Tapes created this run: {summary.created_tapes}")
        if summary.capture is not None:
            out.write(f"Demo capture: {summary.capture} (tape {summary.capture.tape.identifier})")
