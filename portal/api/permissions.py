from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from portal.api.scoping import api_membership


class IsInstitutionMember(BasePermission):
    """Authenticated and member of the active institution (non-members get 404, not 403).

    Roles are checked by the services each write goes through, as on the pages.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        api_membership(request)  # raises Http404 for a user without the institution
        return True
