"""Defect 2 of issue 12: cross-tenant membership.

A manager can no longer move another institution's user into theirs: membership is an
invitation the invited person accepts. A user's default institution is their own remembered
choice, never derived from names another tenant controls. Errors reveal no other tenant.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Institution, Invitation, Membership, Role
from accounts.selectors import default_membership
from portal.audit.models import AuditEvent
from portal.catalog.services import tape_create
from tests.personas import api_token, make_user

pytestmark = pytest.mark.django_db


def _invite(client: Client, username: str, role: str = "archivist") -> Any:
    return client.post(reverse("accounts:members"), {"username": username, "role": role})


def test_manager_cannot_add_another_institutions_user_without_consent(
    manager_client: Client, institution: Institution, outsider: Any
) -> None:
    response = _invite(manager_client, "outsider")
    assert response.status_code == 302
    assert not Membership.objects.filter(user=outsider, institution=institution).exists()
    invitation = Invitation.objects.get(institution=institution, username="outsider")
    assert invitation.status == Invitation.Status.PENDING
    assert AuditEvent.objects.filter(action="invitation.created", institution=institution).exists()


def test_invited_user_accepts_on_their_page_and_becomes_member_with_audit(
    manager_client: Client, institution: Institution, outsider: Any, other_institution: Any
) -> None:
    _invite(manager_client, "outsider", "reviewer")
    invitee = Client()
    invitee.force_login(outsider)
    page = invitee.get(reverse("accounts:invitations"))
    assert page.status_code == 200 and b"Test Archive" in page.content
    invitation = Invitation.objects.get(username="outsider")
    response = invitee.post(reverse("accounts:invitation_accept", args=[invitation.pk]))
    assert response.status_code == 302
    membership = Membership.objects.get(user=outsider, institution=institution)
    assert membership.role == Role.REVIEWER
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    actions = set(
        AuditEvent.objects.filter(institution=institution).values_list("action", flat=True)
    )
    assert {"invitation.created", "invitation.accepted", "membership.created"} <= actions
    # Accepting did not change where the outsider works by default.
    assert default_membership(outsider).institution == other_institution


def test_invitation_cannot_be_accepted_by_someone_else_or_twice(
    manager_client: Client, institution: Institution, outsider: Any, db: None
) -> None:
    _invite(manager_client, "outsider")
    invitation = Invitation.objects.get(username="outsider")
    intruder = Client()
    intruder.force_login(make_user("intruder"))
    assert (
        intruder.post(reverse("accounts:invitation_accept", args=[invitation.pk])).status_code
        == 404
    )
    invitee = Client()
    invitee.force_login(outsider)
    invitee.post(reverse("accounts:invitation_decline", args=[invitation.pk]))
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.DECLINED
    assert (
        invitee.post(reverse("accounts:invitation_accept", args=[invitation.pk])).status_code == 404
    )
    assert not Membership.objects.filter(user=outsider, institution=institution).exists()


def test_default_institution_never_follows_a_rename_by_another_tenant(
    institution: Institution, other_institution: Institution, manager: Any
) -> None:
    """B's archivist also belongs to A; A renames itself to sort first: B stays the default."""
    b_archivist = make_user("b-archivist", other_institution, Role.ARCHIVIST)
    tape_create(actor=None, institution=other_institution, identifier="B-TAPE")
    tape_create(actor=None, institution=institution, identifier="A-TAPE")
    manager_client = Client()
    manager_client.force_login(manager)
    _invite(manager_client, "b-archivist")
    invitee = Client()
    invitee.force_login(b_archivist)
    invitee.post(
        reverse(
            "accounts:invitation_accept", args=[Invitation.objects.get(username="b-archivist").pk]
        )
    )
    manager_client.post(reverse("accounts:institution_settings"), {"name": "AAAA first"})
    institution.refresh_from_db()
    assert institution.name == "AAAA first"

    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_token(b_archivist)}")
    listed = [t["identifier"] for t in api.get("/api/v1/tapes/").json()["results"]]
    assert listed == ["B-TAPE"]
    created = api.post("/api/v1/tapes/", {"identifier": "NEW"}, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["identifier"] == "NEW"
    assert not institution.tapes.filter(identifier="NEW").exists()
    fresh = Client()
    fresh.force_login(b_archivist)
    page = fresh.get(reverse("catalog:tape_list")).content
    assert b"B-TAPE" in page and b"A-TAPE" not in page

    # Switching is the user's own choice, and it is remembered for the next session.
    fresh.post(reverse("accounts:switch_institution"), {"institution": institution.pk})
    listed = [t["identifier"] for t in api.get("/api/v1/tapes/").json()["results"]]
    assert listed == ["A-TAPE"]


def test_inviting_reveals_nothing_about_other_tenants_users(
    manager_client: Client, outsider: Any
) -> None:
    existing = _invite(manager_client, "outsider")
    missing = _invite(manager_client, "nobody-by-this-name")
    assert existing.status_code == missing.status_code == 302
    page = manager_client.get(reverse("accounts:members")).content.decode()
    assert "No user named" not in page
    assert "outsider@example.org" not in page


def test_renaming_reveals_no_other_institution_name(
    manager_client: Client, institution: Institution, other_institution: Institution
) -> None:
    response = manager_client.post(
        reverse("accounts:institution_settings"), {"name": "Other Archive"}, follow=True
    )
    assert b"already exists" not in response.content
    institution.refresh_from_db()
    assert institution.name == "Other Archive" and institution.slug == "test-archive"
