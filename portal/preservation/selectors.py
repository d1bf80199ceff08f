"""Reads of the preservation app: storage usage, fixity state, packages (institution-scoped)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Count, Sum

from accounts.models import Institution
from portal.captures.models import Capture
from portal.preservation.models import FixityRecord, PreservationPackage


@dataclass
class Usage:
    """Bytes stored, by kind of file. Posters and review thumbnails (a few KB each) are left
    out; packages are counted apart (they are copies made on request)."""

    label: str
    captures: int = 0
    originals: int = 0
    proxies: int = 0
    masters: int = 0
    access_copies: int = 0

    @property
    def total(self) -> int:
        return self.originals + self.proxies + self.masters + self.access_copies

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


def storage_usage(*, institution: Institution | None) -> tuple[Usage, list[Usage]]:
    """(the institution's total, one row per collection plus "No collection" when needed)."""
    from restoration.models import RestoredVersion

    rows: dict[Any, Usage] = {}

    def row(collection_id: Any, name: str | None) -> Usage:
        key = collection_id
        if key not in rows:
            rows[key] = Usage(label=name or "No collection")
        return rows[key]

    captures = (
        Capture.objects.for_institution(institution)
        .values("tape__collection_id", "tape__collection__name")
        .annotate(n=Count("id"), originals=Sum("size_bytes"), proxies=Sum("proxy_size_bytes"))
    )
    for item in captures:
        usage = row(item["tape__collection_id"], item["tape__collection__name"])
        usage.captures += item["n"]
        usage.originals += item["originals"] or 0
        usage.proxies += item["proxies"] or 0
    versions = (
        RestoredVersion.objects.for_institution(institution)
        .values("tape__collection_id", "tape__collection__name")
        .annotate(masters=Sum("master_size"), access=Sum("access_size"))
    )
    for item in versions:
        usage = row(item["tape__collection_id"], item["tape__collection__name"])
        usage.masters += item["masters"] or 0
        usage.access_copies += item["access"] or 0
    total = Usage(label=str(institution) if institution else "")
    for usage in rows.values():
        for name in ("captures", "originals", "proxies", "masters", "access_copies"):
            setattr(total, name, getattr(total, name) + getattr(usage, name))
    return total, sorted(rows.values(), key=lambda u: (u.label == "No collection", u.label))


def fixity_failures(*, institution: Institution | None) -> Any:
    return (
        FixityRecord.objects.for_institution(institution)
        .failing()
        .select_related("tape", "capture", "version")
        .order_by("-last_checked_at")
    )


def fixity_summary(*, institution: Institution | None) -> dict[str, Any]:
    records = FixityRecord.objects.for_institution(institution)
    return {
        "files": records.count(),
        "checked": records.filter(last_checked_at__isnull=False).count(),
        "failing": records.failing().count(),
        "oldest_check": records.exclude(last_checked_at=None)
        .order_by("last_checked_at")
        .values_list("last_checked_at", flat=True)
        .first(),
    }


def packages(*, institution: Institution | None) -> Any:
    return PreservationPackage.objects.for_institution(institution).select_related("tape")
