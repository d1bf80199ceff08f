"""REST API v1 of the catalog: collections and tapes (PBCore, CSV and bulk writes), and a tape's
audit timeline. Thin adapters over the selectors and services.

Every queryset starts from the active institution (``api_institution``), so objects of other
institutions are 404 exactly as on the pages; every write is a service call, so roles are
checked and audit events recorded the same way as from the pages.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.cached_lists import CachedListMixin
from portal.api.filtering import IdFilter
from portal.api.renderers import PassthroughRenderer
from portal.api.safe_writes import idempotent
from portal.api.scoping import api_institution
from portal.api.views import ScopedViewSetMixin
from portal.api.xml import XMLParser, XMLRenderer, published_version
from portal.audit.api import AuditListView
from portal.audit.models import AuditEvent
from portal.audit.selectors import tape_history
from portal.catalog import services as catalog_services
from portal.catalog.bulk import (
    BulkImportError,
    BulkResultSerializer,
    BulkTapeRowSerializer,
    CSVTextParser,
    rows_from_csv,
    rows_from_json,
    tapes_bulk_write,
)
from portal.catalog.csv_io import ImportReport, export_csv_lines
from portal.catalog.models import CarrierFormat, Collection, Tape, VideoStandard
from portal.catalog.pbcore import collection_xml, rows_from_pbcore, tape_xml
from portal.catalog.selectors import TAPE_SORTS, collection_list, tape_get, tape_list
from portal.catalog.serializers import CollectionSerializer, TapeSerializer


class CollectionViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """Collections of your institution (a fonds, a donation, a series of tapes)."""

    serializer_class = CollectionSerializer
    idempotent_actions = ("create",)
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at", "tape_count"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Collection]:
        if getattr(self, "swagger_fake_view", False):
            return Collection.objects.none()
        return collection_list(institution=self.institution)

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: CollectionSerializer) -> None:
        serializer.instance = catalog_services.collection_create(
            actor=self.request.user, institution=self.institution, **serializer.validated_data
        )

    def perform_update(self, serializer: CollectionSerializer) -> None:
        serializer.instance = catalog_services.collection_update(
            actor=self.request.user, collection=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Collection) -> None:
        catalog_services.collection_delete(actor=self.request.user, collection=instance)

    @extend_schema(
        responses={(200, "application/xml"): OpenApiResponse(OpenApiTypes.STR)},
        description="The collection as a PBCore 2.1 `pbcoreCollection` of its tapes' documents.",
    )
    @action(detail=True, methods=["get"], renderer_classes=[XMLRenderer, JSONRenderer])
    def pbcore(self, request: Request, pk: Any = None) -> HttpResponse:
        collection = self.get_object()
        tapes = (
            Tape.objects.for_institution(self.institution)
            .filter(collection=collection)
            .select_related("institution", "collection")
            .prefetch_related("metadata", "captures")
        )
        body = collection_xml(
            collection.name,
            collection.description,
            ((tape, published_version(tape)) for tape in tapes),
        )
        return HttpResponse(body, content_type="application/xml; charset=utf-8")


class TapeFilter(filters.FilterSet):
    """The catalog page's filter names (``q``, ``collection``, ``format``, ``standard``,
    ``has_captures``, ``published``; its ``sort`` is read by the ordering backend);
    ``search``, ``carrier_format`` and ``video_standard`` are aliases."""

    q = filters.CharFilter(
        method="filter_search",
        help_text="Words in identifier, title, description or metadata values (as the catalog "
        "page's search box).",
    )
    search = filters.CharFilter(method="filter_search", help_text="Alias of `q`.")
    collection = IdFilter(field_name="collection_id")
    format = filters.ChoiceFilter(field_name="carrier_format", choices=CarrierFormat.choices)
    carrier_format = filters.ChoiceFilter(
        choices=CarrierFormat.choices, help_text="Alias of `format`."
    )
    standard = filters.ChoiceFilter(field_name="video_standard", choices=VideoStandard.choices)
    video_standard = filters.ChoiceFilter(
        choices=VideoStandard.choices, help_text="Alias of `standard`."
    )
    has_captures = filters.ChoiceFilter(
        method="filter_has_captures",
        choices=[("yes", "yes"), ("no", "no"), ("true", "true"), ("false", "false")],
        help_text="`yes`/`no` (as on the catalog page) or `true`/`false`.",
    )
    published = filters.ChoiceFilter(
        method="filter_published",
        choices=[("yes", "yes"), ("no", "no"), ("true", "true"), ("false", "false")],
        help_text="Tapes with (`yes`) or without (`no`) a current publication, as on the "
        "catalog page; `true`/`false` too.",
    )
    recorded_from = filters.DateFilter(
        field_name="date_end", lookup_expr="gte", help_text="Recorded on or after (YYYY-MM-DD)."
    )
    recorded_until = filters.DateFilter(
        field_name="date_start", lookup_expr="lte", help_text="Recorded on or before (YYYY-MM-DD)."
    )

    class Meta:
        model = Tape
        fields = ["condition", "language"]

    def filter_has_captures(self, queryset: QuerySet[Tape], name: str, value: str) -> Any:
        if not value:
            return queryset
        wanted = value in ("yes", "true")
        return queryset.filter(capture_count__gt=0) if wanted else queryset.filter(capture_count=0)

    def filter_published(self, queryset: QuerySet[Tape], name: str, value: str) -> Any:
        if not value:
            return queryset
        # The catalog selector owns the rule (an open publication period), as on the page.
        matching = tape_list(
            institution=api_institution(self.request), published=value in ("yes", "true")
        )
        return queryset.filter(pk__in=matching.values("pk"))

    def filter_search(self, queryset: QuerySet[Tape], name: str, value: str) -> Any:
        # The catalog selector owns the search rule (same results as the catalog page).
        matching = tape_list(institution=api_institution(self.request), search=value)
        return queryset.filter(pk__in=matching.values("pk"))


class TapeViewSet(CachedListMixin, ScopedViewSetMixin, viewsets.ModelViewSet):
    """Tapes of your institution: the physical carriers (PBCore physical instantiations)."""

    cache_name = "api-tapes"  # pages cached until the institution changes (portal.cache)

    serializer_class = TapeSerializer
    filterset_class = TapeFilter
    idempotent_actions = ("create", "bulk", "csv_import", "pbcore_import")
    strict_query_actions = ("list", "export")
    sort_choices = TAPE_SORTS  # the catalog page's ``sort`` keys, beside ``ordering``
    ordering_fields = [
        "identifier",
        "title",
        "date_start",
        "carrier_format",
        "created_at",
        "updated_at",
        "capture_count",
    ]
    ordering = ["identifier"]

    def get_queryset(self) -> QuerySet[Tape]:
        if getattr(self, "swagger_fake_view", False):
            return Tape.objects.none()
        return tape_list(institution=self.institution).prefetch_related("metadata")

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: TapeSerializer) -> None:
        data = dict(serializer.validated_data)
        metadata = data.pop("metadata", None)
        serializer.instance = catalog_services.tape_create(
            actor=self.request.user, institution=self.institution, metadata=metadata, **data
        )

    def perform_update(self, serializer: TapeSerializer) -> None:
        data = dict(serializer.validated_data)
        metadata = data.pop("metadata", None)
        serializer.instance = catalog_services.tape_update(
            actor=self.request.user, tape=serializer.instance, metadata=metadata, **data
        )

    def perform_destroy(self, instance: Tape) -> None:
        catalog_services.tape_delete(actor=self.request.user, tape=instance)

    @extend_schema(
        request=BulkTapeRowSerializer(many=True),
        responses={200: BulkResultSerializer},
        description="Create or update many tapes at once (matched by `identifier`): a JSON "
        "array of objects (the fields of a tape; `collection` an id or a name; every object "
        "with the same fields). Every row is checked first; one invalid row writes nothing and "
        "the 400 error lists every problem in `details.rows` (`row` is the array position from "
        "1). A CSV file goes to `csv-import`.",
    )
    @action(detail=False, methods=["post"], parser_classes=[JSONParser])
    @idempotent
    def bulk(self, request: Request) -> Response:
        header, rows = rows_from_json(request.data, institution=self.institution)
        return self._bulk_write(header, rows)

    @extend_schema(
        request={
            "text/csv": {
                "type": "string",
                "format": "binary",
                "description": "The catalog page's import file (UTF-8 CSV).",
            }
        },
        responses={200: BulkResultSerializer},
        description="Create or update tapes from a CSV file with the catalog page's import "
        "columns: the checks and the all-or-nothing rule of `bulk`; `row` in `details.rows` is "
        "the CSV line. (Its own operation so that each takes one body type: generated clients "
        "cannot send a body that is either an array or a file.)",
    )
    @action(detail=False, methods=["post"], url_path="csv-import", parser_classes=[CSVTextParser])
    @idempotent
    def csv_import(self, request: Request) -> Response:
        header, rows = rows_from_csv(request.data if isinstance(request.data, bytes) else b"")
        return self._bulk_write(header, rows)

    @extend_schema(
        filters=True,  # the list's filters, search and ordering select the rows
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV")},
        description="The tapes the list filters select, as the catalog page's CSV export "
        "(formula-like cells are prefixed with `'` so spreadsheets show them as text).",
    )
    @action(detail=False, methods=["get"], renderer_classes=[PassthroughRenderer])
    def export(self, request: Request) -> StreamingHttpResponse:
        tapes = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(
            export_csv_lines(institution=self.institution, tapes=tapes),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{self.institution.slug}-tapes.csv"'
        )
        return response

    @extend_schema(
        responses={(200, "application/xml"): OpenApiResponse(OpenApiTypes.STR)},
        description="The tape as a PBCore 2.1 `pbcoreDescriptionDocument`: the tape as physical "
        "instantiation, each capture and the published version's master and access copy as "
        "digital instantiations (essence tracks, SHA-256).",
    )
    @action(detail=True, methods=["get"], renderer_classes=[XMLRenderer, JSONRenderer])
    def pbcore(self, request: Request, pk: Any = None) -> HttpResponse:
        tape = self.get_object()
        body = tape_xml(tape, published=published_version(tape))
        return HttpResponse(body, content_type="application/xml; charset=utf-8")

    @extend_schema(
        request={
            "application/xml": {
                "type": "string",
                "format": "binary",
                "description": "PBCore 2.1 XML (UTF-8).",
            }
        },
        responses={200: BulkResultSerializer},
        description="Create or update tapes from PBCore 2.1 XML (a `pbcoreDescriptionDocument` "
        "or a `pbcoreCollection`), matched by the physical instantiation's identifier; the "
        "checks and the all-or-nothing rule of `bulk`.",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="pbcore-import",
        parser_classes=[XMLParser],
    )
    @idempotent
    def pbcore_import(self, request: Request) -> Response:
        try:
            header, rows = rows_from_pbcore(
                request.data if isinstance(request.data, bytes) else b""
            )
        except DjangoValidationError as exc:
            raise BulkImportError(" ".join(exc.messages)) from exc
        return self._bulk_write(header, rows)

    def _bulk_write(self, header: list[str], rows: list[tuple[int, dict[str, str]]]) -> Response:
        """`bulk`, `csv-import` and `pbcore-import`: every row checked, then all written or
        none."""
        report: ImportReport = tapes_bulk_write(
            actor=self.request.user, institution=self.institution, header=header, rows=rows
        )
        counts = ("created", "updated", "unchanged", "collections_created")
        return Response(BulkResultSerializer({name: getattr(report, name) for name in counts}).data)


@extend_schema(tags=["audit"])
class TapeTimelineView(AuditListView):
    """The tape's audit history: catalog changes, captures, jobs, reviews, publications."""

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        institution = api_institution(self.request)
        tape = tape_get(institution=institution, pk=self.kwargs["tape_id"])
        return tape_history(institution=institution, tape_id=tape.pk)


tape_timeline = TapeTimelineView.as_view()
