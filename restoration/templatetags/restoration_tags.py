"""Template tags for the restoration includes other apps' pages embed (tape and capture)."""

from __future__ import annotations

from typing import Any

from django import template

from restoration import selectors
from restoration.models import RestorationJob

register = template.Library()


@register.simple_tag
def tape_restorations(tape: Any) -> dict[str, Any]:
    """Versions of the tape (with review state), its current publication, active job count."""
    versions = list(selectors.version_list(institution=tape.institution, tape_id=tape.pk)[:50])
    return {
        "versions": versions,
        "current": selectors.tape_current_publication(tape_id=tape.pk),
        "active_jobs": RestorationJob.objects.for_institution(tape.institution)
        .active()
        .filter(capture__tape_id=tape.pk)
        .count(),
    }


@register.simple_tag
def capture_jobs(capture: Any) -> list[RestorationJob]:
    return list(selectors.job_list(institution=capture.institution, capture_id=capture.pk)[:20])


@register.simple_tag
def job_progress_text(job: RestorationJob) -> str:
    """The same phrase as the live update (``selectors.job_progress_text``)."""
    return selectors.job_progress_text(job=job)
