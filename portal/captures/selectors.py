"""Reads of captures, always scoped to one institution (404 for everybody else's)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.models import Institution
from accounts.selectors import get_for_institution
from portal.captures.models import Capture


def capture_list(*, institution: Institution | None, tape: Any = None) -> QuerySet[Capture]:
    captures = Capture.objects.for_institution(institution).select_related("tape", "uploaded_by")
    if tape is not None:
        captures = captures.filter(tape=tape)
    return captures


def capture_get(*, institution: Institution | None, pk: Any) -> Capture:
    """One capture of ``institution`` or Http404."""
    return get_for_institution(
        Capture.objects.select_related("tape", "institution", "uploaded_by"), institution, pk=pk
    )


#: Sort keys of the captures list (``-key`` reverses): the columns a person sorts by.
CAPTURE_SORTS: dict[str, tuple[str, ...]] = {
    "file": ("original_filename", "pk"),
    "tape": ("tape__identifier", "pk"),
    "duration": ("duration_s", "pk"),
    "size": ("size_bytes", "pk"),
    "uploaded": ("created_at", "pk"),
}


def capture_search(
    *,
    institution: Institution | None,
    search: str = "",
    collection_id: int | None = None,
    proxy_status: str = "",
    restored: bool | None = None,
    uploaded_by_id: int | None = None,
    sort: str = "-uploaded",
) -> QuerySet[Capture]:
    """Captures of ``institution`` for the captures list and its CSV export: searched (file
    name, tape identifier or title), filtered and sorted; each row knows ``version_count``
    (restored versions made from it) without extra queries."""
    captures = capture_list(institution=institution).select_related("tape__collection")
    # Reached through the reverse relation so captures never import the restoration app.
    versions = Count("restored_versions", distinct=True)
    captures = captures.annotate(version_count=versions)
    search = search.strip()
    if search:
        captures = captures.filter(
            Q(original_filename__icontains=search)
            | Q(tape__identifier__icontains=search)
            | Q(tape__title__icontains=search)
        )
    if collection_id is not None:
        captures = captures.filter(tape__collection_id=collection_id)
    if proxy_status:
        captures = captures.filter(proxy_status=proxy_status)
    if restored is not None:
        captures = (
            captures.filter(version_count__gt=0) if restored else captures.filter(version_count=0)
        )
    if uploaded_by_id is not None:
        captures = captures.filter(uploaded_by_id=uploaded_by_id)
    descending = sort.startswith("-")
    fields = CAPTURE_SORTS.get(sort.lstrip("-"), CAPTURE_SORTS["uploaded"])
    if sort.lstrip("-") not in CAPTURE_SORTS:
        descending = True
    return captures.order_by(*(f"-{f}" if descending else f for f in fields))
