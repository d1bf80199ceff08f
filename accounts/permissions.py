"""Permission helpers used by every view, service and API endpoint.

Roles are ranked (archivist < reviewer < manager). Services call ``require_role`` with the acting
user and the institution; views use the ``member_required`` decorator, which also resolves the
active institution once per request.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.models import ROLE_RANK, Institution, Membership, Role

__all__ = [
    "Role",
    "member_required",
    "membership_of",
    "require_role",
    "role_at_least",
]


def role_at_least(membership: Membership | None, role: str) -> bool:
    """True when ``membership`` exists and its role ranks at least ``role``."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")
    return membership is not None and ROLE_RANK[membership.role] >= ROLE_RANK[role]


def membership_of(user: Any, institution: Institution | None) -> Membership | None:
    if institution is None or not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user, institution=institution).first()


def require_role(user: Any, institution: Institution, role: str) -> Membership:
    """Return the user's membership, or raise PermissionDenied with an actionable message."""
    membership = membership_of(user, institution)
    if membership is None:
        raise PermissionDenied(f"You are not a member of {institution}.")
    if not role_at_least(membership, role):
        raise PermissionDenied(
            f"This needs the {Role(role).label.lower()} role at {institution}; "
            f"you are {Role(membership.role).label.lower()}. Ask a manager of your institution."
        )
    return membership


ViewFunc = Callable[..., HttpResponse]


def member_required(role: str = Role.ARCHIVIST) -> Callable[[ViewFunc], ViewFunc]:
    """View decorator: logged in, member of the active institution, at least ``role``.

    Sets ``request.institution`` and ``request.membership`` for the view.
    """

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            from accounts.selectors import current_membership

            membership = current_membership(request)
            if membership is None:
                raise PermissionDenied(
                    "Your account is not a member of any institution yet. Ask a manager of "
                    "your institution to invite you, then accept on your Invitations page "
                    "(/accounts/invitations/)."
                )
            if not role_at_least(membership, role):
                raise PermissionDenied(
                    f"This page needs the {Role(role).label.lower()} role; you are "
                    f"{Role(membership.role).label.lower()} at {membership.institution}."
                )
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorator
