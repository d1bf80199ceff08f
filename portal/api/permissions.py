from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from portal.api.scoping import api_membership
from portal.api.tokens import check_token_scope


class TokenScopeAllows(BasePermission):
    """Authenticated; a read-only token only reads (403 ``token_read_only`` otherwise)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        check_token_scope(request)
        return True


class IsInstitutionMember(TokenScopeAllows):
    """Authenticated and member of the active institution (non-members get 404, not 403).

    Roles are checked by the services each write goes through, as on the pages.
    """

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        api_membership(request)  # raises Http404 for a user without the institution
        return True
