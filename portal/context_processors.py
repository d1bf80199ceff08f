"""Template context for the page layout: active institution, switcher and navigation."""

from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, reverse

from accounts.models import Role
from accounts.permissions import role_at_least
from accounts.selectors import current_membership, pending_invitations, request_memberships

# (label, url name, minimum role). Links whose route does not exist (yet) are left out, so the
# menu never shows a dead link.
NAV_LINKS: list[tuple[str, str, str]] = [
    ("Catalog", "catalog:tape_list", Role.ARCHIVIST),
    ("Collections", "catalog:collection_list", Role.ARCHIVIST),
    ("Captures", "captures:list", Role.ARCHIVIST),
    ("Jobs", "restoration:job_list", Role.ARCHIVIST),
    ("Review", "restoration:review_list", Role.REVIEWER),
    ("History", "audit:institution_history", Role.MANAGER),
    ("Members", "accounts:members", Role.MANAGER),
    ("Storage", "preservation:storage", Role.MANAGER),
    ("Webhooks", "webhooks:list", Role.MANAGER),
    ("Settings", "accounts:institution_settings", Role.MANAGER),
]


@functools.cache
def _url(name: str, prefix: str) -> str | None:
    """The menu's URLs, reversed once per process (per script prefix), not on every page."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def portal(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    membership = current_membership(request)
    nav = []
    for label, name, role in NAV_LINKS:
        url = _url(name, get_script_prefix())
        if url is not None and role_at_least(membership, role):
            nav.append({"label": label, "url": url, "active": request.path.startswith(url)})
    return {
        "active_membership": membership,
        "active_institution": membership.institution if membership else None,
        "user_memberships": request_memberships(request),
        "nav_links": nav,
        "pending_invitation_count": pending_invitations(user).count(),
        "fixity_failure_count": _fixity_failures(membership),
    }


def _fixity_failures(membership: Any) -> int:
    """Managers see a notice on every page while a stored file fails its fixity check."""
    if not role_at_least(membership, Role.MANAGER):
        return 0
    from portal.preservation.models import FixityRecord

    return FixityRecord.objects.for_institution(membership.institution).failing().count()
