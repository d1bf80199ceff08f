"""What the home page shows each member, by role: their running jobs, versions awaiting their
review, recent publications, failed jobs needing a decision and recent uploads. Each section is
a count (linking to the filtered list) and its first few rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from accounts.models import Institution, Membership, Role
from accounts.permissions import role_at_least
from portal.captures.models import Capture
from restoration import selectors as restoration_selectors
from restoration.models import ACTIVE_STATUSES, Publication

ROWS = 5


@dataclass
class Section:
    key: str
    title: str
    count: int
    url: str
    rows: list[Any] = field(default_factory=list)
    empty: str = ""


def home_sections(*, institution: Institution, membership: Membership, user: Any) -> list[Section]:
    jobs_url = reverse("restoration:job_list")
    mine = restoration_selectors.job_list(institution=institution, requested_by_id=user.pk).filter(
        status__in=ACTIVE_STATUSES
    )
    sections = [
        Section(
            "my-jobs",
            "My running jobs",
            mine.count(),
            f"{jobs_url}?mine=1",
            list(mine[:ROWS]),
            "None of your jobs is queued or running.",
        )
    ]
    if role_at_least(membership, Role.REVIEWER):
        awaiting = restoration_selectors.versions_awaiting_review(
            institution=institution, user=user
        )
        sections.append(
            Section(
                "awaiting-review",
                "Awaiting my review",
                awaiting.count(),
                f"{reverse('restoration:review_list')}?state=mine",
                list(awaiting[:ROWS]),
                "Nothing waits for your decision.",
            )
        )
    failed = restoration_selectors.jobs_needing_decision(institution=institution)
    sections.append(
        Section(
            "needs-decision",
            "Failed jobs needing a decision",
            failed.count(),
            f"{jobs_url}?undecided=1",
            list(failed[:ROWS]),
            "No failed job is waiting for a retry or a decision.",
        )
    )
    published = restoration_selectors.recent_publications(institution=institution, limit=ROWS)
    sections.append(
        Section(
            "published",
            "Recently published",
            Publication.objects.for_institution(institution).current().count(),
            f"{reverse('catalog:tape_list')}?published=yes",
            published,
            "Nothing is published yet.",
        )
    )
    uploads = (
        Capture.objects.for_institution(institution)
        .select_related("tape", "uploaded_by")
        .order_by("-created_at", "-pk")
    )
    sections.append(
        Section(
            "uploads",
            "Recent uploads",
            uploads.count(),
            reverse("captures:list"),
            list(uploads[:ROWS]),
            "No capture uploaded yet.",
        )
    )
    return sections
