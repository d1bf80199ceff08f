"""Approximate recording dates, as archives write them ("1973", "1980s", "c. 1975", "1973-05")
or in EDTF (Library of Congress Extended Date/Time Format, read with the ``edtf`` package:
"1975~" approximate, "1975?" uncertain, "197X" a decade, "1978/1982" an interval).

The text is kept as written; ``parse_approximate_date`` gives the inclusive date range used for
sorting and filtering, ``to_edtf`` the EDTF form exports use (PBCore, OAI-PMH, the API), and
``describe_date`` the words pages show for EDTF ("1975~" -> "c. 1975", "197X" -> "1970s").
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

FORMAT_HELP = (
    'e.g. "1973-05-12", "1973-05", "1973", "c. 1975", "1980s", "1978-1982", or EDTF: '
    '"1975~", "1975?", "197X", "1978/1982"'
)


def parse_approximate_date(text: str) -> tuple[dt.date | None, dt.date | None]:
    """(first day, last day) of what ``text`` may mean; (None, None) for an empty text.

    Raises ValidationError for text that is not a date in one of the accepted forms.
    """
    cleaned = _CIRCA.sub("", text.strip())
    if not cleaned or cleaned.lower() in {"unknown", "n.d.", "undated"}:
        return None, None
    edtf_range = _edtf_range(text.strip())
    if edtf_range is not None:
        return edtf_range
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


def _edtf_range(text: str) -> tuple[dt.date, dt.date] | None:
    """The strict range of an EDTF text ("1975~", "197X", "1978/1982"); None if it is not."""
    if not any(mark in text for mark in "~?%X/"):
        return None
    from edtf import parse_edtf, struct_time_to_date
    from edtf.parser.edtf_exceptions import EDTFParseException

    try:
        parsed = parse_edtf(text)
        first = struct_time_to_date(parsed.lower_strict())
        last = struct_time_to_date(parsed.upper_strict())
    except (EDTFParseException, TypeError, ValueError, OverflowError):
        return None  # not EDTF, or an open interval ("1975/..") without a sortable end
    if last < first:
        return None
    return first, last


def to_edtf(text: str) -> str:
    """The EDTF form of a recording date as written ("" when there is none).

    "c. 1975" -> "1975~", "1980s" -> "198X", "1978-1982" -> "1978/1982"; EDTF and ISO dates
    stay as they are. Raises ValidationError for text that is not a recording date.
    """
    stripped = text.strip()
    first, last = parse_approximate_date(stripped)
    if first is None or last is None:
        return ""
    if _edtf_range(stripped) is not None:
        return stripped
    approximate = bool(_CIRCA.match(stripped))
    cleaned = _CIRCA.sub("", stripped)
    decade = re.match(r"^(\d{3})0'?s$", cleaned)
    years = re.match(rf"^{_YEAR}\s*(?:-|–|/|to)\s*{_YEAR}$", cleaned)
    if decade:
        value = f"{decade.group(1)}X"
    elif years:
        value = f"{years.group(1)}/{years.group(2)}"
    else:
        parts = [int(part) for part in re.split(r"-", cleaned)]
        value = "-".join([f"{parts[0]:04d}", *(f"{part:02d}" for part in parts[1:])])
    return value + "~" if approximate and "/" not in value else value


_EDTF_PART = re.compile(r"^(\d{2,4})(X{0,2})(?:-(\d{2}|XX))?(?:-(\d{2}|XX))?([~?%]?)$")


def describe_date(text: str) -> str:
    """A recording date for people: EDTF in the words archivists write ("1975~" -> "c. 1975",
    "1975?" -> "1975 (uncertain)", "197X" -> "1970s", "1978/1982" -> "1978 – 1982"); any other
    form as written."""
    stripped = text.strip()
    if not stripped or _edtf_range(stripped) is None:
        return stripped
    if "/" in stripped:
        first, last = stripped.split("/", 1)
        return f"{_describe_edtf_part(first)} – {_describe_edtf_part(last)}"
    return _describe_edtf_part(stripped)


def _describe_edtf_part(part: str) -> str:
    match = _EDTF_PART.match(part)
    if not match:
        return part  # an EDTF form without words of its own: shown as written
    digits, unspecified, month, day, mark = match.groups()
    if len(digits) + len(unspecified) != 4:
        return part
    if unspecified:  # "197X" the 1970s, "19XX" the 1900s
        value = digits + "0" * len(unspecified) + "s"
    else:
        value = "-".join(piece for piece in (digits, month, day) if piece and piece != "XX")
    if mark == "~":
        return f"c. {value}"
    if mark == "?":
        return f"{value} (uncertain)"
    if mark == "%":
        return f"c. {value} (uncertain)"
    return value
