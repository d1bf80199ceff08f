"""The captures list: every capture of the institution, searched, filtered and sorted, with a
CSV export of what it shows and bulk actions on a selection (restore with the same options,
export CSV, add their tapes to a collection)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role
from accounts.permissions import InstitutionRequest, member_required
from portal.captures.csv_export import capture_csv_lines
from portal.captures.models import Capture, ProxyStatus
from portal.captures.selectors import capture_search
from portal.catalog import selectors as catalog_selectors
from portal.catalog.views import PAGE_SIZES, sort_headers
from portal.catalog.views_bulk import add_tapes_to_collection
from portal.selection import redirect_back, selected_ids

MAX_SELECTION = 1000

#: Sortable columns of the captures list: (sort key, heading, first click sorts descending).
SORT_COLUMNS = (
    ("file", "File", False),
    ("tape", "Tape", False),
    ("duration", "Duration", True),
    ("size", "Size", True),
    ("uploaded", "Uploaded", True),
)


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _filtered(request: InstitutionRequest) -> QuerySet[Capture]:
    """The list's captures for the page's filters (``q``, ``collection``, ``copy``,
    ``restored``, ``mine``, ``sort``): the list and its CSV export use the same."""
    params = request.GET
    return capture_search(
        institution=request.institution,
        search=params.get("q", ""),
        collection_id=_int_or_none(params.get("collection")),
        proxy_status=params.get("copy", "") if params.get("copy") in ProxyStatus.values else "",
        restored={"yes": True, "no": False}.get(params.get("restored", "")),
        uploaded_by_id=request.user.pk if params.get("mine") == "1" else None,
        sort=params.get("sort", "-uploaded"),
    )


def _csv_response(request: InstitutionRequest, captures: Any, what: str) -> StreamingHttpResponse:
    filename = f"{request.institution.slug}-{what}-{timezone.now():%Y%m%d-%H%M}.csv"
    response = StreamingHttpResponse(
        capture_csv_lines(captures), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@member_required(Role.ARCHIVIST)
@require_GET
def capture_list(request: InstitutionRequest) -> HttpResponse:
    params = request.GET
    sort = params.get("sort", "-uploaded")
    per_page = _int_or_none(params.get("per_page")) or 50
    per_page = per_page if per_page in PAGE_SIZES else 50
    page = Paginator(_filtered(request), per_page).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    filtered = any(params.get(name) for name in ("q", "collection", "copy", "restored", "mine"))
    return render(
        request,
        "captures/capture_list.html",
        {
            "page": page,
            "sort_headers": sort_headers(
                sort=sort, base_query=sort_query.urlencode(), columns=SORT_COLUMNS
            ),
            "query": query.urlencode(),
            "sort": sort,
            "params": params,
            "filtered": filtered,
            "collections": catalog_selectors.collection_list(
                institution=request.institution
            ).values("pk", "name"),
            "copy_states": ProxyStatus.choices,
            "page_sizes": PAGE_SIZES,
            "per_page": per_page,
        },
    )


@member_required(Role.ARCHIVIST)
@require_GET
def capture_export(request: InstitutionRequest) -> StreamingHttpResponse:
    """The captures the list shows with the same search and filters (the link carries them)."""
    return _csv_response(request, _filtered(request), "captures")


def _back(request: InstitutionRequest) -> HttpResponse:
    return redirect_back(request, reverse("captures:list"))


@member_required(Role.ARCHIVIST)
@require_POST
def capture_bulk(request: InstitutionRequest) -> HttpResponse:
    institution = request.institution
    ids = selected_ids(request.POST.getlist("capture"), limit=MAX_SELECTION)
    captures = capture_search(institution=institution, sort="tape").filter(pk__in=ids)
    action = request.POST.get("action", "")
    if not captures.exists():
        messages.error(request, "Select at least one capture first (the boxes at the left).")
        return _back(request)
    if action == "export":
        return _csv_response(request, captures, "selected-captures")
    if action == "restore":
        query = urlencode([("capture", c.pk) for c in captures])
        return redirect(f"{reverse('restoration:bulk_restore')}?{query}")
    if action == "collection":
        return _add_tapes_to_collection(request, captures)
    messages.error(request, "Choose what to do with the selected captures.")
    return _back(request)


def _add_tapes_to_collection(request: InstitutionRequest, captures: Any) -> HttpResponse:
    """Collections hold tapes: the tapes of the selected captures join the collection."""
    tapes = list({capture.tape_id: capture.tape for capture in captures}.values())
    add_tapes_to_collection(request, tapes, whose=" of the selected captures")
    return _back(request)
