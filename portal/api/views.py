"""REST API v1: collections, tapes, captures. Thin adapters over the selectors and services.

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
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Membership
from portal.api.bulk import (
    BulkImportError,
    BulkResultSerializer,
    BulkTapeRowSerializer,
    CSVTextParser,
    rows_from_csv,
    rows_from_json,
    tapes_bulk_write,
)
from portal.api.filtering import ID_PATTERN, IdFilter
from portal.api.permissions import IsInstitutionMember
from portal.api.renderers import PassthroughRenderer
from portal.api.safe_writes import ConditionalMixin, idempotent
from portal.api.schema import INSTITUTION_PARAMETER, MEDIA_HEADERS, media_responses
from portal.api.scoping import api_institution, api_membership
from portal.api.serializers import (
    CaptureSerializer,
    CaptureUploadSerializer,
    CollectionSerializer,
    TapeSerializer,
)
from portal.api.xml import XMLParser, XMLRenderer, published_version
from portal.captures.models import Capture, ProxyStatus
from portal.captures.selectors import capture_list
from portal.captures.services import capture_create, capture_delete, upload_too_large_error
from portal.captures.uploadhandler import TOO_LARGE_ATTR
from portal.catalog import services as catalog_services
from portal.catalog.csv_io import export_csv_lines
from portal.catalog.models import CarrierFormat, Collection, Tape, VideoStandard
from portal.catalog.pbcore import collection_xml, rows_from_pbcore, tape_xml
from portal.catalog.selectors import collection_list, tape_get, tape_list
from portal.media import content_type_for, serve_file_with_ranges

__all__ = ["INSTITUTION_PARAMETER", "ScopedViewSetMixin"]

NON_JSON_ACTIONS = frozenset({"export", "pbcore"})


class ScopedViewSetMixin(ConditionalMixin):
    """Institution scoping, ETag/If-Match on one object, strict query parameters (settings)."""

    permission_classes = [IsInstitutionMember]
    idempotent_actions: tuple[str, ...] = ()
    lookup_value_regex = ID_PATTERN
    request: Request

    @property
    def institution(self) -> Any:
        return api_institution(self.request)

    @property
    def membership(self) -> Membership:
        """The membership the request acts through (resolved once; services take it)."""
        return api_membership(self.request)

    def handle_exception(self, exc: Exception) -> Response:
        # Actions that answer files or XML accept any media type; their errors are still the
        # JSON error shape.
        if getattr(self, "action", None) in NON_JSON_ACTIONS:
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)  # type: ignore[misc]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        if getattr(self, "swagger_fake_view", False):
            return context
        context["institution"] = self.institution
        return context


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
    ``has_captures``); ``search``, ``carrier_format`` and ``video_standard`` are aliases."""

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

    def filter_search(self, queryset: QuerySet[Tape], name: str, value: str) -> Any:
        # The catalog selector owns the search rule (same results as the catalog page).
        matching = tape_list(institution=api_institution(self.request), search=value)
        return queryset.filter(pk__in=matching.values("pk"))


class TapeViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """Tapes of your institution: the physical carriers (PBCore physical instantiations)."""

    serializer_class = TapeSerializer
    filterset_class = TapeFilter
    idempotent_actions = ("create", "bulk", "pbcore_import")
    strict_query_actions = ("list", "export")
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
        request={
            "application/json": BulkTapeRowSerializer(many=True),
            "text/csv": {"type": "string", "description": "The web import's CSV file."},
        },
        responses={200: BulkResultSerializer},
        description="Create or update many tapes at once (matched by `identifier`): a JSON "
        "array of objects (the fields of a tape; `collection` an id or a name; every object "
        "with the same fields) or a CSV file as the catalog page imports it. Every row is "
        "checked first; one invalid row writes nothing and the 400 error lists every problem "
        "in `details.rows` (`row` is the array position from 1, or the CSV line).",
    )
    @action(detail=False, methods=["post"], parser_classes=[JSONParser, CSVTextParser])
    @idempotent
    def bulk(self, request: Request) -> Response:
        if isinstance(request.data, bytes):
            header, rows = rows_from_csv(request.data)
        else:
            header, rows = rows_from_json(request.data, institution=self.institution)
        report = tapes_bulk_write(
            actor=request.user, institution=self.institution, header=header, rows=rows
        )
        return Response(
            BulkResultSerializer(
                {
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "collections_created": report.collections_created,
                }
            ).data
        )

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
        request={"application/xml": {"type": "string", "description": "PBCore 2.1 XML"}},
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
        report = tapes_bulk_write(
            actor=request.user, institution=self.institution, header=header, rows=rows
        )
        return Response(
            BulkResultSerializer(
                {
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "collections_created": report.collections_created,
                }
            ).data
        )


FILE_ACTIONS = frozenset({"download", "proxy", "poster"})


class CaptureFilter(filters.FilterSet):
    tape = IdFilter(field_name="tape_id")
    proxy_status = filters.ChoiceFilter(choices=ProxyStatus.choices)
    sha256 = filters.CharFilter()

    class Meta:
        model = Capture
        fields = ["tape", "proxy_status", "sha256", "video_codec"]


class CaptureViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Captures (digitized files of tapes): upload, list, detail, download with ranges."""

    serializer_class = CaptureSerializer
    filterset_class = CaptureFilter
    idempotent_actions = ("create",)
    parser_classes = [MultiPartParser]  # the upload is the only request with a body
    search_fields = ["original_filename", "tape__identifier", "tape__title"]
    ordering_fields = ["created_at", "duration_s", "size_bytes", "original_filename"]
    ordering = ["-created_at"]

    def get_queryset(self) -> QuerySet[Capture]:
        if getattr(self, "swagger_fake_view", False):
            return Capture.objects.none()
        return capture_list(institution=self.institution)

    @extend_schema(
        request={"multipart/form-data": CaptureUploadSerializer},
        responses={201: CaptureSerializer},
        description="Upload a capture of a tape (multipart/form-data, fields `tape` and `file`). "
        "The file is streamed to disk and hashed as it arrives, then probed; a file that is not "
        "a complete video is rejected (400, code `invalid_video`) and nothing is kept. With an "
        "`Idempotency-Key`, sending the same file again returns the first capture.",
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        upload = request.FILES.get("file")  # parses the body through the hashing handler
        if getattr(request._request, TOO_LARGE_ATTR, False):
            raise upload_too_large_error()
        serializer = CaptureUploadSerializer(
            data={"tape": request.data.get("tape"), "file": upload}
        )
        serializer.is_valid(raise_exception=True)
        tape = tape_get(institution=self.institution, pk=serializer.validated_data["tape"])
        capture = capture_create(tape=tape, upload=upload, actor=request.user)
        output = CaptureSerializer(capture, context=self.get_serializer_context())
        return Response(output.data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Capture) -> None:
        capture_delete(capture=instance, actor=self.request.user, membership=self.membership)

    def handle_exception(self, exc: Exception) -> Response:
        # File actions accept any media type; their errors are still the JSON error shape.
        if getattr(self, "action", None) in FILE_ACTIONS:
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        responses=media_responses("video/*"),
        parameters=MEDIA_HEADERS,
        description="The original file, byte for byte (HTTP range requests supported); its "
        "media type is the container's (`video/x-matroska`, `video/mp4`, `video/quicktime`...).",
    )
    @action(detail=True, methods=["get"], renderer_classes=[PassthroughRenderer])
    def download(self, request: Request, pk: Any = None) -> HttpResponse:
        capture = self.get_object()
        return serve_file_with_ranges(
            request._request,
            capture.original,
            content_type_for(capture.original.name),
            capture.original_filename,
            as_attachment=True,
        )

    @extend_schema(
        responses=media_responses("video/mp4"),
        parameters=MEDIA_HEADERS,
        description="The H.264/AAC MP4 browser copy (404 until `proxy_status` is `ready`).",
    )
    @action(detail=True, methods=["get"], renderer_classes=[PassthroughRenderer])
    def proxy(self, request: Request, pk: Any = None) -> HttpResponse:
        capture = self.get_object()
        stem = capture.original_filename.rsplit(".", 1)[0]
        return serve_file_with_ranges(
            request._request, capture.proxy, "video/mp4", f"{stem}.proxy.mp4"
        )

    @extend_schema(
        responses=media_responses("image/jpeg"),
        parameters=MEDIA_HEADERS,
        description="The poster frame (JPEG).",
    )
    @action(detail=True, methods=["get"], renderer_classes=[PassthroughRenderer])
    def poster(self, request: Request, pk: Any = None) -> HttpResponse:
        capture = self.get_object()
        stem = capture.original_filename.rsplit(".", 1)[0]
        return serve_file_with_ranges(
            request._request, capture.poster, "image/jpeg", f"{stem}.poster.jpg"
        )
