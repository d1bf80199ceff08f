"""Shared personas: an archivist, a reviewer and a manager of one institution, and an outsider
who belongs to another institution. Every app's tests use these (see tests/conftest.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from accounts.models import Institution, Membership, Role

PASSWORD = "correct-horse-battery-staple"


def make_institution(
    name: str = "Test Archive", slug: str = "test-archive", **settings: Any
) -> Institution:
    institution, _ = Institution.objects.get_or_create(
        slug=slug, defaults={"name": name, **settings}
    )
    return institution


def make_user(
    username: str, institution: Institution | None = None, role: str = Role.ARCHIVIST
) -> Any:
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.org", password=PASSWORD
    )
    if institution is not None:
        Membership.objects.create(user=user, institution=institution, role=role)
    return user


def api_token(user: Any, *, scope: str = "read_write", name: str = "tests") -> str:
    """A managed API token of ``user`` (the secret, for ``Authorization: Bearer``)."""
    from portal.api.tokens import token_create

    return token_create(user=user, name=name, scope=scope)[1]
