"""The delivery attempts of the restoration webhooks of earlier versions join the endpoints
that 0002 made of those webhooks, so their history stays readable after restoration's old
tables are dropped (restoration 0004)."""

from django.db import migrations

#: The description 0002 gave each endpoint it copied (how an old webhook finds its new one).
COPIED_DESCRIPTION = "Restoration webhook (before endpoints could be managed)"


def copy_deliveries(apps, schema_editor):  # type: ignore[no-untyped-def]
    OldEndpoint = apps.get_model("restoration", "WebhookEndpoint")
    Endpoint = apps.get_model("webhooks", "Endpoint")
    Delivery = apps.get_model("webhooks", "Delivery")
    for old in OldEndpoint.objects.all():
        new = (
            Endpoint.objects.filter(
                institution_id=old.institution_id, url=old.url, description=COPIED_DESCRIPTION
            )
            .order_by("pk")
            .first()
        )
        if new is None:  # the copied endpoint was deleted since: its history went with it
            continue
        Delivery.objects.bulk_create(
            Delivery(
                endpoint=new,
                message_id=f"legacy_job_{attempt.job_id}"[:40],
                event_type=attempt.event[:40],
                attempt=attempt.attempt,
                status_code=attempt.status_code,
                error=attempt.error,
                delivered=attempt.delivered,
                created_at=attempt.created_at,
            )
            for attempt in old.deliveries.all().iterator()
        )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_copy_restoration_webhooks"),
        ("restoration", "0003_frame_comments"),
    ]

    operations = [migrations.RunPython(copy_deliveries, migrations.RunPython.noop)]
