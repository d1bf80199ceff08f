"""The API docs page renders in a real browser with no network (assets from the sidecar)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connections

from tests.personas import PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")


@pytest.fixture
def page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                  "--disable-component-update", "--no-first-run"],
        )
        try:
            yield browser.new_context().new_page()
        finally:
            browser.close()
            connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_offline(page: Any, live_server: Any, archivist: Any) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda request: outside.append(request.url)
        if not request.url.startswith(live_server.url) and not request.url.startswith("data:")
        else None,
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "archivist")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector("text=/api/v1/tapes/", timeout=20_000)
    assert page.locator(".opblock").count() > 10
    assert outside == []
