"""``manage.py verify_audit_chain [--institution SLUG]``: check every institution's audit hash
chain; print the head (keep it elsewhere) or the first broken link. Exit status 1 if broken."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Institution
from portal.audit.chain import chain_verify


class Command(BaseCommand):
    help = "Verify the tamper-evident audit history (hash chain per institution)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--institution", help="slug of one institution (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        institutions = Institution.objects.order_by("slug")
        if options["institution"]:
            institutions = institutions.filter(slug=options["institution"])
            if not institutions.exists():
                raise CommandError(f"No institution with slug {options['institution']!r}.")
        broken = 0
        for institution in institutions:
            report = chain_verify(institution_id=institution.pk)
            if report.ok:
                self.stdout.write(
                    f"{institution.slug}: OK, {report.events} events, head {report.head}"
                )
            else:
                broken += 1
                self.stdout.write(
                    f"{institution.slug}: BROKEN at event #{report.broken_sequence} "
                    f"(row id {report.broken_event_id}): {report.reason}"
                )
        if broken:
            raise CommandError(f"{broken} institution(s) with a broken audit chain.", returncode=1)
