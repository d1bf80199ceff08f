"""Browser check of the tokens and webhooks pages (Debian's chromium): create, see the secret."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.personas import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page: Any, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_manager_creates_a_token_and_a_webhook(page: Any, live_server: Any, manager: Any) -> None:
    _login(page, live_server, "manager")
    page.click("text=API tokens")
    page.fill("#id_name", "Collection system")
    page.select_option("#id_scope", "read_write")
    page.click("text=Create token")
    assert page.input_value("#new-token").startswith("tap_")
    assert "Read and write" in page.inner_text("table")
    shots = os.environ.get("SCREENSHOT_DIR")
    if shots:
        page.screenshot(path=f"{shots}/tokens.png", full_page=True)
    page.click("nav >> text=Webhooks")
    page.fill("#id_url", "https://cms.example.org/hook")
    page.check("input[value='fixity.failed']")
    page.click("text=Add webhook")
    assert page.input_value("#webhook-secret").startswith("whsec_")
    assert "fixity.failed" in page.inner_text("table")
    if shots:
        page.screenshot(path=f"{shots}/webhooks.png", full_page=True)
