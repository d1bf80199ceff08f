"""Signals between apps that must not import each other: the audit history's, fixity's, and
the revocation of API tokens after a password change.

How changes reach the audit history from code the audit app itself builds on.

accounts is the base every app builds on, and the audit app sits above it (its pages check
accounts' roles); the admin base (``portal.admin_audit``) serves accounts' admin too. So these
do not call ``portal.audit`` themselves: ``audit_record`` here sends ``audit_requested`` inside
the caller's transaction, and ``portal.audit.receivers`` appends the event in that same
transaction. The apps above accounts call ``portal.audit.services.audit_record`` directly.
Nobody listening is an error, never a silently unrecorded change.

``fixity_failed`` is sent by ``portal.preservation`` after the transaction that recorded a failed
fixity check commits, with ``record`` (a FixityRecord: institution, tape, capture or version,
role, expected and actual SHA-256, error) and ``event`` (the ``fixity.failed`` AuditEvent). The
webhooks app, which preservation builds on, hooks it (``portal.webhooks.apps``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.dispatch import Signal

#: Sent with the keyword arguments of ``portal.audit.services.audit_record``.
audit_requested = Signal()
#: Sent with ``record`` and ``event`` when a fixity check finds a file changed or missing.
fixity_failed = Signal()
#: Sent by ``accounts`` with ``user`` when every API token of the user must go (a password
#: change); the API app, which builds on accounts, revokes its tokens and returns how many.
api_tokens_revoke_requested = Signal()


def audit_record(**event: Any) -> None:
    """Record a change in the audit history (call it inside the change's transaction)."""
    if not audit_requested.send(sender=None, **event):
        raise ImproperlyConfigured(
            "Nothing records changes in the audit history: "
            "'portal.audit' must be in INSTALLED_APPS."
        )
