"""Bulk actions on the tape list: a selection of tapes is exported as CSV, moved into a
collection, or sent to the bulk restore page (restoration.views_bulk) with the same options."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import InstitutionRequest, member_required
from portal.catalog import selectors, services
from portal.catalog.csv_io import export_csv_lines
from portal.catalog.models import Tape
from portal.selection import redirect_back, selected_ids

MAX_SELECTION = 1000


def _back(request: HttpRequest) -> HttpResponse:
    return redirect_back(request, reverse("catalog:tape_list"))


@member_required(Role.ARCHIVIST)
@require_POST
def tape_bulk(request: InstitutionRequest) -> HttpResponse:
    institution = request.institution
    ids = selected_ids(request.POST.getlist("tape"), limit=MAX_SELECTION)
    tapes = list(Tape.objects.for_institution(institution).filter(pk__in=ids))
    action = request.POST.get("action", "")
    if not tapes:
        messages.error(request, "Select at least one tape first (the boxes at the left).")
        return _back(request)
    if action == "export":
        filename = f"{institution.slug}-selected-tapes-{timezone.now():%Y%m%d-%H%M}.csv"
        response = StreamingHttpResponse(
            export_csv_lines(institution=institution, tape_ids=[t.pk for t in tapes]),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    if action == "collection":
        add_tapes_to_collection(request, tapes)
        return _back(request)
    if action == "restore":
        query = urlencode([("tape", t.pk) for t in tapes])
        return redirect(f"{reverse('restoration:bulk_restore')}?{query}")
    messages.error(request, "Choose what to do with the selected tapes.")
    return _back(request)


def add_tapes_to_collection(
    request: InstitutionRequest, tapes: list[Tape], *, whose: str = ""
) -> None:
    """The lists' bulk action "add to collection": the collection the form names (this
    institution's, else 404), the service, and what happened as a message. ``whose`` says
    whose tapes they are in that message (" of the selected captures")."""
    institution = request.institution
    collection = selectors.collection_get(
        institution=institution, pk=request.POST.get("collection") or 0
    )
    try:
        changed = services.tapes_add_to_collection(
            actor=request.user, institution=institution, tapes=tapes, collection=collection
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return
    already = len(tapes) - changed
    note = f" ({already} already there)" if already else ""
    tapes_word = "tapes" if changed != 1 else "tape"
    messages.success(request, f"{changed} {tapes_word}{whose} added to {collection}{note}.")
