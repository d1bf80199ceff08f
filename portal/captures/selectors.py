"""Reads of captures, always scoped to one institution (404 for everybody else's)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

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
