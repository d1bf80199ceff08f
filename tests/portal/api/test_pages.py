"""The API tokens page and the webhooks page: create, list, revoke/pause/delete."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from portal.api.models import ApiToken
from portal.webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


def test_token_page_shows_the_secret_once_then_revokes(
    archivist_client: Client, archivist: Any
) -> None:
    page = archivist_client.post(
        "/account/tokens/", {"name": "Harvester", "scope": "read", "expires_in": "30"}
    )
    assert page.status_code == 200
    secret = re.search(rb'value="(tap_[^"]+)"', page.content).group(1).decode()
    token = ApiToken.objects.get(user=archivist, name="Harvester")
    assert token.scope == "read" and token.expires_at is not None
    listing = archivist_client.get("/account/tokens/")
    assert b"Harvester" in listing.content and secret.encode() not in listing.content
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/tapes/").status_code == 200
    archivist_client.post(f"/account/tokens/{token.pk}/revoke/")
    assert api.get("/api/v1/tapes/").status_code == 401


def test_someone_elses_token_cannot_be_revoked(archivist_client: Client, manager: Any) -> None:
    from portal.api.tokens import token_create

    token, _ = token_create(user=manager, name="theirs")
    assert archivist_client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_webhooks_page_for_managers(manager_client: Client, archivist_client: Client) -> None:
    assert archivist_client.get("/webhooks/").status_code == 403
    page = manager_client.post(
        "/webhooks/",
        {"url": "https://cms.example.org/hook", "event_types": ["job.failed", "fixity.failed"]},
    )
    assert page.status_code == 200 and b"whsec_" in page.content
    endpoint = Endpoint.objects.get()
    assert endpoint.event_types == ["fixity.failed", "job.failed"]
    manager_client.post(f"/webhooks/{endpoint.pk}/toggle/")
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    manager_client.post(f"/webhooks/{endpoint.pk}/delete/")
    assert not Endpoint.objects.exists()
