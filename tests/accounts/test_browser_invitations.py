"""Inviting in chromium (issue 15): a manager makes an invitation link on the members page, a
person without an account opens it, makes one and lands in the institution; an e-mail
invitation reaches an existing user of another institution, who logs in and joins."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail

from accounts.models import Membership, Role
from tests.personas import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_manager_invites_by_link_and_by_email(
    chromium_browser: Any, page: Any, live_server: Any, manager: Any, outsider: Any
) -> None:
    institution = manager.memberships.get().institution
    log_in(page, live_server.url, "manager")
    page.goto(f"{live_server.url}/accounts/members/")
    form = page.locator("[data-role=invite-link]")
    form.locator("select[name=role]").select_option(Role.REVIEWER)
    form.locator("button[type=submit]").click()
    link = page.input_value("[data-role=invitation-link]")
    assert re.fullmatch(rf"{live_server.url}/accounts/join/[\w-]+/", link), link
    assert "invitation link" in page.inner_text("main")  # pending, listed

    phone = {"width": 390, "height": 844}  # both people open their link on a phone
    newcomer = chromium_browser.new_context(bypass_csp=True, viewport=phone).new_page()
    newcomer.goto(link)
    assert newcomer.evaluate("document.documentElement.scrollWidth") <= 390
    assert f"Join {institution.name}" in newcomer.inner_text("h1")
    signup = newcomer.locator("[data-role=signup]")
    signup.locator("#id_username").fill("ana")
    signup.locator("#id_password1").fill("a long passphrase 42")
    signup.locator("#id_password2").fill("a long passphrase 42")
    signup.locator("button[type=submit]").click()
    newcomer.wait_for_selector("text=you are now reviewer")
    assert newcomer.inner_text("h1") == "Hello ana"  # home, in the institution
    assert Membership.objects.get(user__username="ana").institution == institution
    assert newcomer.goto(link).status == 404  # used once: gone
    newcomer.context.close()

    page.goto(f"{live_server.url}/accounts/members/")
    form = page.locator("[data-role=invite-link]")
    form.locator("input[name=email]").fill("them@example.org")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=Invitation sent to them@example.org")
    assert page.locator("[data-role=invitation-link]").count() == 0  # sent, not shown
    emailed = re.search(r"http\S+/accounts/join/\S+/", mail.outbox[-1].body).group(0)

    other = chromium_browser.new_context(bypass_csp=True, viewport=phone).new_page()
    other.goto(emailed)
    with other.expect_navigation():  # measured once the log-in page has replaced the link's
        other.click("[data-role=login-then-join]")
    assert other.evaluate("document.documentElement.scrollWidth") <= 390  # the log-in page
    other.fill("#id_username", outsider.username)
    other.fill("#id_password", PASSWORD)
    with other.expect_navigation():
        other.click("button[type=submit]")
    other.click("text=Join as")
    other.wait_for_selector("text=you are now archivist")
    assert Membership.objects.filter(user=outsider, institution=institution).exists()
    other.context.close()
