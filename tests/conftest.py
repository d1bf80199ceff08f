"""Fixtures shared by the whole suite: personas, logged-in clients, a private media root."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from accounts.models import Institution, Role
from tests.media import make_video
from tests.personas import make_institution, make_user


@pytest.fixture(autouse=True)
def _private_media_root(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each test writes media to its own temporary directory, never to var/media."""
    media = tmp_path_factory.mktemp("media")
    settings.MEDIA_ROOT = media
    storages = dict(getattr(settings, "STORAGES", {}))
    default = dict(storages.get("default", {}))
    if default.get("BACKEND", "").endswith("FileSystemStorage"):
        default["OPTIONS"] = {**default.get("OPTIONS", {}), "location": str(media)}
        storages["default"] = default
        settings.STORAGES = storages


@pytest.fixture
def institution(db: None) -> Institution:
    return make_institution("Test Archive", "test-archive")


@pytest.fixture
def other_institution(db: None) -> Institution:
    return make_institution("Other Archive", "other-archive")


@pytest.fixture
def archivist(institution: Institution) -> Any:
    return make_user("archivist", institution, Role.ARCHIVIST)


@pytest.fixture
def reviewer(institution: Institution) -> Any:
    return make_user("reviewer", institution, Role.REVIEWER)


@pytest.fixture
def manager(institution: Institution) -> Any:
    return make_user("manager", institution, Role.MANAGER)


@pytest.fixture
def outsider(other_institution: Institution) -> Any:
    """A manager of another institution: the highest role, but elsewhere."""
    return make_user("outsider", other_institution, Role.MANAGER)


def _client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def archivist_client(archivist: Any) -> Client:
    return _client_for(archivist)


@pytest.fixture
def reviewer_client(reviewer: Any) -> Client:
    return _client_for(reviewer)


@pytest.fixture
def manager_client(manager: Any) -> Client:
    return _client_for(manager)


@pytest.fixture
def outsider_client(outsider: Any) -> Client:
    return _client_for(outsider)


@pytest.fixture
def video_factory(tmp_path: Path) -> Callable[..., Path]:
    """``video_factory("name.mkv", frames=12, codec="ffv1", audio=True)`` -> path of a real video."""

    def factory(name: str = "capture.mkv", **options: Any) -> Path:
        return make_video(tmp_path / name, **options)

    return factory
