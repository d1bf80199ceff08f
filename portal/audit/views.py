"""Institution-wide history for managers, as a page and as a CSV/JSON export. Read-only: there
is no view that changes history."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Role
from accounts.permissions import InstitutionRequest, member_required
from portal.audit.export import export_response
from portal.audit.models import AuditEvent
from portal.audit.selectors import action_choices, institution_history


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _actor_id(request: InstitutionRequest) -> int | None:
    """``actor`` is a user name, as in the API (``/api/v1/audit-events/?actor=``); a number is
    still read as a user id (links made before). A name nobody here has selects nothing."""
    actor = request.GET.get("actor", "").strip()
    if not actor:
        return None
    members = get_user_model().objects.filter(memberships__institution=request.institution)
    user_id = members.filter(username=actor).values_list("pk", flat=True).first()
    if user_id is not None:
        return int(user_id)
    if actor.isdigit() and len(actor) <= 18:
        return int(actor)
    return 0  # no user has id 0: an empty list, not everybody's events


def _filtered_history(request: InstitutionRequest) -> QuerySet[AuditEvent]:
    """The institution's events filtered by ``?action=&actor=&from=&to=`` (bad dates ignored)."""
    params = request.GET
    return institution_history(
        institution=request.institution,
        action=params.get("action", ""),
        actor_id=_actor_id(request),
        date_from=_date(params.get("from")),
        date_to=_date(params.get("to")),
    )


@member_required(Role.MANAGER)
@require_GET
def institution_history_export(request: InstitutionRequest, fmt: str) -> StreamingHttpResponse:
    return export_response(
        _filtered_history(request), fmt=fmt, name=f"{request.institution.slug}-history"
    )


@member_required(Role.MANAGER)
def institution_history_view(request: InstitutionRequest) -> HttpResponse:
    institution = request.institution
    params = request.GET
    events = _filtered_history(request)
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
def history_verify_view(request: InstitutionRequest) -> HttpResponse:
    """The manager's check of their institution's hash chain (the first broken link, if any)."""
    from portal.audit.chain import chain_verify

    report = chain_verify(institution_id=request.institution.pk)
    return render(request, "audit/verify.html", {"report": report})
