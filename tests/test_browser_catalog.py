"""End to end in a real browser: Debian's chromium driven by Playwright against a live server."""

import pytest

from portal.catalog.models import Tape
from tests.personas import PASSWORD

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_archivist_logs_in_and_catalogs_a_tape(page, live_server, archivist, institution):
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", "archivist")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")  # the member's home page
    assert "Test Archive" in page.inner_text("header")
    page.click(".mainnav >> text=Catalog")

    page.click("text=New tape")
    page.fill("#id_identifier", "UM-1977-03")
    page.fill("#id_title", "Carnival procession")
    page.select_option("#id_carrier_format", label="U-matic")
    page.select_option("#id_video_standard", label="PAL")
    page.fill("#id_recording_date", "1970s")
    page.fill("#id_metadata", "donor: Town hall")
    page.click("text=Create tape")

    page.wait_for_selector("h1:has-text('UM-1977-03')")
    assert "Town hall" in page.content()
    assert "tape created" in page.inner_text("table.history")
    tape = Tape.objects.get(identifier="UM-1977-03")
    assert (tape.institution, tape.carrier_format, tape.date_start.year) == (
        institution,
        "u-matic",
        1970,
    )

    page.goto(f"{live_server.url}/tapes/?q=carnival")
    assert page.locator("tbody tr").count() == 1


@pytest.mark.django_db(transaction=True)
def test_csv_import_names_an_unknown_collection_and_creates_it_only_when_asked(
    page, live_server, archivist, institution, tmp_path
):
    from portal.catalog.models import Collection

    csv_file = tmp_path / "tapes.csv"
    csv_file.write_text("identifier,title,collection\nT-1,Parade,Festivl\n", encoding="utf-8")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "archivist")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/tapes/import/")
    page.set_input_files("input[type=file]", str(csv_file))
    page.click("main button[type=submit]")
    main = page.inner_text("main")
    assert "Festivl" in main and "does not exist" in main  # said, not silently created
    assert not Collection.objects.exists() and not Tape.objects.exists()
    page.set_input_files("input[type=file]", str(csv_file))
    page.check("#id_create_collections")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert Collection.objects.get().name == "Festivl"
    assert Tape.objects.get().collection.name == "Festivl"


@pytest.mark.django_db(transaction=True)
def test_catalog_export_honours_the_search_and_filters(page, live_server, archivist, institution):
    from pathlib import Path

    Tape.objects.create(institution=institution, identifier="VHS-1", title="Parade")
    Tape.objects.create(institution=institution, identifier="VHS-2", title="Harbour")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "archivist")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/tapes/")
    page.fill("input[name=q]", "harbour")
    page.click("form[role=search] button[type=submit]")
    with page.expect_download() as download:
        page.click(".page-head >> text=Export CSV")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "VHS-2" in text and "VHS-1" not in text
