"""Institution-wide history for managers. Read-only: there is no view that changes history."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Role
from accounts.permissions import member_required
from portal.audit.selectors import action_choices, institution_history


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@member_required(Role.MANAGER)
def institution_history_view(request: HttpRequest) -> HttpResponse:
    institution = request.institution  # type: ignore[attr-defined]
    params = request.GET
    try:
        actor_id = int(params["actor"]) if params.get("actor") else None
    except ValueError:
        actor_id = None
    events = institution_history(
        institution=institution,
        action=params.get("action", ""),
        actor_id=actor_id,
        date_from=_date(params.get("from")),
        date_to=_date(params.get("to")),
    )
    page = Paginator(events, 100).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    actors = (
        get_user_model().objects.filter(memberships__institution=institution).order_by("username")
    )
    return render(
        request,
        "audit/institution_history.html",
        {
            "page": page,
            "params": params,
            "query": query.urlencode(),
            "actions": action_choices(institution=institution),
            "actors": actors,
        },
    )


@member_required(Role.MANAGER)
def history_verify_view(request: HttpRequest) -> HttpResponse:
    """The manager's check of their institution's hash chain (the first broken link, if any)."""
    from portal.audit.chain import chain_verify

    report = chain_verify(institution_id=request.institution.pk)  # type: ignore[attr-defined]
    return render(request, "audit/verify.html", {"report": report})
