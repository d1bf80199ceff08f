"""Width of every main page on a 390 px phone screen, measured in chromium.

    python -m portal.tools.page_widths              # prints one line per page, exit 1 if any > 390
    python -m portal.tools.page_widths --screenshots docs/screenshots

Builds a throw-away installation in a temporary directory (SQLite, the demo institution, users,
tapes and capture from ``seed_demo``, one restoration job run inline on a few frames with the
shipped model, a second one to compare, a publication with public access on), serves it on a
loopback port, logs in as the demo manager and loads each page at 390 px (and 1440 px for the
screenshots). Nothing touches ``var/``. The browser tests call ``main_pages`` and ``measure``
with their own data (tests/restoration/test_browser_pages.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PHONE = 390
DESKTOP = 1440


def main_pages(ids: dict[str, int]) -> list[tuple[str, str]]:
    """(name, path) of every main page, for the objects in ``ids`` (tape, capture, job,
    version, other_version, collection)."""
    from django.urls import NoReverseMatch, reverse

    wanted: list[tuple[str, str, list[Any], str]] = [
        ("home", "home", [], ""),
        ("catalog", "catalog:tape_list", [], ""),
        ("tape", "catalog:tape_detail", [ids["tape"]], ""),
        ("tape-history", "catalog:tape_history", [ids["tape"]], ""),
        ("tape-new", "catalog:tape_create", [], ""),
        ("tape-edit", "catalog:tape_edit", [ids["tape"]], ""),
        ("tape-import", "catalog:tape_import", [], ""),
        ("collections", "catalog:collection_list", [], ""),
        ("captures", "captures:list", [], ""),
        ("upload", "captures:upload", [ids["tape"]], ""),
        ("capture", "captures:detail", [ids["capture"]], ""),
        ("restore", "restoration:job_create", [ids["capture"]], ""),
        ("bulk-restore", "restoration:bulk_restore", [], f"?tape={ids['tape']}"),
        ("jobs", "restoration:job_list", [], ""),
        ("job", "restoration:job_detail", [ids["job"]], ""),
        ("queue", "restoration:queue", [], ""),
        ("review-list", "restoration:review_list", [], "?state=all"),
        ("version", "restoration:version_detail", [ids["version"]], ""),
        ("compare", "restoration:version_compare", [ids["version"], ids["other_version"]], ""),
        ("members", "accounts:members", [], ""),
        ("settings", "accounts:institution_settings", [], ""),
        ("history", "audit:institution_history", [], ""),
        ("storage", "preservation:storage", [], ""),
        ("webhooks", "webhooks:list", [], ""),
        ("tokens", "api_pages:tokens", [], ""),
        ("invitations", "accounts:invitations", [], ""),
        ("password", "accounts:password_change", [], ""),
        ("public-tape", "restoration:public_tape", [ids["tape"]], ""),
    ]
    pages = []
    for name, url_name, args, query in wanted:
        try:
            pages.append((name, reverse(url_name, args=args) + query))
        except NoReverseMatch:  # a page another part of the project has not added (yet)
            continue
    return pages


def measure(
    browser: Any,
    base_url: str,
    pages: Iterable[tuple[str, str]],
    *,
    login: tuple[str, str],
    screenshot_dir: Path | None = None,
    errors: list[str] | None = None,
) -> list[tuple[str, int]]:
    """Log in, then each page's document width at 390 px (``scrollWidth``: what a phone would
    scroll sideways). With ``screenshot_dir``: full-page PNGs at 1440 and 390 px there. With
    ``errors``: every JavaScript error and console error (a script or style the Content-Security-
    Policy blocked, a failed request) is added to it as "page: message"."""
    results = []
    current = {"name": "login"}
    widths = (PHONE, DESKTOP) if screenshot_dir else (PHONE,)
    for width in widths:
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        if errors is not None:
            page.on("pageerror", lambda error: errors.append(f"{current['name']}: {error}"))
            page.on(
                "console",
                lambda message: (
                    errors.append(f"{current['name']}: {message.text}")
                    if message.type == "error"
                    else None
                ),
            )
        page.goto(f"{base_url}/accounts/login/")
        page.fill("#id_username", login[0])
        page.fill("#id_password", login[1])
        page.click("button[type=submit]")
        page.wait_for_load_state()
        for name, path in pages:
            current["name"] = f"{name} at {width} px"
            page.goto(f"{base_url}{path}")
            page.wait_for_load_state("load")
            page.wait_for_timeout(150)  # scripts that lay out (timeline canvas, thumbnails)
            if screenshot_dir is not None and page.locator(".worst-frames img.loading").count():
                # The version page's thumbnails are made by a worker on first request: wait
                # for them (a few seconds) so the screenshot shows the page as people see it.
                # (Polled from here: wait_for_function needs eval, which the site's CSP forbids.)
                for _ in range(120):
                    if not page.locator(".worst-frames img.loading").count():
                        break
                    page.wait_for_timeout(250)
            if width == PHONE:
                scroll = page.evaluate(
                    "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
                )
                results.append((name, int(scroll)))
            if screenshot_dir is not None:
                screenshot_dir.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot_dir / f"{name}-{width}.png"), full_page=True)
        context.close()
    return results


def _launch(playwright: Any) -> Any:
    import shutil

    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("Debian's chromium is needed: apt-get install chromium")
    return playwright.chromium.launch(
        executable_path=executable, headless=True, args=["--no-sandbox", "--disable-gpu"]
    )


def _build_installation() -> dict[str, int]:
    """Migrate, seed the demo, restore a few frames twice (inline), publish one version."""
    from django.core.management import call_command
    from django_q.conf import Conf

    from accounts.models import Institution
    from portal.captures.demo import seed_demo
    from restoration import services
    from restoration.models import Decision

    call_command("migrate", verbosity=0)
    Conf.SYNC = True  # django-q2 runs tasks inline, in this process (proxy, jobs, thumbnails)
    summary = seed_demo(with_capture=True)
    capture = summary.capture
    from django.contrib.auth import get_user_model

    users = {str(role): name for name, role, _password, _created in summary.users}
    user_model = get_user_model()
    archivist = user_model.objects.get(username=users["archivist"])
    manager = user_model.objects.get(username=users["manager"])
    reviewer = user_model.objects.get(username=users["reviewer"])
    frames = {"frame_start": 0, "frame_end": 6, "scorer": "none"}
    first = services.job_request(actor=archivist, capture=capture, parameters=frames)
    second = services.job_request(actor=archivist, capture=capture, parameters=dict(frames))
    first.refresh_from_db()
    second.refresh_from_db()
    version = first.version
    services.version_decide(actor=reviewer, version=version, decision=Decision.APPROVE)
    Institution.objects.filter(pk=capture.institution_id).update(public_access=True)
    version.institution.refresh_from_db()
    services.version_publish(actor=manager, version=version)
    services.version_comment_add(actor=reviewer, version=version, frame=2, text="dropout here")
    tables_with_rows(manager, capture.institution)
    return {
        "tape": capture.tape_id,
        "capture": capture.pk,
        "job": first.pk,
        "version": version.pk,
        "other_version": second.version.pk,
    }


def tables_with_rows(manager: Any, institution: Any) -> None:
    """A token and a webhook, so their pages are measured with a row (buttons included)."""
    from portal.api.tokens import token_create
    from portal.webhooks.services import webhook_endpoint_create

    token_create(user=manager, name="Collection management system (nightly sync)")
    webhook_endpoint_create(
        actor=manager,
        institution=institution,
        url="https://collections.example.org/hooks/tape-archive/restorations",
        event_types=["job.succeeded", "version.published"],
        description="Tells the collection system when a tape is restored",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshots", type=Path, help="also save 1440/390 px screenshots here")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="page-widths-"))
    os.environ.update(
        PORTAL_VAR_DIR=str(workdir),
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="portal.settings",
        DJANGO_ALLOW_ASYNC_UNSAFE="true",
    )
    for variable in ("DATABASE_URL", "REDIS_URL", "AWS_STORAGE_BUCKET_NAME", "MEDIA_ROOT"):
        os.environ.pop(variable, None)
    import django

    django.setup()
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread
    from playwright.sync_api import sync_playwright

    from portal.catalog.demo import DEMO_USERS

    ids = _build_installation()
    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    base = f"http://127.0.0.1:{server.port}"
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        errors: list[str] = []
        results = measure(
            browser,
            base,
            main_pages(ids),
            login=next((name, pw) for name, role, pw in DEMO_USERS if role == "manager"),
            screenshot_dir=args.screenshots,
            errors=errors,
        )
        browser.close()
    server.terminate()
    worst = 0
    for name, width in results:
        flag = "" if width <= PHONE else "   <-- wider than the screen"
        print(f"{name:<14} {width:>5} px{flag}")
        worst = max(worst, width)
    print(f"widest: {worst} px at a {PHONE} px viewport ({len(results)} pages)")
    for error in errors:
        print(f"error in the browser: {error}")
    print(f"browser errors: {len(errors)}")
    return 0 if worst <= PHONE and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
