"""``manage.py grant_app_role ROLE``: give the application's PostgreSQL role what it needs and
no more (see portal.audit.dbrole). Run as the tables' owner after every ``migrate``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from portal.audit.dbrole import app_role_sql


class Command(BaseCommand):
    help = "Grant the application's PostgreSQL role its privileges (run as the owner)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role")
        parser.add_argument("--print", action="store_true", help="print the SQL, run nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Database roles apply to PostgreSQL only.")
        statements = app_role_sql(options["role"], quote=connection.ops.quote_name)
        if options["print"]:
            self.stdout.write(";\n".join(statements) + ";")
            return
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(f"Granted {options['role']} the application's privileges.")
