"""Reads of accounts data, and the scoping of every request: ``current_membership(request)``.

The active institution is stored in the session (``SESSION_KEY``); a user with one membership
never has to pick. ``member_required`` (``accounts.permissions``) resolves the membership once
and sets ``request.membership`` and ``request.institution``; every page and API endpoint then
reads objects through the apps' selectors, scoped by ``request.institution``
(``Model.objects.for_institution`` for lists, ``get_for_institution`` for one object: the one
404 rule).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts.models import Institution, Invitation, Membership
from portal.db import InstitutionScopedQuerySet

SESSION_KEY = "active_institution_id"
_CACHE_ATTR = "_active_membership"
_MEMBERSHIPS_ATTR = "_user_memberships"

_M = TypeVar("_M", bound=models.Model)


def memberships_for_user(user: Any) -> models.QuerySet[Membership]:
    return Membership.objects.for_user(user).select_related("institution")


def request_memberships(request: HttpRequest) -> list[Membership]:
    """All memberships of the request's user (one query per request: the page layout's
    institution switcher and the permission checks share it)."""
    cached: list[Membership] | None = getattr(request, _MEMBERSHIPS_ATTR, None)
    if cached is None:
        user = getattr(request, "user", None)
        cached = list(memberships_for_user(user)) if user is not None else []
        setattr(request, _MEMBERSHIPS_ATTR, cached)
    return cached


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the request's user at the active institution (cached per request)."""
    if hasattr(request, _CACHE_ATTR):
        return getattr(request, _CACHE_ATTR)
    memberships = request_memberships(request)
    session = getattr(request, "session", None)
    wanted = session.get(SESSION_KEY) if session is not None else None
    membership = next((m for m in memberships if m.institution_id == wanted), None)
    if membership is None:
        membership = _default_of(memberships)
    setattr(request, _CACHE_ATTR, membership)
    return membership


def _default_of(memberships: list[Membership]) -> Membership | None:
    """The user's remembered choice, else the membership they had first (never by name)."""
    remembered = [m for m in memberships if m.is_default]
    if remembered:
        return remembered[0]
    return min(memberships, key=lambda m: (m.created_at, m.pk), default=None)


def default_membership(user: Any) -> Membership | None:
    """Where ``user`` works when a request names no institution (sessions and API tokens)."""
    return _default_of(list(memberships_for_user(user)))


def pending_invitations(user: Any) -> models.QuerySet[Invitation]:
    """Invitations addressed to ``user``'s name that they can still accept."""
    if not getattr(user, "is_authenticated", False):
        return Invitation.objects.none()
    return (
        Invitation.objects.filter(
            username=user.get_username(),
            status=Invitation.Status.PENDING,
            expires_at__gt=timezone.now(),
        )
        .select_related("institution", "invited_by")
        .order_by("-created_at")
    )


def institution_invitations(institution: Institution) -> models.QuerySet[Invitation]:
    return Invitation.objects.for_institution(institution).filter(status=Invitation.Status.PENDING)


def forget_current_membership(request: HttpRequest) -> None:
    """Drop the per-request cache (after the session's institution changed)."""
    for attr in (_CACHE_ATTR, _MEMBERSHIPS_ATTR):
        if hasattr(request, attr):
            delattr(request, attr)


def get_for_institution(
    queryset: models.QuerySet[_M], institution: Institution | None, **lookup: Any
) -> _M:
    """One object of ``institution`` or Http404: THE 404 rule of pages, API and media alike.

    An object of another institution is indistinguishable from a missing one.
    """
    if not isinstance(queryset, InstitutionScopedQuerySet):
        raise TypeError(f"{queryset.model.__name__} is not scoped by institution")
    try:
        return queryset.for_institution(institution).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} found.") from exc


def institution_members(institution: Institution) -> models.QuerySet[Membership]:
    return (
        Membership.objects.for_institution(institution)
        .select_related("user")
        .order_by("user__username")
    )
