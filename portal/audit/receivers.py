"""Events other apps announce instead of importing the audit app (see ``portal.events``)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from portal.audit.services import audit_record
from portal.events import audit_requested


@receiver(audit_requested, dispatch_uid="portal.audit.audit_requested")
def record_requested_event(sender: Any, signal: Any, **event: Any) -> None:
    audit_record(**event)
