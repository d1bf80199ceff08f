"""Defect 4 of issue 12: a superuser's edits in the Django admin are on the audit history."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import Institution, Membership, Role
from portal.audit.models import AuditEvent
from portal.catalog.models import Collection

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(db: None) -> Client:
    superuser = get_user_model().objects.create_superuser("root", "root@example.org", "pw-12345")
    client = Client()
    client.force_login(superuser)
    return client


def test_admin_change_of_a_collection_is_audited(
    admin_client_: Client, institution: Institution
) -> None:
    collection = Collection.objects.create(institution=institution, name="Old name")
    response = admin_client_.post(
        f"/admin/catalog/collection/{collection.pk}/change/",
        {"institution": institution.pk, "name": "New name", "description": ""},
    )
    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.get(action="collection.updated")
    assert event.institution_id == institution.pk
    assert event.actor_label == "root"
    assert event.changes == {"name": ["Old name", "New name"]}
    assert event.details == {"via": "admin"}


def test_admin_role_change_and_delete_of_a_membership_are_audited(
    admin_client_: Client, institution: Institution, archivist: Any
) -> None:
    membership = Membership.objects.get(user=archivist)
    response = admin_client_.post(
        f"/admin/accounts/membership/{membership.pk}/change/",
        {"user": archivist.pk, "institution": institution.pk, "role": Role.MANAGER},
    )
    assert response.status_code == 302, response.content[:2000]
    event = AuditEvent.objects.get(action="membership.updated")
    assert event.changes == {"role": ["archivist", "manager"]}
    assert event.institution_id == institution.pk and event.actor_label == "root"

    response = admin_client_.post(
        f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="membership.deleted", details={"via": "admin"}).exists()


def test_admin_add_is_audited(admin_client_: Client, institution: Institution) -> None:
    response = admin_client_.post(
        "/admin/catalog/collection/add/",
        {"institution": institution.pk, "name": "Added", "description": ""},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="collection.created")
    assert event.changes["name"] == [None, "Added"]
