"""Job events for webhooks: a job reaching a final state emits ``job.succeeded``,
``job.failed`` or ``job.cancelled`` through ``portal.webhooks`` (several endpoints per
institution, event selection, Standard Webhooks signatures; see portal/webhooks/).

The per-institution endpoint of earlier versions (``restoration.WebhookEndpoint``) was copied
into ``portal.webhooks.Endpoint`` by a migration and is no longer called.
"""

from __future__ import annotations

from restoration.models import FINAL_STATUSES, RestorationJob, RestoredVersion


def webhook_notify(*, job: RestorationJob) -> None:
    """Emit the job's final state (after the current transaction commits)."""
    if job.status not in FINAL_STATUSES:
        return
    from portal.webhooks import events

    version = RestoredVersion.objects.filter(job_id=job.pk).first()
    events.job_finished(job=job, version=version)
