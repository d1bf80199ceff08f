"""Writes of accounts data: switching institution and managing members (audited)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import Http404, HttpRequest

from accounts.exceptions import MembershipError
from accounts.models import Institution, Membership, Role
from accounts.permissions import require_role
from accounts.selectors import SESSION_KEY, forget_current_membership
from portal.audit.services import audit_record


def institution_switch(*, request: HttpRequest, institution_id: int) -> Institution:
    """Make ``institution_id`` the active institution of the session (404 if not a member)."""
    membership = (
        Membership.objects.for_user(request.user)
        .select_related("institution")
        .filter(institution_id=institution_id)
        .first()
    )
    if membership is None:
        raise Http404("No such institution.")
    request.session[SESSION_KEY] = membership.institution_id
    forget_current_membership(request)
    return membership.institution


def institution_create(*, name: str, slug: str, **settings: Any) -> Institution:
    institution = Institution(name=name, slug=slug, **settings)
    institution.full_clean()
    institution.save()
    return institution


INSTITUTION_SETTINGS = ("name", "public_access", "allow_self_approval")


def institution_update(*, actor: Any, institution: Institution, **fields: Any) -> Institution:
    """Change the institution's name or settings (managers only; audited)."""
    from portal.audit.services import diff, snapshot

    if actor is not None:
        require_role(actor, institution, Role.MANAGER)
    unknown = set(fields) - set(INSTITUTION_SETTINGS)
    if unknown:
        raise TypeError(f"unknown institution settings: {sorted(unknown)}")
    with transaction.atomic():
        old = snapshot(institution, INSTITUTION_SETTINGS)
        for name, value in fields.items():
            setattr(institution, name, value)
        institution.full_clean()
        changes = diff(old, snapshot(institution, INSTITUTION_SETTINGS))
        if changes:
            institution.save()
            audit_record(
                actor=actor,
                institution=institution,
                action="institution.updated",
                target=institution,
                changes=changes,
            )
    return institution


def _last_manager_guard(membership: Membership, new_role: str | None) -> None:
    if membership.role != Role.MANAGER or new_role == Role.MANAGER:
        return
    managers = Membership.objects.for_institution(membership.institution).filter(role=Role.MANAGER)
    if managers.count() <= 1:
        raise MembershipError(
            f"{membership.user} is the last manager of {membership.institution}; "
            "make someone else a manager first."
        )


def membership_add(*, actor: Any, institution: Institution, user: Any, role: str) -> Membership:
    if actor is not None:
        require_role(actor, institution, Role.MANAGER)
    if Membership.objects.filter(user=user, institution=institution).exists():
        raise MembershipError(f"{user} is already a member of {institution}.")
    with transaction.atomic():
        membership = Membership(user=user, institution=institution, role=role)
        membership.full_clean()
        membership.save()
        audit_record(
            actor=actor,
            institution=institution,
            action="membership.created",
            target=membership,
            target_label=user.get_username(),
            changes={"role": [None, role]},
        )
    return membership


def membership_change_role(*, actor: Any, membership: Membership, role: str) -> Membership:
    if actor is not None:
        require_role(actor, membership.institution, Role.MANAGER)
    if role == membership.role:
        return membership
    _last_manager_guard(membership, role)
    with transaction.atomic():
        old = membership.role
        membership.role = role
        membership.full_clean()
        membership.save(update_fields=["role"])
        audit_record(
            actor=actor,
            institution=membership.institution,
            action="membership.role_changed",
            target=membership,
            target_label=membership.user.get_username(),
            changes={"role": [old, role]},
        )
    return membership


def membership_remove(*, actor: Any, membership: Membership) -> None:
    if actor is not None:
        require_role(actor, membership.institution, Role.MANAGER)
    _last_manager_guard(membership, None)
    with transaction.atomic():
        audit_record(
            actor=actor,
            institution=membership.institution,
            action="membership.deleted",
            target=membership,
            target_label=membership.user.get_username(),
            changes={"role": [membership.role, None]},
        )
        membership.delete()
