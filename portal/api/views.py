"""REST API v1: collections, tapes, captures. Thin adapters over the selectors and services.

Every queryset starts from the active institution (``api_institution``), so objects of other
institutions are 404 exactly as on the pages; every write is a service call, so roles are
checked and audit events recorded the same way as from the pages.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import get_for_institution
from portal.api.permissions import IsInstitutionMember
from portal.api.renderers import PassthroughRenderer
from portal.api.scoping import INSTITUTION_HEADER, api_institution
from portal.api.serializers import (
    CaptureSerializer,
    CaptureUploadSerializer,
    CollectionSerializer,
    TapeSerializer,
)
from portal.captures.media import serve_file_with_ranges
from portal.captures.models import Capture, ProxyStatus
from portal.captures.selectors import capture_list
from portal.captures.services import capture_create, capture_delete, upload_too_large_error
from portal.captures.uploadhandler import TOO_LARGE_ATTR
from portal.captures.views import original_content_type
from portal.catalog import services as catalog_services
from portal.catalog.models import CarrierFormat, Collection, Tape, VideoStandard
from portal.catalog.selectors import collection_list, tape_list

INSTITUTION_PARAMETER = OpenApiParameter(
    INSTITUTION_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Slug of the institution to act for (only needed when you belong to several).",
)


class ScopedViewSetMixin:
    permission_classes = [IsInstitutionMember]
    request: Request

    @property
    def institution(self) -> Any:
        return api_institution(self.request)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        if getattr(self, "swagger_fake_view", False):
            return context
        context["institution"] = self.institution
        return context


@extend_schema_view(
    list=extend_schema(parameters=[INSTITUTION_PARAMETER]),
    retrieve=extend_schema(parameters=[INSTITUTION_PARAMETER]),
)
class CollectionViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """Collections of your institution (a fonds, a donation, a series of tapes)."""

    serializer_class = CollectionSerializer
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at", "updated_at", "tape_count"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Collection]:
        if getattr(self, "swagger_fake_view", False):
            return Collection.objects.none()
        return collection_list(institution=self.institution)

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


class TapeFilter(filters.FilterSet):
    collection = filters.NumberFilter(field_name="collection_id")
    carrier_format = filters.ChoiceFilter(choices=CarrierFormat.choices)
    video_standard = filters.ChoiceFilter(choices=VideoStandard.choices)
    has_captures = filters.BooleanFilter(method="filter_has_captures")
    recorded_from = filters.DateFilter(
        field_name="date_end", lookup_expr="gte", help_text="Recorded on or after (YYYY-MM-DD)."
    )
    recorded_until = filters.DateFilter(
        field_name="date_start", lookup_expr="lte", help_text="Recorded on or before (YYYY-MM-DD)."
    )
    search = filters.CharFilter(
        method="filter_search",
        help_text=("Words in identifier, title, description or metadata values."),
    )

    class Meta:
        model = Tape
        fields = ["collection", "carrier_format", "video_standard", "condition", "language"]

    def filter_has_captures(self, queryset: QuerySet[Tape], name: str, value: bool | None) -> Any:
        if value is None:
            return queryset
        return queryset.filter(capture_count__gt=0) if value else queryset.filter(capture_count=0)

    def filter_search(self, queryset: QuerySet[Tape], name: str, value: str) -> Any:
        # The catalog selector owns the search rule (same results as the catalog page).
        matching = tape_list(institution=api_institution(self.request), search=value)
        return queryset.filter(pk__in=matching.values("pk"))


@extend_schema_view(
    list=extend_schema(parameters=[INSTITUTION_PARAMETER]),
    retrieve=extend_schema(parameters=[INSTITUTION_PARAMETER]),
)
class TapeViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """Tapes of your institution: the physical carriers (PBCore physical instantiations)."""

    serializer_class = TapeSerializer
    filterset_class = TapeFilter
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


FILE_ACTIONS = frozenset({"download", "proxy", "poster"})


class CaptureFilter(filters.FilterSet):
    tape = filters.NumberFilter(field_name="tape_id")
    proxy_status = filters.ChoiceFilter(choices=ProxyStatus.choices)
    sha256 = filters.CharFilter()

    class Meta:
        model = Capture
        fields = ["tape", "proxy_status", "sha256", "video_codec"]


@extend_schema_view(
    list=extend_schema(parameters=[INSTITUTION_PARAMETER]),
    retrieve=extend_schema(parameters=[INSTITUTION_PARAMETER]),
)
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
        parameters=[INSTITUTION_PARAMETER],
        description="Upload a capture of a tape (multipart/form-data, fields `tape` and `file`). "
        "The file is streamed to disk and hashed as it arrives, then probed; a file that is not "
        "a complete video is rejected (400, code `invalid_video`) and nothing is kept.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        upload = request.FILES.get("file")  # parses the body through the hashing handler
        if getattr(request._request, TOO_LARGE_ATTR, False):
            raise upload_too_large_error()
        serializer = CaptureUploadSerializer(
            data={"tape": request.data.get("tape"), "file": upload}
        )
        serializer.is_valid(raise_exception=True)
        tape: Tape = get_for_institution(
            Tape.objects.select_related("institution"),
            self.institution,
            pk=serializer.validated_data["tape"],
        )
        capture = capture_create(tape=tape, upload=upload, actor=request.user)
        output = CaptureSerializer(capture, context=self.get_serializer_context())
        return Response(output.data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: Capture) -> None:
        capture_delete(capture=instance, actor=self.request.user)

    def handle_exception(self, exc: Exception) -> Response:
        # File actions accept any media type; their errors are still the JSON error shape.
        if getattr(self, "action", None) in FILE_ACTIONS:
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
        },
        parameters=[
            INSTITUTION_PARAMETER,
            OpenApiParameter(
                "Range",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="e.g. `bytes=0-1048575`; answered with 206 or 416.",
            ),
        ],
        description="The original file, byte for byte (HTTP range requests supported).",
    )
    @action(detail=True, methods=["get"], renderer_classes=[PassthroughRenderer])
    def download(self, request: Request, pk: Any = None) -> HttpResponse:
        capture = self.get_object()
        return serve_file_with_ranges(
            request._request,
            capture.original,
            original_content_type(capture),
            capture.original_filename,
            as_attachment=True,
        )

    @extend_schema(
        responses={
            (200, "video/mp4"): OpenApiTypes.BINARY,
            (206, "video/mp4"): OpenApiTypes.BINARY,
        },
        parameters=[INSTITUTION_PARAMETER],
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
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY},
        parameters=[INSTITUTION_PARAMETER],
        description="The poster frame (JPEG).",
    )
    @action(detail=True, methods=["get"], renderer_classes=[PassthroughRenderer])
    def poster(self, request: Request, pk: Any = None) -> HttpResponse:
        capture = self.get_object()
        stem = capture.original_filename.rsplit(".", 1)[0]
        return serve_file_with_ranges(
            request._request, capture.poster, "image/jpeg", f"{stem}.poster.jpg"
        )
