"""Database-level guard: rows of the audit history can be inserted, never updated or deleted.

The model already refuses ``save()`` on an existing row and ``delete()``; the trigger also stops
raw SQL and other programs sharing the database. On SQLite only UPDATE is blocked, because
Django's test flush empties tables with DELETE there (PostgreSQL uses TRUNCATE, which row
triggers do not see).
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION audit_event_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'audit history is append-only: ' || TG_OP || ' refused';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_immutable BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_immutable();
"""
PG_REVERSE = """
DROP TRIGGER IF EXISTS audit_event_immutable ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_immutable();
"""
SQLITE_FORWARD = """
CREATE TRIGGER audit_event_immutable BEFORE UPDATE ON audit_auditevent
BEGIN SELECT RAISE(ABORT, 'audit history is append-only: UPDATE refused'); END;
"""
SQLITE_REVERSE = "DROP TRIGGER IF EXISTS audit_event_immutable;"


def forward(apps, schema_editor):
    sql = {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


def reverse(apps, schema_editor):
    sql = {"postgresql": PG_REVERSE, "sqlite": SQLITE_REVERSE}.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forward, reverse)]
