"""Writing the audit history. Every service of every app records through ``audit_record``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from portal.audit.chain import chain_link
from portal.audit.models import AuditEvent
from portal.cache import institution_changed
from portal.db import json_value


def _now() -> dt.datetime:
    return timezone.now()


def audit_record(
    *,
    actor: Any,
    institution: models.Model,
    action: str,
    target: models.Model | None,
    changes: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
    tape: models.Model | None = None,
    target_label: str | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the transaction of the change it describes.

    ``actor`` is a user or None (system: a worker, a management command). ``target`` is the
    changed object (its type, id and current label are stored); ``tape`` puts the event on that
    tape's timeline.
    """
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    event = AuditEvent(
        institution=institution,
        actor=actor if authenticated else None,
        actor_label=actor.get_username() if authenticated else "system",
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None and target.pk is not None else "",
        target_label=(target_label if target_label is not None else str(target or ""))[:300],
        tape_id=tape.pk if tape is not None else None,
        changes=json_value(dict(changes or {})),
        details=json_value(dict(details or {})),
        created_at=_now(),
    )
    with transaction.atomic():  # usually the caller's transaction: the event commits with it
        chain_link(event)
        event.save()
    # Every change worth recording may show on the institution's cached pages (portal.cache).
    institution_changed(event.institution_id)
    return event
