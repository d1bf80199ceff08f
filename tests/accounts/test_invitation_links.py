"""Invitations by link and by e-mail (issue 15): one use, only the hash stored, audited; the
link works for an existing account or a new one; wrong, used, revoked links are all a 404."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.invitations import invitation_link_create, token_hash
from accounts.models import Institution, Invitation, Membership, Role
from portal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def link_in(text: str) -> str:
    match = re.search(r"https?://[^\s\"<]+/accounts/join/[^/\s\"<]+/", text)
    assert match, text
    return match.group(0)


def test_link_made_on_the_members_page_creates_an_account_and_a_membership(
    manager_client: Client, institution: Institution
) -> None:
    page = manager_client.post(
        reverse("accounts:members"), {"invite": "link", "email": "", "role": "reviewer"}
    )
    link = link_in(page.content.decode())
    invitation = Invitation.objects.get()
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert invitation.token_hash == token_hash(token) and token not in invitation.token_hash
    assert invitation.addressee == "invitation link"

    newcomer = Client()
    assert "Join" in newcomer.get(link).content.decode()
    weak = newcomer.post(
        link, {"action": "signup", "username": "ana", "password1": "x", "password2": "x"}
    )
    assert weak.status_code == 200 and not Membership.objects.filter(user__username="ana")
    joined = newcomer.post(
        link,
        {
            "action": "signup",
            "username": "ana",
            "password1": "long-enough passphrase 7",
            "password2": "long-enough passphrase 7",
        },
        follow=True,
    )
    membership = Membership.objects.get(user__username="ana")
    assert membership.institution == institution and membership.role == Role.REVIEWER
    assert "you are now reviewer" in joined.content.decode()
    assert AuditEvent.objects.filter(action="invitation.accepted", target_label="ana").exists()
    assert Client().get(link).status_code == 404  # used: gone


def test_email_invitation_is_sent_and_an_existing_user_joins_after_logging_in(
    manager_client: Client, institution: Institution, outsider: Any
) -> None:
    manager_client.post(
        reverse("accounts:members"),
        {"invite": "link", "email": "person@example.org", "role": "archivist"},
    )
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["person@example.org"]
    link = link_in(mail.outbox[0].body)
    assert Invitation.objects.get().addressee == "link sent to person@example.org"
    client = Client()
    client.force_login(outsider)
    client.post(link, {"action": "accept"})
    assert Membership.objects.get(user=outsider, institution=institution).role == Role.ARCHIVIST
    assert Membership.objects.filter(user=outsider).count() == 2
    assert client.post(link, {"action": "accept"}).status_code == 404


def test_revoked_wrong_and_expired_links_answer_404(
    manager: Any, institution: Institution, manager_client: Client
) -> None:
    invitation, token = invitation_link_create(
        actor=manager, institution=institution, role=Role.ARCHIVIST
    )
    url = reverse("accounts:join", args=[token])
    assert Client().get(url).status_code == 200
    assert Client().get(reverse("accounts:join", args=[token + "x"])).status_code == 404
    manager_client.post(reverse("accounts:invitation_revoke", args=[invitation.pk]))
    assert Client().get(url).status_code == 404
    _other, token2 = invitation_link_create(
        actor=manager, institution=institution, role=Role.ARCHIVIST
    )
    Invitation.objects.filter(token_hash=token_hash(token2)).update(expires_at="2000-01-01T00:00Z")
    assert Client().get(reverse("accounts:join", args=[token2])).status_code == 404


def test_only_managers_make_links(archivist_client: Client) -> None:
    response = archivist_client.post(
        reverse("accounts:members"), {"invite": "link", "role": "manager"}
    )
    assert response.status_code == 403 and not Invitation.objects.exists()


def test_unsendable_email_keeps_the_invitation_and_shows_the_link(
    manager_client: Client, settings: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    page = manager_client.post(
        reverse("accounts:members"),
        {"invite": "link", "email": "person@example.org", "role": "archivist"},
    ).content.decode()
    assert "could not be sent" in page
    assert Client().get(link_in(page)).status_code == 200  # the shown link works
