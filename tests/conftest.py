"""Fixtures shared by the whole suite: personas, logged-in clients, a private media root."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from accounts.models import Institution, Role
from tests.media import make_video
from tests.personas import make_institution, make_user
from tests.s3 import create_bucket, moto_server, storage_options


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


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """PBKDF2 with production iterations costs ~1 s per hash on this shared machine; tests
    check who may log in, not the hasher's strength (Django's own advice for test suites)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_cache_namespace(settings: Any, request: pytest.FixtureRequest) -> None:
    """Each test counts lockouts and API rates in its own key namespace: with Redis as the
    cache (CI's second pass) nothing is rolled back between tests."""
    import uuid

    caches = {name: dict(config) for name, config in settings.CACHES.items()}
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches


@pytest.fixture(autouse=True)
def _fresh_cache(request: pytest.FixtureRequest, django_db_blocker: Any) -> Iterator[None]:
    """Tests that commit for real leave the database cache (lockouts, rate counters) behind:
    empty it after them. Other tests roll it back with their transaction."""
    yield
    marker = request.node.get_closest_marker("django_db")
    committed = (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if committed:
        from django.core.cache import cache

        # transactional_db may be torn down first (fixture order): unblock for the clear.
        with django_db_blocker.unblock():
            cache.clear()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """URL of a moto S3 server on loopback, one per test session."""
    with moto_server() as url:
        yield url


@pytest.fixture
def s3_storage(settings: Any, s3_endpoint: str) -> dict[str, Any]:
    """Point the default storage at a fresh bucket of the moto server; returns its options."""
    options = storage_options(s3_endpoint, create_bucket(s3_endpoint))
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "portal.storage.ArchiveS3Storage", "OPTIONS": options},
    }
    return options


@pytest.fixture(params=["local", "s3"])
def any_storage(request: pytest.FixtureRequest) -> str:
    """Runs a test twice: media on the local disk, then on the S3-protocol server."""
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    return str(request.param)


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
    """``video_factory("name.mkv", frames=12, codec="ffv1", audio=True)``: a real video's path."""

    def factory(name: str = "capture.mkv", **options: Any) -> Path:
        return make_video(tmp_path / name, **options)

    return factory


CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """Debian's chromium (never a downloaded browser), headless, offline: one per test module
    (starting it costs about a second); each test gets its own fresh context."""
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests' own ORM calls are
    # synchronous, which Django only allows with this flag (scoped to the module's browser).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-background-networking",
                    "--disable-gpu",
                    "--disable-component-update",
                    "--no-first-run",
                    "--autoplay-policy=no-user-gesture-required",
                ],
            )
            try:
                yield browser
            finally:
                browser.close()
                connections.close_all()


@pytest.fixture
def browser_context(chromium_browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (cookies, storage) per test.

    Playwright's ``wait_for_function`` compiles its predicate with ``new Function``, which the
    site's Content-Security-Policy forbids, so contexts bypass the policy unless a test is
    marked ``enforce_csp`` (tests/portal/test_security_headers.py checks the pages under it).
    """
    enforce = request.node.get_closest_marker("enforce_csp") is not None
    context = chromium_browser.new_context(bypass_csp=not enforce)
    try:
        yield context
    finally:
        context.close()
        # ORM calls made while Playwright's loop runs use their own connection (another
        # asgiref context); close it so the test database can be dropped.
        connections.close_all()


@pytest.fixture
def page(browser_context: Any) -> Any:
    return browser_context.new_page()
