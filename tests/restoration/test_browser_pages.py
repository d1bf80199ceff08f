"""Every main page in chromium at 390 px and 1440 px: none is wider than a phone screen, and a
screenshot of each is saved to docs/screenshots/ (generated, git-ignored; README names it).
The same module checks the fixed items of issue 15 that a person sees on those pages."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from accounts.models import Institution
from portal.tools.page_widths import PHONE, main_pages, measure, tables_with_rows
from restoration import services
from restoration.models import Decision, RestoredVersion
from tests.personas import PASSWORD
from tests.restoration.factories import coded_version, finished_job

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("sync_tasks")]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


@pytest.fixture
def workflow(archivist: Any, reviewer: Any, manager: Any, make_capture: Any, tape: Any) -> dict:
    """A real restoration (tiny model, inline worker), a second version, a decision, a comment."""
    capture = make_capture(tape, frames=12)
    job = services.job_request(actor=archivist, capture=capture, parameters={"preview": False})
    version = RestoredVersion.objects.get(job=job)
    other = services.job_request(actor=archivist, capture=capture)
    services.version_decide(actor=reviewer, version=version, decision=Decision.APPROVE)
    services.version_comment_add(actor=reviewer, version=version, frame=3, text="streak")
    return {
        "tape": tape.pk,
        "capture": capture.pk,
        "job": job.pk,
        "version": version.pk,
        "other_version": RestoredVersion.objects.get(job=other).pk,
    }


def test_every_main_page_fits_a_phone_and_is_photographed(
    chromium_browser: Any, live_server: Any, workflow: dict, manager: Any
) -> None:
    version = RestoredVersion.objects.get(pk=workflow["version"])
    Institution.objects.filter(pk=version.institution_id).update(public_access=True)
    version.institution.refresh_from_db()
    services.version_publish(actor=manager, version=version)
    tables_with_rows(manager, version.institution)  # token and webhook rows, buttons included
    pages = main_pages(workflow)
    assert len(pages) >= 20
    errors: list[str] = []
    widths = measure(
        chromium_browser,
        live_server.url,
        pages,
        login=("manager", PASSWORD),
        screenshot_dir=SCREENSHOTS,
        errors=errors,
    )
    too_wide = [(name, width) for name, width in widths if width > PHONE]
    assert too_wide == []
    assert errors == []  # no script error, nothing the CSP blocked, no failed request
    for name, _path in pages:
        for size in (390, 1440):
            assert (SCREENSHOTS / f"{name}-{size}.png").stat().st_size > 2000


def test_publishing_says_where_the_public_page_is(
    page: Any, live_server: Any, workflow: dict, manager: Any
) -> None:
    log_in(page, live_server.url, "manager")
    page.goto(f"{live_server.url}/versions/{workflow['version']}/")
    page.click("text=Publish this version")
    page.wait_for_selector("text=it is not public yet")
    notice = page.locator("[data-role=public-notice]")
    assert "not found" in notice.inner_text()
    page.click("[data-role=public-access-link]")  # straight to the setting
    assert page.url.endswith("/accounts/institution/#public-access")
    page.check("#id_public_access")
    page.click("text=Save settings")
    page.goto(f"{live_server.url}/tapes/{workflow['tape']}/")
    page.click("[data-role=public-link]")
    assert page.locator("video").count() == 1  # the public page plays, no 404


def test_public_access_label_sits_beside_its_box_with_help_below(
    page: Any, live_server: Any, manager: Any
) -> None:
    log_in(page, live_server.url, "manager")
    page.goto(f"{live_server.url}/accounts/institution/")
    box = page.locator("#id_public_access").bounding_box()
    label = page.locator("#public-access > label").bounding_box()
    help_text = page.locator("#public-access > .help").bounding_box()
    assert abs((box["y"] + box["height"] / 2) - (label["y"] + label["height"] / 2)) < 12
    assert help_text["y"] >= label["y"] + label["height"] - 1  # below, not running into it


def test_archivist_breadcrumb_leads_to_a_page_they_may_open(
    page: Any, live_server: Any, workflow: dict, archivist: Any
) -> None:
    log_in(page, live_server.url, "archivist")
    page.goto(f"{live_server.url}/versions/{workflow['version']}/")
    first_crumb = page.locator("main p.small a").first
    first_crumb.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() != "Permission denied"
    assert "/jobs/" in page.url


def test_history_and_job_page_read_as_words(
    page: Any, live_server: Any, workflow: dict, archivist: Any
) -> None:
    from portal.catalog.models import Tape
    from portal.catalog.services import tape_update

    tape_update(
        actor=archivist, tape=Tape.objects.get(pk=workflow["tape"]), carrier_format="u-matic"
    )
    log_in(page, live_server.url, "archivist")
    page.goto(f"{live_server.url}/tapes/{workflow['tape']}/history/")
    history = page.inner_text("table.history")
    for raw in ("{'", "False", "True", "None", "u-matic", "_id:"):
        assert raw not in history, raw
    assert "U-matic" in history and "preview only: no" in history
    # Record ids without a page read like counts ("decision: 1"): not shown.
    assert not re.search(r"(decision|publication): \d", history), history
    page.goto(f"{live_server.url}/jobs/{workflow['job']}/")
    options = page.inner_text("[data-role=options]")
    assert "reference selector:" in options and "{" not in options and "preview only: no" in options
    assert "_s" not in page.inner_text("[data-role=timings]")
    page.goto(f"{live_server.url}/captures/{workflow['capture']}/")
    assert page.inner_text("[data-role=container]") == "Matroska"
    assert page.inner_text("[data-role=bit-rate]").endswith("b/s")
    assert page.inner_text("[data-role=scan]") in (
        "progressive",
        "scan type unknown (the file does not say)",
    ) or page.inner_text("[data-role=scan]").startswith("interlaced")


def test_catalog_sort_headers_show_the_active_column_and_direction(
    page: Any, live_server: Any, workflow: dict
) -> None:
    log_in(page, live_server.url, "archivist")
    page.goto(f"{live_server.url}/tapes/")
    header = page.locator("th[aria-sort=ascending]")
    assert header.inner_text().lower().startswith("identifier") and "▲" in header.inner_text()
    header.locator("a").click()
    assert "▼" in page.locator("th[aria-sort=descending]").inner_text()
    page.click("th >> text=Title")
    assert page.locator("th[aria-sort=ascending]").inner_text().lower().startswith("title")


def test_thumbnails_appear_on_first_open_without_duplicates(
    page: Any,
    live_server: Any,
    archivist: Any,
    reviewer: Any,
    make_capture: Any,
    tape: Any,
    tmp_path: Any,
) -> None:
    capture = make_capture(tape, frames=30)
    version = coded_version(
        finished_job(capture, archivist), frame_start=0, frame_end=30, tmp_dir=tmp_path
    )
    log_in(page, live_server.url, "reviewer")
    page.goto(f"{live_server.url}/versions/{version.pk}/")
    page.reload()  # an interrupted first visit: requests aborted mid-way
    # The issue saw 6 of 8 still empty after 5 s; here all are shown in about 1 s (10 s: a
    # loaded machine's margin, still far from "blank on first open").
    page.wait_for_function(
        "[...document.querySelectorAll('.worst-frames img')].length >= 6 && "
        "[...document.querySelectorAll('.worst-frames img')]"
        ".every(i => i.dataset.ready === '1' && i.naturalWidth > 0)",
        timeout=10_000,
    )
    directory = f"restorations/{version.institution_id}/job-{version.job_id}/thumbs"
    _dirs, files = default_storage.listdir(directory)
    assert files and all(re.fullmatch(r"\d+-(before|after)\.jpg", name) for name in files), files


def test_home_counts_link_to_filtered_lists_and_bulk_actions_work(
    page: Any, live_server: Any, workflow: dict, archivist: Any
) -> None:
    from portal.catalog.models import Collection, Tape
    from portal.catalog.services import collection_create, tape_create

    institution = archivist.memberships.get().institution
    shelf = collection_create(actor=archivist, institution=institution, name="Shelf 4")
    spare = tape_create(actor=archivist, institution=institution, identifier="SPARE-1")
    log_in(page, live_server.url, "archivist")
    page.goto(f"{live_server.url}/")
    uploads = page.locator("[data-section=uploads]")
    assert uploads.locator(".count").inner_text() == "1"
    assert "My running jobs" in page.inner_text(".counts")
    page.click("[data-section=my-jobs]")
    assert "mine=1" in page.url

    page.goto(f"{live_server.url}/tapes/")
    buttons = page.locator("[data-role=bulkbar] button[name=action]")
    assert all(buttons.nth(i).is_disabled() for i in range(buttons.count()))
    page.check("[data-role=select-all]")
    assert page.inner_text("[data-role=selected-count]") == "2 selected"
    page.select_option("select[name=collection]", str(shelf.pk))
    page.click("button[value=collection]")
    page.wait_for_selector("text=2 tapes added to Shelf 4")
    assert set(Tape.objects.filter(collection=shelf).values_list("pk", flat=True)) == {
        workflow["tape"],
        spare.pk,
    }
    page.check(f"input[name=tape][value='{spare.pk}']")
    with page.expect_download() as download:
        page.click("button[value=export]")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "SPARE-1" in text and "VHS-042" not in text  # only the selection
    page.check("[data-role=select-all]")
    page.click("button[value=restore]")
    assert "SPARE-1" in page.inner_text(".message.warning")  # no capture: named, left out
    assert page.locator("[data-role=bulk-captures] li").count() == 1
    page.click("text=Queue 1 job")
    page.wait_for_selector("text=1 job queued with the same options")
    assert Collection.objects.count() == 1
