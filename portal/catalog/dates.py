"""Approximate recording dates, as archives write them ("1973", "1980s", "c. 1975", "1973-05").

The text is kept as written; ``parse_approximate_date`` gives the inclusive date range used for
sorting and filtering.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from django.core.exceptions import ValidationError

_CIRCA = re.compile(r"^(?:circa|ca\.?|c\.?|about|approx\.?)\s*", re.IGNORECASE)
_YEAR = r"(\d{4})"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"^{_YEAR}-(\d{{1,2}})-(\d{{1,2}})$"), "day"),
    (re.compile(rf"^{_YEAR}-(\d{{1,2}})$"), "month"),
    (re.compile(rf"^{_YEAR}$"), "year"),
    (re.compile(r"^(\d{3})0'?s$"), "decade"),
    (re.compile(rf"^{_YEAR}\s*(?:-|–|/|to)\s*{_YEAR}$"), "years"),
]

FORMAT_HELP = 'e.g. "1973-05-12", "1973-05", "1973", "c. 1975", "1980s" or "1978-1982"'


def parse_approximate_date(text: str) -> tuple[dt.date | None, dt.date | None]:
    """(first day, last day) of what ``text`` may mean; (None, None) for an empty text.

    Raises ValidationError for text that is not a date in one of the accepted forms.
    """
    cleaned = _CIRCA.sub("", text.strip())
    if not cleaned or cleaned.lower() in {"unknown", "n.d.", "undated"}:
        return None, None
    for pattern, kind in _PATTERNS:
        match = pattern.match(cleaned)
        if not match:
            continue
        try:
            return _range(kind, [int(group) for group in match.groups()])
        except ValueError:
            break
    raise ValidationError(f"{text!r} is not a recording date ({FORMAT_HELP}).")


def _range(kind: str, parts: list[int]) -> tuple[dt.date, dt.date]:
    if kind == "day":
        day = dt.date(parts[0], parts[1], parts[2])
        return day, day
    if kind == "month":
        year, month = parts
        return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])
    if kind == "year":
        return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)
    if kind == "decade":
        start = parts[0] * 10
        return dt.date(start, 1, 1), dt.date(start + 9, 12, 31)
    first, last = parts
    if last < first:
        raise ValueError("range ends before it starts")
    return dt.date(first, 1, 1), dt.date(last, 12, 31)
