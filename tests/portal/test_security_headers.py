"""Defect 7 (headers) of issue 12: CSP and Permissions-Policy on every page; the pages and their
scripts still work under the policy in a real browser (no violation, confirm dialogs work)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from portal.catalog.models import Tape
from tests.personas import PASSWORD

pytestmark = pytest.mark.django_db


def test_pages_api_and_login_carry_csp_and_permissions_policy(
    client: Client, archivist_client: Client
) -> None:
    for response in (
        client.get(reverse("accounts:login")),
        archivist_client.get(reverse("catalog:tape_list")),
        archivist_client.get("/api/v1/tapes/"),
    ):
        policy = response["Content-Security-Policy"]
        assert (
            "script-src 'self';" in policy
            and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        )
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "camera=()" in response["Permissions-Policy"]


def test_no_template_has_inline_scripts_or_event_handlers() -> None:
    import re
    from pathlib import Path

    from django.conf import settings

    offenders = []
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = path.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"\son[a-z]+=\"", text):
            offenders.append(path.name)
    assert offenders == []


@pytest.mark.browser
@pytest.mark.enforce_csp
@pytest.mark.django_db(transaction=True)
def test_pages_work_under_the_policy_in_chromium(
    page: Any, live_server: Any, archivist: Any, manager: Any, institution: Any
) -> None:
    tape = Tape.objects.create(institution=institution, identifier="CSP-1", title="Policy")
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: violations.append(str(error)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    for path in (
        "/tapes/",
        f"/tapes/{tape.pk}/",
        "/accounts/members/",
        "/jobs/",
        f"/captures/upload/{tape.pk}/",
        "/history/",
        "/api/docs/",
    ):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    assert violations == []

    # The delete button asks first (portal.js, not an inline handler): dismissing keeps it.
    page.goto(f"{live_server.url}/tapes/{tape.pk}/")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click("form[data-confirm] button.danger")
    page.wait_for_timeout(500)
    assert asked and "CSP-1" in asked[0]
    assert Tape.objects.filter(pk=tape.pk).exists()
