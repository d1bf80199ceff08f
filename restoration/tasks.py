"""django-q2 task adapters of the restoration app: take ids, call a service.

``run_restoration_job`` runs on the restoration queue (``settings.RESTORATION_QUEUE``, served by
``Q_CLUSTER_NAME=restoration manage.py qcluster`` on worker machines); the others run on the
default queue of the web machine.
"""

from __future__ import annotations


def run_restoration_job(job_id: int | None) -> int | None:
    """Claim job ``job_id`` (or the oldest queued job when it is taken) and run it."""
    from restoration.shutdown import task_running
    from restoration.worker import job_run, wake_if_stranded_after_run

    with task_running():
        try:
            return job_run(job_id=job_id)
        finally:
            wake_if_stranded_after_run()


def reap_stale_jobs() -> list[int]:
    """Periodic (django-q2 schedule "restoration: reap stale jobs", every minute)."""
    from restoration.worker import jobs_reap_stale

    return jobs_reap_stale()


def make_review_thumbnails(version_id: int, extra: list[int] | None = None) -> int:
    """Make the review page's frame thumbnails of a version (queued when it is created)."""
    from restoration.shutdown import task_running
    from restoration.thumbnails import version_thumbnails_build

    with task_running():
        return version_thumbnails_build(version_id=version_id, extra=extra)
