"""Catalog pages: tape list/detail/forms/history, CSV import/export, collections.

Every object is looked up with ``get_for_institution`` (404 for other institutions) and every
write goes through ``portal.catalog.services``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role
from accounts.permissions import InstitutionRequest, member_required
from accounts.selectors import get_for_institution
from portal.audit.export import export_response
from portal.audit.selectors import tape_history
from portal.cache import FRAGMENT_TIMEOUT, fragment_key
from portal.catalog import selectors, services
from portal.catalog.csv_io import export_csv_lines, tapes_import_csv
from portal.catalog.exceptions import CatalogError
from portal.catalog.forms import CollectionForm, TapeForm, TapeImportForm
from portal.catalog.models import CarrierFormat, Collection, Tape, VideoStandard

PAGE_SIZES = (25, 50, 100, 200)
CAPTURES_INCLUDE = "captures/_tape_captures.html"
TAPE_ROWS = "catalog/_tape_rows.html"


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _filtered_tapes(request: InstitutionRequest) -> Any:
    """The catalog list's tapes for the page's filters (``q``, ``collection``, ``format``,
    ``standard``, ``has_captures``, ``published``, ``sort``): the list and its CSV export use
    the same."""
    params = request.GET
    return selectors.tape_list(
        institution=request.institution,
        search=params.get("q", ""),
        collection_id=_int_or_none(params.get("collection")),
        carrier_format=params.get("format", ""),
        video_standard=params.get("standard", ""),
        has_captures={"yes": True, "no": False}.get(params.get("has_captures", "")),
        published={"yes": True, "no": False}.get(params.get("published", "")),
        sort=params.get("sort", "identifier"),
    )


@member_required(Role.ARCHIVIST)
def tape_list(request: InstitutionRequest) -> HttpResponse:
    institution = request.institution
    params = request.GET
    sort = params.get("sort", "identifier")
    per_page = _int_or_none(params.get("per_page")) or 50
    per_page = per_page if per_page in PAGE_SIZES else 50
    query = params.copy()
    query.pop("page", None)
    sort_query = query.copy()
    sort_query.pop("sort", None)
    # The count, the collection menus and each page's rows are the same for every member until
    # the institution's data changes (portal.cache): cached per query and generation. The key
    # (hence the generation) is read before any of the data.
    key = fragment_key(institution.pk, "tape-list", sorted(query.lists()), per_page)
    tapes = _filtered_tapes(request)
    listing = cache.get(key)
    if listing is None:
        listing = {
            "count": tapes.count(),
            "collections": list(
                selectors.collection_list(institution=institution).values("pk", "name")
            ),
        }
        cache.set(key, listing, FRAGMENT_TIMEOUT)
    page = KnownCountPaginator(tapes, per_page, count=listing["count"]).get_page(params.get("page"))
    rows_key = f"{key}:page:{page.number}"
    rows = cache.get(rows_key)
    if rows is None:
        rows = render_to_string(TAPE_ROWS, {"page": page})  # no request: no context processors
        cache.set(rows_key, rows, FRAGMENT_TIMEOUT)
    return render(
        request,
        "catalog/tape_list.html",
        {
            "page": page,
            "rows": mark_safe(rows),  # rendered by TAPE_ROWS, which escapes
            "sort_headers": sort_headers(sort=sort, base_query=sort_query.urlencode()),
            "query": query.urlencode(),
            "sort_query": sort_query.urlencode(),
            "sort": sort,
            "params": params,
            "collections": listing["collections"],
            "formats": CarrierFormat.choices,
            "standards": VideoStandard.choices,
            "page_sizes": PAGE_SIZES,
            "per_page": per_page,
        },
    )


class KnownCountPaginator(Paginator):
    """A paginator told its count (cached with the listing) instead of counting again."""

    def __init__(self, *args: Any, count: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.__dict__["count"] = count  # Paginator.count is a cached_property


#: Sortable columns of the tape list: (sort key, heading, first click sorts descending).
SORT_COLUMNS = (
    ("identifier", "Identifier", False),
    ("title", "Title", False),
    ("format", "Format", False),
    ("date", "Recorded", False),
    ("captures", "Captures", True),
    ("updated", "Updated", True),
)


def sort_headers(
    *, sort: str, base_query: str, columns: tuple[tuple[str, str, bool], ...] = SORT_COLUMNS
) -> dict[str, dict[str, Any]]:
    """Per column: the link (clicking the active column flips its direction), whether it is
    the active sort, its direction as words and arrow, and ``aria-sort`` for screen readers.
    ``columns``: (sort key, heading, first click sorts descending); the tape list's by default
    (the captures list passes its own)."""
    headers = {}
    for key, heading, descending_first in columns:
        active = sort.lstrip("-") == key
        descending = active and sort.startswith("-")
        if active:
            target = key if descending else f"-{key}"
        else:
            target = f"-{key}" if descending_first else key
        prefix = f"{base_query}&" if base_query else ""
        headers[key] = {
            "heading": heading,
            "url": f"?{prefix}sort={target}",
            "active": active,
            "arrow": ("▼" if descending else "▲") if active else "",
            "aria": ("descending" if descending else "ascending") if active else "none",
            "title": f"Sorted by {heading.lower()}, "
            + ("descending" if descending else "ascending")
            + "; click to reverse"
            if active
            else f"Sort by {heading.lower()}",
        }
    return headers


def _capture_detail_url_name() -> str | None:
    for name in ("captures:detail", "captures:capture_detail", "capture_detail"):
        try:
            reverse(name, args=[1])
            return name
        except NoReverseMatch:
            continue
    return None


def _optional_template(name: str) -> str | None:
    try:
        get_template(name)
    except TemplateDoesNotExist:
        return None
    return name


@member_required(Role.ARCHIVIST)
def tape_detail(request: InstitutionRequest, pk: int) -> HttpResponse:
    institution = request.institution
    tape = get_for_institution(
        selectors.tape_with_metadata(institution=institution), institution, pk=pk
    )
    captures_include = _optional_template(CAPTURES_INCLUDE)
    context: dict[str, Any] = {
        "tape": tape,
        "captures_include": captures_include,
        "history": tape_history(institution=institution, tape_id=tape.pk)[:10],
    }
    if captures_include is None:
        context["captures"] = list(tape.captures.all())
        context["capture_url_name"] = _capture_detail_url_name()
    return render(request, "catalog/tape_detail.html", context)


@member_required(Role.ARCHIVIST)
def tape_create(request: InstitutionRequest) -> HttpResponse:
    return _tape_form(request, tape=None)


@member_required(Role.ARCHIVIST)
def tape_edit(request: InstitutionRequest, pk: int) -> HttpResponse:
    return _tape_form(request, tape=selectors.tape_get(institution=request.institution, pk=pk))


def _tape_form(request: InstitutionRequest, *, tape: Tape | None) -> HttpResponse:
    """The tape form, for a new tape (`tape` None) or an existing one, saved by the service;
    what the service refuses is shown on the form."""
    institution = request.institution
    form = TapeForm(request.POST or None, instance=tape, institution=institution)
    if request.method == "POST" and form.is_valid():
        fields = {"metadata": form.cleaned_data["metadata"], **form.tape_fields()}
        try:
            if tape is None:
                saved = services.tape_create(actor=request.user, institution=institution, **fields)
            else:
                # The form already wrote the cleaned values onto ``tape``; reload so the service
                # sees the stored values and records a true old -> new diff.
                saved = selectors.tape_get(institution=institution, pk=tape.pk)
                services.tape_update(actor=request.user, tape=saved, **fields)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            done = "created" if tape is None else "saved"
            messages.success(request, f"Tape {saved.identifier} {done}.")
            return redirect("catalog:tape_detail", pk=saved.pk)
    return render(request, "catalog/tape_form.html", {"form": form, "tape": tape})


@member_required(Role.ARCHIVIST)
@require_POST
def tape_delete(request: InstitutionRequest, pk: int) -> HttpResponse:
    tape = selectors.tape_get(institution=request.institution, pk=pk)
    try:
        services.tape_delete(actor=request.user, tape=tape)
    except CatalogError as exc:
        messages.error(request, exc.message)
        return redirect("catalog:tape_detail", pk=pk)
    messages.success(request, f"Tape {tape.identifier} deleted. Its history is kept.")
    return redirect("catalog:tape_list")


@member_required(Role.ARCHIVIST)
def tape_history_view(request: InstitutionRequest, pk: int) -> HttpResponse:
    institution = request.institution
    tape = selectors.tape_get(institution=institution, pk=pk)
    events = tape_history(institution=institution, tape_id=tape.pk)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "catalog/tape_history.html", {"tape": tape, "page": page})


@member_required(Role.ARCHIVIST)
@require_GET
def tape_history_export(request: InstitutionRequest, pk: int, fmt: str) -> StreamingHttpResponse:
    institution = request.institution
    tape = selectors.tape_get(institution=institution, pk=pk)
    events = tape_history(institution=institution, tape_id=tape.pk)
    return export_response(events, fmt=fmt, name=f"{institution.slug}-tape-{tape.identifier}")


@member_required(Role.ARCHIVIST)
def tape_export(request: InstitutionRequest) -> StreamingHttpResponse:
    institution = request.institution
    filename = f"{institution.slug}-tapes-{timezone.now():%Y%m%d-%H%M}.csv"
    # The tapes the list shows with the same filters (the export link carries them).
    response = StreamingHttpResponse(
        export_csv_lines(institution=institution, tapes=_filtered_tapes(request)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@member_required(Role.ARCHIVIST)
def tape_import(request: InstitutionRequest) -> HttpResponse:
    institution = request.institution
    form = TapeImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        upload.seek(0)
        report = tapes_import_csv(
            actor=request.user,
            institution=institution,
            file=upload,
            create_collections=form.cleaned_data["create_collections"],
        )
        if report.ok:
            created = report.collections_created
            made = (
                f" New collection{'s' if len(created) != 1 else ''}: {', '.join(created)}."
                if created
                else ""
            )
            messages.success(
                request,
                f"Imported: {report.created} created, {report.updated} updated, "
                f"{report.unchanged} unchanged.{made}",
            )
            return redirect("catalog:tape_list")
    return render(request, "catalog/tape_import.html", {"form": form, "report": report})


@member_required(Role.ARCHIVIST)
def collection_list(request: InstitutionRequest) -> HttpResponse:
    collections = selectors.collection_list(institution=request.institution)
    return render(request, "catalog/collection_list.html", {"collections": collections})


@member_required(Role.ARCHIVIST)
def collection_create(request: InstitutionRequest) -> HttpResponse:
    return _collection_form(request, collection=None)


@member_required(Role.ARCHIVIST)
def collection_edit(request: InstitutionRequest, pk: int) -> HttpResponse:
    collection = selectors.collection_get(institution=request.institution, pk=pk)
    return _collection_form(request, collection=collection)


def _collection_form(request: InstitutionRequest, *, collection: Collection | None) -> HttpResponse:
    """The collection form, for a new collection or an existing one, saved by the service."""
    institution = request.institution
    form = CollectionForm(request.POST or None, instance=collection, institution=institution)
    if request.method == "POST" and form.is_valid():
        if collection is None:
            saved = services.collection_create(
                actor=request.user, institution=institution, **form.cleaned_data
            )
        else:
            # As for tapes: the service compares against the stored row, not the form's copy.
            saved = selectors.collection_get(institution=institution, pk=collection.pk)
            services.collection_update(actor=request.user, collection=saved, **form.cleaned_data)
        done = "created" if collection is None else "saved"
        messages.success(request, f"Collection {saved.name} {done}.")
        return redirect("catalog:collection_list")
    return render(request, "catalog/collection_form.html", {"form": form, "collection": collection})


@member_required(Role.ARCHIVIST)
@require_POST
def collection_delete(request: InstitutionRequest, pk: int) -> HttpResponse:
    collection = selectors.collection_get(institution=request.institution, pk=pk)
    try:
        services.collection_delete(actor=request.user, collection=collection)
    except CatalogError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Collection {collection.name} deleted.")
    return redirect("catalog:collection_list")
