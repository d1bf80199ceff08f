"""Each restoration webhook of earlier versions becomes an endpoint for the job events (its
secret's bytes become the Standard Webhooks key: ``whsec_`` + base64)."""

import base64

from django.db import migrations


def copy_endpoints(apps, schema_editor):  # type: ignore[no-untyped-def]
    Old = apps.get_model("restoration", "WebhookEndpoint")
    New = apps.get_model("webhooks", "Endpoint")
    for old in Old.objects.all():
        New.objects.create(
            institution_id=old.institution_id,
            url=old.url,
            description="Restoration webhook (before endpoints could be managed)",
            secret="whsec_" + base64.b64encode(old.secret.encode()).decode(),
            event_types=["job.cancelled", "job.failed", "job.succeeded"],
            is_active=old.is_active,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("restoration", "0001_initial"),
    ]

    operations = [migrations.RunPython(copy_endpoints, migrations.RunPython.noop)]
