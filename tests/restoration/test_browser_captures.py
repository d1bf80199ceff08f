"""The captures list in chromium: search and filters, an export that honours them, and bulk
work on a selection (restore with the same options, export CSV, add their tapes to a
collection), on a desktop screen and on a phone."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from portal.catalog.models import Tape
from portal.catalog.services import collection_create
from restoration.models import RestorationJob
from tests.personas import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("sync_tasks")]


def log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def rows(download: Any) -> list[dict[str, str]]:
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def captures(archivist: Any, make_capture: Any, tape: Tape) -> dict[str, Any]:
    institution = tape.institution
    second = Tape.objects.create(institution=institution, identifier="BETA-7", title="Harbour")
    third = Tape.objects.create(institution=institution, identifier="BETA-8", title="Market")
    return {
        "parade": make_capture(tape, frames=6),
        "harbour": make_capture(second, frames=6),
        "market": make_capture(third, frames=6),
        "shelf": collection_create(actor=archivist, institution=institution, name="Shelf 9"),
    }


def test_captures_list_bulk_restore_export_and_collection(
    page: Any, live_server: Any, archivist: Any, captures: dict[str, Any]
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, "archivist")
    page.click("nav.mainnav >> text=Captures")
    assert page.inner_text("h1").startswith("Captures") and "3 found" in page.inner_text("h1")

    # The list's own export honours the search.
    page.fill("input[name=q]", "BETA")
    page.click("form[role=search] button[type=submit]")
    assert "2 found" in page.inner_text("h1")
    with page.expect_download() as download:
        page.click("[data-role=export-filtered]")
    assert sorted(row["tape"] for row in rows(download)) == ["BETA-7", "BETA-8"]

    # Sorting by tape shows the active column and its direction.
    page.click("th >> text=Tape")
    assert page.locator("th[aria-sort=ascending]").inner_text().lower().startswith("tape")

    # Bulk: nothing selected, nothing to press.
    buttons = page.locator("[data-role=bulkbar] button[name=action]")
    assert all(buttons.nth(i).is_disabled() for i in range(buttons.count()))
    harbour = captures["harbour"]
    page.check(f"input[name=capture][value='{harbour.pk}']")
    assert page.inner_text("[data-role=selected-count]") == "1 selected"
    with page.expect_download() as download:
        page.click("button[value=export]")
    exported = rows(download)
    assert [row["file"] for row in exported] == [harbour.original_filename]
    assert exported[0]["sha256"] == harbour.sha256 and exported[0]["restored_versions"] == "0"

    page.check("thead [data-role=select-all]")
    assert page.inner_text("[data-role=selected-count]") == "2 selected"
    page.select_option("select[name=collection]", str(captures["shelf"].pk))
    page.click("button[value=collection]")
    page.wait_for_selector("text=2 tapes of the selected captures added to Shelf 9")
    in_shelf = Tape.objects.filter(collection=captures["shelf"]).values_list(
        "identifier", flat=True
    )
    assert sorted(in_shelf) == ["BETA-7", "BETA-8"]
    assert "2 found" in page.inner_text("h1")  # back on the same filtered list

    page.check("thead [data-role=select-all]")
    page.click("button[value=restore]")
    assert page.locator("[data-role=bulk-captures] li").count() == 2
    assert "Captures" in page.inner_text("main p.small")  # the way back is the captures list
    page.select_option("#id_strength", "gentle")
    page.click("text=Queue 2 jobs")
    page.wait_for_selector("text=2 jobs queued with the same options")
    jobs = list(RestorationJob.objects.filter(capture__tape__identifier__startswith="BETA"))
    assert len(jobs) == 2 and jobs[0].parameters == jobs[1].parameters
    assert jobs[0].parameters["strength"] == "gentle"  # the option chosen once, for every capture
    assert not RestorationJob.objects.filter(capture=captures["parade"]).exists()

    # Restored captures can be told apart now.
    page.goto(f"{live_server.url}/captures/?restored=no")
    assert "1 found" in page.inner_text("h1") and captures["parade"].original_filename in (
        page.inner_text("table.captures")
    )
    assert errors == []


def test_captures_list_on_a_phone_selects_without_the_table_head(
    browser_context: Any, live_server: Any, archivist: Any, captures: dict[str, Any]
) -> None:
    page = browser_context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, "archivist")
    page.goto(f"{live_server.url}/captures/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    assert not page.locator("thead [data-role=select-all]").is_visible()
    page.check(".bulkbar [data-role=select-all]")
    assert page.inner_text("[data-role=selected-count]") == "3 selected"
    box = page.locator("button[value=restore]").bounding_box()
    assert box["height"] >= 30 and box["x"] + box["width"] <= 390
