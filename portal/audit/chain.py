"""Tamper-evident audit history: a hash chain per institution.

Each event carries its institution's next ``sequence`` number, the ``prev_hash`` of the event
before it and its own ``hash``: HMAC-SHA256 (key ``AUDIT_CHAIN_KEY``, by default derived from
``SECRET_KEY``) over the event's content and ``prev_hash``. Appending happens in the
transaction of the event, under a per-institution lock (PostgreSQL advisory lock; SQLite
serialises writers itself), so two concurrent events never share a predecessor.

``chain_verify`` walks an institution's events in order and reports the first broken link:
an UPDATE changes a hash, a DELETE leaves a gap in the sequence, an INSERT (without the key)
cannot produce a matching hash. Removing the newest events leaves a shorter valid chain: keep
the head that ``manage.py verify_audit_chain`` prints somewhere else to notice that too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction

GENESIS = "0" * 64
_LOCK_NAMESPACE = 0x41554454  # "AUDT": advisory lock namespace of the audit chain


def _key() -> bytes:
    configured = getattr(settings, "AUDIT_CHAIN_KEY", "")
    if configured:
        return configured.encode()
    return hashlib.sha256(b"audit-chain:" + settings.SECRET_KEY.encode()).digest()


def canonical(event: Any) -> bytes:
    """The event's content, as bytes that every database returns identically."""
    created_at = event.created_at
    content = {
        "institution": event.institution_id,
        "sequence": event.sequence,
        "prev_hash": event.prev_hash,
        "created_at": created_at.isoformat(timespec="microseconds") if created_at else None,
        "actor": event.actor_id,
        "actor_label": event.actor_label,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_label": event.target_label,
        "tape": event.tape_id,
        "changes": event.changes,
        "details": event.details,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(event: Any) -> str:
    return hmac.new(_key(), canonical(event), hashlib.sha256).hexdigest()


def _lock(institution_id: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, institution_id]
            )


def chain_link(event: Any) -> None:
    """Fill ``sequence``, ``prev_hash`` and ``hash`` of an unsaved event. Call it inside the
    transaction that saves the event (the lock lasts until that transaction ends)."""
    from portal.audit.models import AuditEvent

    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("chain_link must run inside the event's transaction")
    _lock(event.institution_id)
    last = (
        AuditEvent.objects.filter(institution_id=event.institution_id)
        .order_by("-sequence")
        .values("sequence", "hash")
        .first()
    )
    event.sequence = (last["sequence"] if last else 0) + 1
    event.prev_hash = last["hash"] if last else GENESIS
    event.hash = event_hash(event)


@dataclass(frozen=True)
class ChainReport:
    institution_id: int
    events: int
    head: str
    broken_sequence: int | None = None
    broken_event_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_sequence is None


def chain_verify_events(institution_id: int, events: Iterable[Any]) -> ChainReport:
    expected_sequence, previous = 1, GENESIS
    count = 0
    for event in events:
        count += 1
        problem = ""
        if event.sequence != expected_sequence:
            problem = (
                f"event #{expected_sequence} is missing (found #{event.sequence} next): "
                "events were deleted or inserted"
                if event.sequence > expected_sequence
                else f"event #{event.sequence} appears twice or out of order"
            )
        elif event.prev_hash != previous:
            problem = "its link to the previous event does not match: an event was replaced"
        elif not hmac.compare_digest(event.hash or "", event_hash(event)):
            problem = "its content does not match its hash: it was changed or forged"
        if problem:
            return ChainReport(
                institution_id,
                count,
                previous,
                broken_sequence=expected_sequence,
                broken_event_id=event.pk,
                reason=problem,
            )
        expected_sequence, previous = expected_sequence + 1, event.hash
    return ChainReport(institution_id, count, previous)


def chain_verify(*, institution_id: int) -> ChainReport:
    """Walk the institution's whole chain (streamed) and report the first broken link."""
    from portal.audit.models import AuditEvent

    events = (
        AuditEvent.objects.filter(institution_id=institution_id)
        .order_by("sequence", "id")
        .iterator(chunk_size=2000)
    )
    return chain_verify_events(institution_id, events)
