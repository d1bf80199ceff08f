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
from accounts.selectors import get_for_institution
from portal.catalog import services
from portal.catalog.csv_io import export_csv_lines
from portal.catalog.models import Collection, Tape
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
        collection = get_for_institution(
            Collection.objects.all(), institution, pk=request.POST.get("collection") or 0
        )
        try:
            changed = services.tapes_add_to_collection(
                actor=request.user, institution=institution, tapes=tapes, collection=collection
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            already = len(tapes) - changed
            note = f" ({already} already there)" if already else ""
            messages.success(
                request, f"{changed} tape{'s' if changed != 1 else ''} added to {collection}{note}."
            )
        return _back(request)
    if action == "restore":
        query = urlencode([("tape", t.pk) for t in tapes])
        return redirect(f"{reverse('restoration:bulk_restore')}?{query}")
    messages.error(request, "Choose what to do with the selected tapes.")
    return _back(request)
