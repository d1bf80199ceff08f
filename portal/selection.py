"""What the list pages' bulk actions share: the ids a form selected, and the way back.

A bulk form posts the ids of the rows ticked (``<input name="tape" value="…">``) and ``next``,
the list it was sent from (with its search and filters), so the person lands where they were.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme


def selected_ids(values: list[str], *, limit: int) -> list[int]:
    """The whole-number ids among ``values``, at most ``limit`` of them (the rest are not ids)."""
    return [int(v) for v in values if v.isdigit()][:limit]


def redirect_back(request: HttpRequest, fallback: str) -> HttpResponse:
    """Back to the form's ``next``, a page of this site, else to ``fallback`` (no open
    redirect: another host or scheme in ``next`` is ignored)."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = fallback
    return redirect(target)
