"""Reads of the audit history."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from accounts.models import Institution
from portal.audit.models import AuditEvent


def tape_history(*, institution: Institution, tape_id: int) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.for_institution(institution).for_tape(tape_id)


def institution_history(
    *,
    institution: Institution,
    action: str = "",
    actor_id: int | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.for_institution(institution)
    if action:
        # "tape" matches every tape.* action; "tape.updated" matches exactly.
        events = (
            events.filter(action=action)
            if "." in action
            else events.filter(action__startswith=f"{action}.")
        )
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if date_from is not None:
        events = events.filter(created_at__date__gte=date_from)
    if date_to is not None:
        events = events.filter(created_at__date__lte=date_to)
    return events


def action_choices(*, institution: Institution) -> list[str]:
    return list(
        AuditEvent.objects.for_institution(institution)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
