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
