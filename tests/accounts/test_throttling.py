"""Defect 3 and part of 7 of issue 12: password guessing and API flooding are throttled.

Login page and token endpoint share one lockout (per user name + address, per user name, per
address), answered 429 with Retry-After, checked *before* any password hash is computed. API
clients get a rate per token. A password change revokes the user's API tokens.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts import throttling
from portal.api.models import ApiToken
from tests.personas import PASSWORD, api_token

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"


def _wrong_login(client: Client, username: str = "archivist") -> Any:
    return client.post(reverse("accounts:login"), {"username": username, "password": "guess"})


def test_login_page_locks_out_with_429_and_retry_after(
    client: Client, archivist: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1_000_000.0]
    monkeypatch.setattr(throttling, "_now", lambda: clock[0])
    statuses = [_wrong_login(client).status_code for _ in range(throttling.MAX_FAILURES_PER_PAIR)]
    assert statuses == [200] * throttling.MAX_FAILURES_PER_PAIR
    locked = _wrong_login(client)
    assert locked.status_code == 429
    retry_after = int(locked["Retry-After"])
    assert 0 < retry_after <= throttling.WINDOW_S
    assert b"Too many failed log-ins" in locked.content
    # Even the right password is refused while locked (the guesser must not learn it).
    right = client.post(reverse("accounts:login"), {"username": "archivist", "password": PASSWORD})
    assert right.status_code == 429
    clock[0] += retry_after + 1
    right = client.post(reverse("accounts:login"), {"username": "archivist", "password": PASSWORD})
    assert right.status_code == 302


def test_token_endpoint_shares_the_lockout(client: Client, archivist: Any) -> None:
    for _ in range(throttling.MAX_FAILURES_PER_PAIR):
        response = client.post(
            TOKEN_URL,
            {"username": "archivist", "password": "guess"},
            content_type="application/json",
        )
        assert response.status_code == 400
    response = client.post(
        TOKEN_URL, {"username": "archivist", "password": PASSWORD}, content_type="application/json"
    )
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["error"]["code"] == "throttled"
    # The login page is locked for the same name too.
    assert (
        client.post(
            reverse("accounts:login"), {"username": "archivist", "password": PASSWORD}
        ).status_code
        == 429
    )


def test_guessing_many_names_from_one_address_is_stopped(client: Client, db: None) -> None:
    statuses = [
        _wrong_login(client, f"user{i}").status_code
        for i in range(throttling.MAX_FAILURES_PER_ADDRESS + 1)
    ]
    assert statuses[-1] == 429 and 429 not in statuses[:-1]


def test_success_clears_the_pair_counter(client: Client, archivist: Any) -> None:
    for _ in range(throttling.MAX_FAILURES_PER_PAIR - 1):
        _wrong_login(client)
    assert (
        client.post(
            reverse("accounts:login"), {"username": "archivist", "password": PASSWORD}
        ).status_code
        == 302
    )
    client.post(reverse("accounts:logout"))
    assert _wrong_login(client).status_code == 200


def test_api_rate_per_token_answers_429_with_retry_after(
    archivist: Any, manager: Any, settings: Any
) -> None:
    settings.API_RATE_PER_CLIENT = "3/min"
    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_token(archivist)}")
    statuses = [api.get("/api/v1/tapes/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get("/api/v1/tapes/")
    assert int(response["Retry-After"]) > 0 and response.json()["error"]["code"] == "throttled"
    # Another client's token has its own budget.
    other = Client(HTTP_AUTHORIZATION=f"Bearer {api_token(manager)}")
    assert other.get("/api/v1/tapes/").status_code == 200


def test_password_change_revokes_api_tokens(client: Client, archivist: Any) -> None:
    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_token(archivist)}")
    assert api.get("/api/v1/tapes/").status_code == 200
    client.force_login(archivist)
    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-long-passphrase-42",
            "new_password2": "a-new-long-passphrase-42",
        },
    )
    assert response.status_code == 302
    assert api.get("/api/v1/tapes/").status_code == 401
    assert not ApiToken.objects.filter(user=archivist, revoked_at__isnull=True).exists()


def test_set_password_anywhere_revokes_tokens_but_other_saves_do_not(archivist: Any) -> None:
    Token.objects.create(user=archivist)
    archivist.email = "new@example.org"
    archivist.save()
    assert Token.objects.filter(user=archivist).exists()
    archivist.set_password("another-long-passphrase-7")
    archivist.save()
    assert not Token.objects.filter(user=archivist).exists()
