"""The database cache table (login lockouts, API rate counters) when Redis is not configured.

``createcachetable`` is idempotent and skips non-database caches, so this is a no-op with Redis.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_invitations_default_institution")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
