"""Drop the per-institution restoration webhook of earlier versions: its endpoints (webhooks
0002) and delivery attempts (webhooks 0003) now live in portal.webhooks, which sends every
event; nothing reads these tables any more."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("restoration", "0003_frame_comments"),
        ("webhooks", "0003_copy_restoration_deliveries"),
    ]

    operations = [
        migrations.RemoveField(model_name="webhookendpoint", name="institution"),
        migrations.DeleteModel(name="WebhookDelivery"),
        migrations.DeleteModel(name="WebhookEndpoint"),
    ]
