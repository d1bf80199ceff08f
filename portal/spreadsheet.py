"""Cells of CSV files people open in spreadsheet programs (CSV injection, OWASP).

A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or CR before one) is run as a
formula: ``=HYPERLINK(...)``, ``+cmd|...``. Every CSV export (catalog, captures, history)
writes such a cell with a leading ``'``, which spreadsheets show as text; imports strip it
again, so an export imports back unchanged.
"""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """``value`` as a spreadsheet shows it as text: a formula-like cell gets a leading ``'``."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def unescape_cell(value: str) -> str:
    """The value ``safe_cell`` escaped (other text unchanged)."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_PREFIXES) else value
