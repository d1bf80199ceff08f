"""Template filters that show stored values as words (see ``portal.humanize``)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from portal import humanize
from portal.catalog.dates import describe_date

register = template.Library()


@register.filter
def field_label(key: str) -> str:
    """``{{ name|field_label }}``: "carrier_format" -> "format"."""
    return humanize.label(str(key))


@register.filter
def human(raw: Any, key: str = "") -> SafeString:
    """``{{ value|human:name }}``: yes/no, "none", choice labels, links to objects by id."""
    return humanize.value_html(str(key), raw)


@register.filter
def recording_date(raw: str | None) -> str:
    """``{{ tape.recording_date|recording_date }}``: EDTF in words ("1975~" -> "c. 1975")."""
    return describe_date(raw or "")


@register.filter
def container_name(raw: str | None) -> str:
    return humanize.container(raw)


@register.filter
def bit_rate(raw: int | None) -> str:
    return humanize.bit_rate(raw)


@register.filter
def duration(raw: float | None) -> str:
    return humanize.duration(raw)


@register.filter
def action_words(action: str) -> str:
    """``review.request_changes`` -> "review: request changes"."""
    return humanize.action(str(action))


@register.simple_tag
def scan_words(capture: Any) -> str:
    """ "interlaced, top field first", "progressive" or "scan type unknown (...)"."""
    return humanize.scan(capture.interlaced, capture.field_order)


@register.filter
def detail_rows(details: Any) -> list[tuple[str, Any]]:
    """``{% for name, text in event.details|detail_rows %}``: (label, value as words or link),
    without the bookkeeping ids that have no page (``humanize.detail_rows``)."""
    return humanize.detail_rows(details or {})
