"""Signals other apps hook (webhooks, notifications) without this app knowing them.

``fixity_failed`` is sent after the transaction that recorded a failed fixity check commits,
with ``record`` (a FixityRecord: institution, tape, capture or version, role, expected and
actual SHA-256, error) and ``event`` (the ``fixity.failed`` AuditEvent).
"""

from django.dispatch import Signal

fixity_failed = Signal()
