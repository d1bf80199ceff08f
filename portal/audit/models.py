"""Audit history: an append-only log of who changed what, when.

Rows are written only by ``portal.audit.services.audit_record`` inside the same transaction as
the change they describe. They are never updated or deleted: ``save()`` refuses updates,
``delete()`` and queryset ``update()``/``delete()`` raise ``ImmutableHistoryError``. Foreign keys
carry no database constraint and are never cascaded, so deleting a tape or a user leaves its
history intact; labels (``actor_label``, ``target_label``) keep the readable names of that moment.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from portal.db import AppendOnlyModel, AppendOnlyQuerySet, ImmutableError


class ImmutableHistoryError(ImmutableError):
    """History is append-only."""


class AuditEventQuerySet(AppendOnlyQuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableHistoryError("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableHistoryError("Audit events cannot be deleted.")

    def for_tape(self, tape_id: int) -> AuditEventQuerySet:
        return self.filter(tape_id=tape_id)


class AuditEvent(AppendOnlyModel):
    institution = models.ForeignKey(
        "accounts.Institution",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=150, blank=True)
    #: Dotted verb, e.g. "tape.created", "membership.role_changed", "job.failed".
    action = models.CharField(max_length=64, db_index=True)
    #: "app_label.model" of the changed object, its primary key and its name at that moment.
    target_type = models.CharField(max_length=100)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    #: The tape whose timeline shows this event (captures, jobs and reviews of a tape set it too).
    tape = models.ForeignKey(
        "catalog.Tape",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    #: {field: [old, new]} for updates; {field: [None, value]} for creates.
    changes = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)
    #: Hash chain of the institution's history (portal.audit.chain): position, the previous
    #: event's hash and this event's HMAC. Filled by ``audit_record``, checked by
    #: ``manage.py verify_audit_chain`` and the manager's "Verify history" page.
    sequence = models.BigIntegerField(null=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()
    immutable_error = ImmutableHistoryError

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["institution", "-created_at"]),
            # A tape's timeline (tape page, last 10): without it the newest events of one tape
            # were found by sorting all of its institution's events (50,000: 6 ms a page).
            models.Index(fields=["tape", "-created_at", "-id"], name="audit_tape_timeline"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "sequence"], name="audit_chain_sequence_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or 'system'} {self.action}"

    @property
    def verb(self) -> str:
        return self.action.rsplit(".", 1)[-1].replace("_", " ")
