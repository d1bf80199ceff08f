"""Password hashing (issue 15, "login takes 0.8-1.3 s"): Argon2id at OWASP's minimum is the
first hasher; a PBKDF2 hash from before still logs in and is upgraded on the way."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth.hashers import get_hasher, make_password
from django.test import Client

from portal import settings as portal_settings
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def real_hashers(settings: Any) -> None:
    settings.PASSWORD_HASHERS = portal_settings.PASSWORD_HASHERS  # not the tests' fast MD5


@pytest.mark.usefixtures("real_hashers")
def test_argon2id_at_owasp_minimum_is_used_and_cheap() -> None:
    hasher = get_hasher()
    assert hasher.algorithm == "argon2"
    assert (hasher.memory_cost, hasher.time_cost, hasher.parallelism) == (19 * 1024, 2, 1)
    encoded = make_password("a long enough password")
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    started = time.perf_counter()
    assert hasher.verify("a long enough password", encoded)
    assert time.perf_counter() - started < 0.4  # PBKDF2 took ~0.5 s here even when idle


@pytest.mark.usefixtures("real_hashers")
def test_an_old_pbkdf2_hash_logs_in_and_is_upgraded(archivist: Any) -> None:
    archivist.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    archivist.save(update_fields=["password"])
    response = Client().post(
        "/accounts/login/", {"username": archivist.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    archivist.refresh_from_db()
    assert archivist.password.startswith("argon2$argon2id$")
