"""REST API v1 of captures: upload, list, detail, delete, and the files (original, proxy,
poster) with range requests. Thin adapters over the selectors and services."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.filtering import IdFilter
from portal.api.renderers import PassthroughRenderer
from portal.api.safe_writes import idempotent
from portal.api.schema import MEDIA_HEADERS, media_responses
from portal.api.views import NON_JSON_ACTIONS, ScopedViewSetMixin
from portal.captures.models import Capture, ProxyStatus
from portal.captures.selectors import capture_list
from portal.captures.serializers import CaptureSerializer, CaptureUploadSerializer
from portal.captures.services import capture_create, capture_delete, upload_too_large_error
from portal.captures.uploadhandler import TOO_LARGE_ATTR
from portal.catalog.selectors import tape_get
from portal.media import content_type_for, serve_file_with_ranges


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
    non_json_actions = NON_JSON_ACTIONS | {"download", "proxy", "poster"}
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
