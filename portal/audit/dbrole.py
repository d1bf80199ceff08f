"""The PostgreSQL role the application connects as: it reads and writes the
archive's tables but cannot rewrite history.

Migrations run as the tables' owner (``DATABASE_URL`` of the owner for ``manage.py migrate``);
the web and worker processes connect as this role. Only an owner or superuser can TRUNCATE a
table it was not granted TRUNCATE on, ALTER a table, DISABLE a trigger or set
``session_replication_role``; this role is neither, and on the audit table it may only SELECT
and INSERT. README, "PostgreSQL: the application's role", gives the whole procedure.
"""

from __future__ import annotations

from typing import Any

AUDIT_TABLE = "audit_auditevent"


def app_role_sql(role: str, *, quote: Any, schema: str = "public") -> list[str]:
    """GRANT/REVOKE statements (run as the owner after each migrate) for ``role``."""
    who, where = quote(role), quote(schema)
    return [
        f"GRANT USAGE ON SCHEMA {where} TO {who}",
        f"REVOKE CREATE ON SCHEMA {where} FROM {who}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {where} TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {where} TO {who}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES ON {quote(AUDIT_TABLE)} FROM {who}",
    ]
