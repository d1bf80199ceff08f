"""Writes of accounts data: switching institution and managing members (audited).

Invitations live in ``accounts.invitations``."""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest

from accounts.exceptions import MembershipError
from accounts.models import Institution, Membership, Role
from accounts.permissions import require_role
from accounts.selectors import SESSION_KEY, forget_current_membership
from portal.events import api_tokens_revoke_requested, audit_record

logger = logging.getLogger(__name__)


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
    membership_make_default(membership=membership)
    forget_current_membership(request)
    return membership.institution


def membership_make_default(*, membership: Membership) -> None:
    """Remember ``membership`` as where its user works by default (their own choice)."""
    if membership.is_default:
        return
    with transaction.atomic():
        # Lock the user's memberships so two concurrent switches cannot both hold a default.
        list(Membership.objects.select_for_update().filter(user_id=membership.user_id))
        Membership.objects.filter(user_id=membership.user_id, is_default=True).update(
            is_default=False
        )
        Membership.objects.filter(pk=membership.pk).update(is_default=True)
    membership.is_default = True


INSTITUTION_SETTINGS = ("name", "public_access", "allow_self_approval")


def institution_update(*, actor: Any, institution: Institution, **fields: Any) -> Institution:
    """Change the institution's name or settings (managers only; audited)."""
    from portal.db import assign

    if actor is not None:
        require_role(actor, institution, Role.MANAGER)
    with transaction.atomic():
        changes = assign(institution, fields, allowed=INSTITUTION_SETTINGS, what="institution")
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
    """Make ``user`` a member. Only the system (``actor=None``: a command, demo data) or an
    accepted invitation does this; a manager invites (``invitation_create``) and the person
    accepts, so no tenant can move another tenant's users into theirs."""
    if actor is not None and actor != user:
        raise PermissionDenied(
            "Members join by accepting an invitation: invite the person from the members page."
        )
    if Membership.objects.filter(user=user, institution=institution).exists():
        raise MembershipError(f"{user} is already a member of {institution}.")
    with transaction.atomic():
        is_first = not Membership.objects.filter(user=user).exists()
        membership = Membership(user=user, institution=institution, role=role, is_default=is_first)
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


def user_tokens_revoke(*, user: Any, reason: str) -> int:
    """Revoke every API token of ``user`` (after a password change); returns how many."""
    from rest_framework.authtoken.models import Token

    with transaction.atomic():
        legacy, _ = Token.objects.filter(user=user).delete()
        answers = api_tokens_revoke_requested.send(sender=None, user=user)
        if not answers and apps.is_installed("portal.api"):
            raise ImproperlyConfigured("Nothing revokes the API tokens of a user: portal.api")
        deleted = legacy + sum(count for _receiver, count in answers)
        if deleted:
            logger.info("revoked %d API token(s) of user %s: %s", deleted, user.pk, reason)
            # Each institution of the user sees it in its history (a security-relevant event).
            for membership in Membership.objects.filter(user=user).select_related("institution"):
                audit_record(
                    actor=None,
                    institution=membership.institution,
                    action="user.tokens_revoked",
                    target=user,
                    target_label=user.get_username(),
                    details={"reason": reason, "tokens": deleted},
                )
    return deleted
