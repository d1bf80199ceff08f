"""Invitations: how a person joins an institution.

A manager invites a user name; the person with that name accepts or declines on their own
invitations page. Nothing a manager does reveals whether the name exists, or where else it
works. Every step is audited in the inviting institution's history, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from accounts.exceptions import MembershipError
from accounts.models import Institution, Invitation, Membership, Role
from accounts.permissions import require_role
from accounts.services import membership_add
from portal.events import audit_record

INVITATION_LIFETIME = dt.timedelta(days=14)


def _now() -> dt.datetime:
    return timezone.now()


def invitation_create(
    *, actor: Any, institution: Institution, username: str, role: str
) -> Invitation:
    """Invite ``username`` to ``institution`` (managers). The same answer whether or not an
    account of that name exists."""
    require_role(actor, institution, Role.MANAGER)
    username = username.strip()
    if not username:
        raise MembershipError("Type the user name of the person to invite.")
    if role not in Role.values:
        raise MembershipError("Choose one of the listed roles.")
    if Membership.objects.filter(institution=institution, user__username=username).exists():
        # Only this institution's own membership is revealed here.
        raise MembershipError(f"{username} is already a member of {institution}.")
    now = _now()
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                institution=institution,
                username=username,
                role=role,
                invited_by=actor,
                created_at=now,
                expires_at=now + INVITATION_LIFETIME,
            )
            audit_record(
                actor=actor,
                institution=institution,
                action="invitation.created",
                target=invitation,
                target_label=username,
                changes={"role": [None, role]},
            )
    except IntegrityError as exc:
        raise MembershipError(
            f"{username} already has a pending invitation; revoke it first to change the role."
        ) from exc
    return invitation


def _pending_for(user: Any, invitation_id: int) -> Invitation:
    """The user's own pending invitation (locked), or 404 for anyone else's."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("institution")
        .filter(
            pk=invitation_id,
            username=user.get_username(),
            status=Invitation.Status.PENDING,
            expires_at__gt=_now(),
        )
        .first()
    )
    if invitation is None:
        raise Http404("No such invitation (it may have been answered, revoked or expired).")
    return invitation


def invitation_accept(*, user: Any, invitation_id: int) -> Membership:
    """The invited person accepts: they become a member with the offered role."""
    with transaction.atomic():
        invitation = _pending_for(user, invitation_id)
        invitation.status = Invitation.Status.ACCEPTED
        invitation.responded_at = _now()
        invitation.save(update_fields=["status", "responded_at"])
        audit_record(
            actor=user,
            institution=invitation.institution,
            action="invitation.accepted",
            target=invitation,
            target_label=invitation.username,
        )
        return membership_add(
            actor=user, institution=invitation.institution, user=user, role=invitation.role
        )


def invitation_decline(*, user: Any, invitation_id: int) -> Invitation:
    with transaction.atomic():
        invitation = _pending_for(user, invitation_id)
        invitation.status = Invitation.Status.DECLINED
        invitation.responded_at = _now()
        invitation.save(update_fields=["status", "responded_at"])
        audit_record(
            actor=user,
            institution=invitation.institution,
            action="invitation.declined",
            target=invitation,
            target_label=invitation.username,
        )
    return invitation


def invitation_revoke(*, actor: Any, invitation: Invitation) -> None:
    """A manager withdraws a pending invitation of their institution."""
    require_role(actor, invitation.institution, Role.MANAGER)
    with transaction.atomic():
        revoked = Invitation.objects.filter(
            pk=invitation.pk, status=Invitation.Status.PENDING
        ).update(status=Invitation.Status.REVOKED, responded_at=_now())
        if revoked:
            audit_record(
                actor=actor,
                institution=invitation.institution,
                action="invitation.revoked",
                target=invitation,
                target_label=invitation.username,
            )
