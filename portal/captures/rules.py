"""The rules of captures, one check each (see ``portal.exceptions.Refusal``)."""

from __future__ import annotations

from accounts.models import Membership, Role
from accounts.permissions import role_refusal
from portal.captures.models import Capture
from portal.exceptions import Refusal


def capture_delete_refusal(*, membership: Membership | None, capture: Capture) -> Refusal | None:
    """Managers delete captures: originals are the institution's archival masters.

    A capture that restoration jobs came from is refused by the database (its provenance must
    stay), inside ``capture_delete``.
    """
    return role_refusal(membership, Role.MANAGER, institution=capture.institution)
