"""Invitations: how a person joins an institution.

A manager invites a user name; the person with that name accepts or declines on their own
invitations page. Or a manager makes a one-use link (shown to copy, or sent by e-mail) that
makes whoever opens it a member, with their account or a new one. Nothing a manager does
reveals whether the name exists, or where else it works. Every step is audited in the
inviting institution's history, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import smtplib
from typing import Any

from django.core.mail import send_mail
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
    try:
        return _invitation_new(actor=actor, institution=institution, role=role, username=username)
    except IntegrityError as exc:
        raise MembershipError(
            f"{username} already has a pending invitation; revoke it first to change the role."
        ) from exc


def _invitation_new(
    *, actor: Any, institution: Institution, role: str, **addressee: str
) -> Invitation:
    """A pending invitation valid for INVITATION_LIFETIME, audited in the same transaction.
    ``addressee``: ``username``, or ``email`` and ``token_hash`` (a link)."""
    now = _now()
    with transaction.atomic():
        invitation = Invitation.objects.create(
            institution=institution,
            role=role,
            invited_by=actor,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
            **addressee,
        )
        audit_record(
            actor=actor,
            institution=institution,
            action="invitation.created",
            target=invitation,
            target_label=invitation.addressee,
            changes={"role": [None, role]},
        )
    return invitation


def _pending_for(user: Any, invitation_id: int) -> Invitation:
    """The user's own pending invitation (locked), or 404 for anyone else's."""
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
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
        invitation = _answer(user, invitation_id, Invitation.Status.ACCEPTED, "invitation.accepted")
        return membership_add(
            actor=user, institution=invitation.institution, user=user, role=invitation.role
        )


def invitation_decline(*, user: Any, invitation_id: int) -> Invitation:
    with transaction.atomic():
        invitation = _answer(user, invitation_id, Invitation.Status.DECLINED, "invitation.declined")
    return invitation


def _answer(user: Any, invitation_id: int, status: str, action: str) -> Invitation:
    """The invited person's answer to their pending invitation, recorded (in the caller's
    transaction)."""
    invitation = _pending_for(user, invitation_id)
    invitation.status = status
    invitation.responded_at = _now()
    invitation.save(update_fields=["status", "responded_at"])
    audit_record(
        actor=user,
        institution=invitation.institution,
        action=action,
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
                target_label=invitation.addressee,
            )


# ---- invitations by link (and by e-mail: the same link, sent) --------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link_create(
    *, actor: Any, institution: Institution, role: str, email: str = ""
) -> tuple[Invitation, str]:
    """A one-use link that makes whoever opens it a member with ``role`` (managers). Returns
    the invitation and the secret part of the link, shown or sent once; only its hash is kept.
    With ``email`` it is meant for that address (``invitation_email_send`` sends it)."""
    require_role(actor, institution, Role.MANAGER)
    if role not in Role.values:
        raise MembershipError("Choose one of the listed roles.")
    email = email.strip()
    token = secrets.token_urlsafe(32)
    invitation = _invitation_new(
        actor=actor, institution=institution, role=role, email=email, token_hash=token_hash(token)
    )
    return invitation, token


def invitation_email_send(*, invitation: Invitation, link: str) -> None:
    """Sends the link to the invitation's address. Raises ``MembershipError`` when the mail
    server refuses, so the manager can hand the link over another way."""
    inviter = invitation.invited_by.get_username() if invitation.invited_by else "A manager"
    body = (
        f"{inviter} invites you to work in {invitation.institution} (tape archive) as "
        f"{invitation.get_role_display().lower()}.\n\n"
        f"Open this link to accept, with your account or a new one:\n{link}\n\n"
        f"The link works once and until {invitation.expires_at:%Y-%m-%d}. If you did not expect "
        "it, ignore this message."
    )
    try:
        send_mail(
            f"Invitation to {invitation.institution}",
            body,
            None,  # DEFAULT_FROM_EMAIL
            [invitation.email],
        )
    except (OSError, smtplib.SMTPException) as exc:
        raise MembershipError(
            f"The e-mail to {invitation.email} could not be sent ({exc}). The invitation is kept: "
            "copy the link below and give it to them another way."
        ) from exc


def invitation_by_token(token: str, *, lock: bool = False) -> Invitation:
    """The pending, unexpired link invitation for ``token``, or 404 (wrong, used, revoked or
    expired links look the same)."""
    invitations = Invitation.objects.select_related("institution", "invited_by")
    if lock:  # the invitation row only: PostgreSQL cannot lock the nullable side of a join
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.filter(
        token_hash=token_hash(token),
        username="",
        status=Invitation.Status.PENDING,
        expires_at__gt=_now(),
    ).first()
    if invitation is None or not token:
        raise Http404("This invitation link is not valid: it was used, revoked or has expired.")
    return invitation


def invitation_link_accept(*, user: Any, token: str) -> Membership:
    """The person holding the link accepts it, logged in (possibly with a new account)."""
    with transaction.atomic():
        invitation = invitation_by_token(token, lock=True)
        if Membership.objects.filter(user=user, institution=invitation.institution).exists():
            raise MembershipError(
                f"You are already a member of {invitation.institution}; the link stays unused "
                "for someone else."
            )
        invitation.status = Invitation.Status.ACCEPTED
        invitation.responded_at = _now()
        invitation.username = user.get_username()  # who used it, for the history
        invitation.save(update_fields=["status", "responded_at", "username"])
        audit_record(
            actor=user,
            institution=invitation.institution,
            action="invitation.accepted",
            target=invitation,
            target_label=user.get_username(),
            details={"by_link": True, "email": invitation.email or None},
        )
        return membership_add(
            actor=user, institution=invitation.institution, user=user, role=invitation.role
        )
