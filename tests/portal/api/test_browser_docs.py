"""The API docs page renders in a real browser with no network (assets from the sidecar)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.personas import PASSWORD

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_offline(page: Any, live_server: Any, archivist: Any) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith(live_server.url) and not request.url.startswith("data:")
            else None
        ),
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


@pytest.mark.django_db(transaction=True)
def test_redoc_renders_offline_and_schema_shows_inline(
    page: Any, live_server: Any, archivist: Any
) -> None:
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith(live_server.url)
            and not request.url.startswith(("data:", "blob:"))
            else None
        ),
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "archivist")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/api/redoc/")
    page.wait_for_selector("text=/api/v1/tapes/", timeout=30_000)
    page.wait_for_timeout(500)
    assert outside == []  # no fonts.googleapis.com, no cdn.redoc.ly logo
    # The schema opens as text in the browser (a download would make goto raise).
    response = page.goto(f"{live_server.url}/api/schema/")
    assert response is not None and response.headers["content-type"].startswith("text/plain")
    assert "openapi: 3" in page.inner_text("body")
