"""Keep existing clients working: each DRF authtoken becomes a managed, read-write token named
"Token from before managed tokens" (its key hashed; no expiry; revocable on the tokens page)."""

import hashlib

from django.db import migrations
from django.utils import timezone


def copy_legacy_tokens(apps, schema_editor):  # type: ignore[no-untyped-def]
    try:
        Token = apps.get_model("authtoken", "Token")
    except LookupError:
        return
    ApiToken = apps.get_model("api", "ApiToken")
    for legacy in Token.objects.all():
        ApiToken.objects.get_or_create(
            key_hash=hashlib.sha256(legacy.key.encode()).hexdigest(),
            defaults={
                "user_id": legacy.user_id,
                "name": "Token from before managed tokens",
                "scope": "read_write",
                "prefix": legacy.key[:10],
                "created_at": legacy.created or timezone.now(),
            },
        )


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(copy_legacy_tokens, migrations.RunPython.noop)]
