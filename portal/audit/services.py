"""Writing the audit history. Every service of every app records through ``audit_record``."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from accounts.models import Institution
from portal.audit.chain import chain_link
from portal.audit.models import AuditEvent


def _now() -> dt.datetime:
    return timezone.now()


def json_value(value: Any) -> Any:
    """A JSON-safe rendering of a model field value, readable in the history table."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, dt.timedelta):
        total = int(value.total_seconds())
        return f"{total // 3600:d}:{total % 3600 // 60:02d}:{total % 60:02d}"
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(v) for v in value]
    return str(value)


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """Field values of ``instance`` as JSON-safe values (foreign keys by their label)."""
    result: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        if isinstance(field, models.ForeignKey):
            value = getattr(instance, name) if getattr(instance, field.attname) else None
        else:
            value = getattr(instance, name)
        result[name] = json_value(value)
    return result


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for every field whose value differs."""
    keys = list(old) + [key for key in new if key not in old]
    return {key: [old.get(key), new.get(key)] for key in keys if old.get(key) != new.get(key)}


def audit_record(
    *,
    actor: Any,
    institution: Institution,
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
    return event
