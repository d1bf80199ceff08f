"""Job events for webhooks: a job reaching a final state emits ``job.succeeded``,
``job.failed`` or ``job.cancelled`` through ``portal.webhooks`` (several endpoints per
institution, event selection, Standard Webhooks signatures; see portal/webhooks/).

The per-institution webhook of earlier versions was copied, with its delivery history, into
``portal.webhooks`` (webhooks migrations 0002 and 0003); restoration 0004 dropped its tables.
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
