import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from portal.catalog.dates import parse_approximate_date

D = dt.date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1973-05-12", (D(1973, 5, 12), D(1973, 5, 12))),
        ("1973-02", (D(1973, 2, 1), D(1973, 2, 28))),
        ("1973", (D(1973, 1, 1), D(1973, 12, 31))),
        ("c. 1975", (D(1975, 1, 1), D(1975, 12, 31))),
        ("circa 1975", (D(1975, 1, 1), D(1975, 12, 31))),
        ("1980s", (D(1980, 1, 1), D(1989, 12, 31))),
        ("1978-1982", (D(1978, 1, 1), D(1982, 12, 31))),
        ("", (None, None)),
        ("unknown", (None, None)),
    ],
)
def test_approximate_dates_parse_to_inclusive_ranges(text, expected):
    assert parse_approximate_date(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "1973-13", "1985-1980", "19733"])
def test_unparseable_dates_are_rejected_with_the_accepted_forms(text):
    with pytest.raises(ValidationError, match="1980s"):
        parse_approximate_date(text)


# --- EDTF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("1975~", "1975-01-01", "1975-12-31"),
        ("1975?", "1975-01-01", "1975-12-31"),
        ("197X", "1970-01-01", "1979-12-31"),
        ("1978/1982", "1978-01-01", "1982-12-31"),
        ("1985-04-12/1985-05", "1985-04-12", "1985-05-31"),
        ("1975-06~", "1975-06-01", "1975-06-30"),
    ],
)
def test_edtf_forms_are_accepted(text: str, first: str, last: str) -> None:
    import datetime as dt

    assert parse_approximate_date(text) == (
        dt.date.fromisoformat(first),
        dt.date.fromisoformat(last),
    )


@pytest.mark.parametrize(
    ("text", "edtf"),
    [
        ("c. 1975", "1975~"),
        ("1980s", "198X"),
        ("1978-1982", "1978/1982"),
        ("1973-5", "1973-05"),
        ("1973", "1973"),
        ("1975?", "1975?"),
        ("197X", "197X"),
        ("", ""),
    ],
)
def test_recording_dates_export_as_edtf(text: str, edtf: str) -> None:
    from portal.catalog.dates import to_edtf

    assert to_edtf(text) == edtf


@pytest.mark.parametrize("text", ["1975/..", "19755~", "197Y", "1982/1978"])
def test_bad_edtf_is_refused_with_the_accepted_forms(text: str) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="EDTF"):
        parse_approximate_date(text)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1975~", "c. 1975"),
        ("1975?", "1975 (uncertain)"),
        ("1975%", "c. 1975 (uncertain)"),
        ("197X", "1970s"),
        ("19XX", "1900s"),
        ("1975-06~", "c. 1975-06"),
        ("1978/1982", "1978 – 1982"),
        ("1985-04-12/1985-05", "1985-04-12 – 1985-05"),
        ("c. 1975", "c. 1975"),  # the forms archivists write stay as written
        ("1980s", "1980s"),
        ("1978-1982", "1978-1982"),
        ("1973-05-12", "1973-05-12"),
        ("", ""),
    ],
)
def test_edtf_is_shown_in_words(text: str, words: str) -> None:
    from portal.catalog.dates import describe_date

    assert describe_date(text) == words


@pytest.mark.django_db
def test_catalog_pages_show_edtf_in_words(archivist_client, institution) -> None:
    from portal.catalog.models import Tape

    tape = Tape.objects.create(institution=institution, identifier="E-1", recording_date="197X")
    detail = archivist_client.get(f"/tapes/{tape.pk}/").content.decode()
    assert "1970s" in detail and "197X" not in detail
    listing = archivist_client.get("/tapes/").content.decode()
    assert "1970s" in listing
