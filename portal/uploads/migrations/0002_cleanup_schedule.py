"""The cleanup of abandoned partial uploads: a django-q2 schedule on the default queue, hourly."""

from django.db import migrations

SCHEDULE_NAME = "uploads: delete abandoned partial uploads"


def create_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "portal.uploads.tasks.expire_uploads",
            "schedule_type": "H",  # Schedule.HOURLY
            "repeats": -1,
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("uploads", "0001_initial"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
