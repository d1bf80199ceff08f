"""Permission helpers used by every view, service and API endpoint.

Roles are ranked (archivist < reviewer < manager). ``role_refusal`` is the one role rule: it says
why a membership may not act, or None. Services call ``require_role`` with the acting user and
the institution (or the membership a view already resolved); views use the ``member_required``
decorator, which resolves the active institution once per request and hands the view an
``InstitutionRequest``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.models import ROLE_RANK, Institution, Membership, Role
from portal.exceptions import Refusal

__all__ = [
    "InstitutionRequest",
    "Role",
    "acting_membership",
    "member_required",
    "membership_of",
    "require_role",
    "resolve_institution",
    "role_at_least",
    "role_refusal",
]


class InstitutionRequest(HttpRequest):
    """The request a ``member_required`` view receives: the active institution is resolved.

    Only a type: ``member_required`` sets both attributes on the ordinary request object.
    """

    institution: Institution
    membership: Membership


def resolve_institution(request: HttpRequest) -> InstitutionRequest | None:
    """The request typed as an ``InstitutionRequest`` (``institution`` and ``membership`` set),
    or None when its user is not a member of any institution."""
    from accounts.selectors import current_membership

    membership = current_membership(request)
    if membership is None:
        return None
    resolved = cast(InstitutionRequest, request)
    resolved.membership = membership
    resolved.institution = membership.institution
    return resolved


def role_at_least(membership: Membership | None, role: str) -> bool:
    """True when ``membership`` exists and its role ranks at least ``role``."""
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")
    return membership is not None and ROLE_RANK[membership.role] >= ROLE_RANK[role]


def role_refusal(
    membership: Membership | None, role: str, *, institution: Institution | None = None
) -> Refusal | None:
    """Why ``membership`` may not act with ``role`` (PermissionDenied), or None."""
    if membership is None:
        where = institution if institution is not None else "this institution"
        return Refusal(f"You are not a member of {where}.")
    if role_at_least(membership, role):
        return None
    return Refusal(
        f"This needs the {Role(role).label.lower()} role at "
        f"{institution if institution is not None else membership.institution}; "
        f"you are {Role(membership.role).label.lower()}. Ask a manager of your institution."
    )


def membership_of(user: Any, institution: Institution | None) -> Membership | None:
    if institution is None or not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user, institution=institution).first()


def acting_membership(
    actor: Any, institution: Institution, membership: Membership | None = None
) -> Membership | None:
    """The actor's membership at ``institution``: the one given when it is theirs and there
    (a view passes the one ``member_required`` resolved), else looked up."""
    if (
        membership is not None
        and membership.user_id == getattr(actor, "pk", None)
        and membership.institution_id == institution.pk
    ):
        return membership
    return membership_of(actor, institution)


def require_role(
    actor: Any, institution: Institution, role: str, *, membership: Membership | None = None
) -> Membership:
    """Return the actor's membership, or raise PermissionDenied with an actionable message."""
    resolved = acting_membership(actor, institution, membership)
    refusal = role_refusal(resolved, role, institution=institution)
    if refusal is not None:
        refusal.raise_error()
    assert resolved is not None
    return resolved


ViewFunc = Callable[..., HttpResponse]


def member_required(role: str = Role.ARCHIVIST) -> Callable[[ViewFunc], ViewFunc]:
    """View decorator: logged in, member of the active institution, at least ``role``.

    Sets ``request.institution`` and ``request.membership`` for the view (``InstitutionRequest``).
    """

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            resolved = resolve_institution(request)
            if resolved is None:
                raise PermissionDenied(
                    "Your account is not a member of any institution yet. Ask a manager of "
                    "your institution to invite you, then accept on your Invitations page "
                    "(/accounts/invitations/)."
                )
            membership = resolved.membership
            if not role_at_least(membership, role):
                raise PermissionDenied(
                    f"This page needs the {Role(role).label.lower()} role; you are "
                    f"{Role(membership.role).label.lower()} at {membership.institution}."
                )
            return view(resolved, *args, **kwargs)

        return login_required(wrapper)

    return decorator
