"""REST API v1 of the restoration workflow (mounted under /api/v1/ by portal/api/urls.py).

    POST /api/v1/restoration-jobs/                    request a job (capture + options)
    GET  /api/v1/restoration-jobs/?status=&capture=&tape=&preview=
    GET  /api/v1/restoration-jobs/{id}/               status, progress, ETA, queue position
    POST /api/v1/restoration-jobs/{id}/cancel/        POST /api/v1/restoration-jobs/{id}/retry/
    GET  /api/v1/restored-versions/?tape=&capture=    GET /api/v1/restored-versions/{id}/
    GET  /api/v1/restored-versions/{id}/master/       (download, audited) .../access/ (ranges)
    GET  /api/v1/restored-versions/{id}/provenance/   PREMIS-style JSON
    POST /api/v1/restored-versions/{id}/decisions/    approve / reject / request_changes
    POST /api/v1/restored-versions/{id}/publish/      POST /api/v1/tapes/{id}/unpublish/
    GET  /api/v1/tapes/{id}/timeline/                 the tape's audit history
    GET  /api/v1/audit-events/?action=&actor=&from=&to=   the institution's (managers)

Same scoping (``api_institution``), authentication and error shape as the rest of the API;
writes are the services the pages use, so permissions and audit records are identical.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import path
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from accounts.models import Role
from accounts.permissions import require_role
from accounts.selectors import get_for_institution
from portal.api.pagination import PagePagination
from portal.api.permissions import IsInstitutionMember
from portal.api.renderers import PassthroughRenderer
from portal.api.scoping import api_institution, api_membership
from portal.api.views import INSTITUTION_PARAMETER, ScopedViewSetMixin
from portal.audit.models import AuditEvent
from portal.audit.selectors import institution_history, tape_history
from portal.captures.media import serve_file_with_ranges
from portal.captures.models import Capture
from portal.catalog.models import Tape
from restoration import selectors, services
from restoration.media import serve_master
from restoration.models import Decision, JobStatus, Publication, RestorationJob, RestoredVersion
from restoration.parameters import DEINTERLACE, SCORERS
from restoration.provenance import version_provenance

# --------------------------------------------------------------------------------------------
# Serializers


class JobParametersSerializer(serializers.Serializer):
    """Options of a job; omitted ones take the defaults. Checked again by the service."""

    model = serializers.CharField(required=False, help_text="Model variant, e.g. tape-lite.")
    scorer = serializers.ChoiceField(
        choices=SCORERS, required=False, help_text="Reference selector."
    )
    references = serializers.IntegerField(
        required=False, min_value=0, max_value=16, allow_null=True
    )
    frame_start = serializers.IntegerField(required=False, min_value=0)
    frame_end = serializers.IntegerField(required=False, min_value=1, allow_null=True)
    deinterlace = serializers.ChoiceField(choices=DEINTERLACE, required=False)
    preview = serializers.BooleanField(required=False)
    preview_seconds = serializers.FloatField(required=False, min_value=0.5, max_value=120)


class JobCreateSerializer(serializers.Serializer):
    capture = serializers.IntegerField(help_text="Id of a capture of your institution.")
    parameters = JobParametersSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # An option misspelt or put beside "parameters" would otherwise be dropped silently and
        # the job would run with the defaults.
        errors: dict[str, list[str]] = {}
        data = self.initial_data if hasattr(self.initial_data, "keys") else {}
        for name in sorted(set(data.keys()) - set(self.fields)):
            errors[name] = ['Unknown field; job options go inside "parameters".']
        options = data.get("parameters")
        if hasattr(options, "keys"):
            known = set(self.fields["parameters"].fields)
            for name in sorted(set(options.keys()) - known):
                errors[f"parameters.{name}"] = [
                    "Unknown option; known: " + ", ".join(sorted(known)) + "."
                ]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class JobSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    tape = serializers.IntegerField(source="capture.tape_id", read_only=True)
    progress = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField()

    class Meta:
        model = RestorationJob
        fields = [
            "id",
            "capture",
            "tape",
            "requested_by",
            "retry_of",
            "is_preview",
            "parameters",
            "status",
            "stage",
            "frames_done",
            "frames_total",
            "progress",
            "eta_seconds",
            "queue_position",
            "worker_host",
            "device",
            "cancel_requested",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "error_message",
            "error_permanent",
            "timings",
            "version",
        ]
        read_only_fields = fields

    def get_progress(self, job: RestorationJob) -> float | None:
        fraction = job.progress_fraction
        return round(fraction, 4) if fraction is not None else None

    def get_queue_position(self, job: RestorationJob) -> int | None:
        return selectors.job_queue_position(job=job)

    def get_version(self, job: RestorationJob) -> int | None:
        return selectors._version_id(job)


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class DecisionReadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    decision = serializers.CharField()
    comment = serializers.CharField()
    reviewer = serializers.CharField(source="reviewer.username")
    created_at = serializers.DateTimeField()


class PublishSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class PublicationSerializer(serializers.ModelSerializer):
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    unpublished_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Publication
        fields = [
            "id",
            "tape",
            "version",
            "published_by",
            "published_at",
            "comment",
            "unpublished_by",
            "unpublished_at",
            "end_reason",
        ]
        read_only_fields = fields


class VersionSerializer(serializers.ModelSerializer):
    review_state = serializers.SerializerMethodField()
    decisions = serializers.SerializerMethodField()
    published = serializers.SerializerMethodField()
    requested_by = serializers.CharField(
        source="job.requested_by.username", default=None, read_only=True
    )

    class Meta:
        model = RestoredVersion
        fields = [
            "id",
            "job",
            "capture",
            "tape",
            "is_preview",
            "frame_start",
            "frame_end",
            "frame_count",
            "frame_rate",
            "master_sha256",
            "master_size",
            "access_sha256",
            "access_size",
            "model_variant",
            "weights_sha256",
            "scorer",
            "engine_version",
            "parameters",
            "timings",
            "created_at",
            "requested_by",
            "review_state",
            "decisions",
            "published",
            "scores_before",
            "scores_after",
        ]
        read_only_fields = fields

    def get_review_state(self, version: RestoredVersion) -> str:
        annotated = getattr(version, "review_state", None)  # selectors.version_list
        return annotated or selectors.version_review_state(version=version)

    def get_decisions(self, version: RestoredVersion) -> list[dict[str, Any]]:
        return DecisionReadSerializer(selectors.version_decisions(version=version), many=True).data

    def get_published(self, version: RestoredVersion) -> bool:
        return version.publications.filter(unpublished_at__isnull=True).exists()


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "actor",
            "action",
            "target_type",
            "target_id",
            "target_label",
            "tape",
            "changes",
            "details",
        ]
        read_only_fields = fields


# --------------------------------------------------------------------------------------------
# Views


class JobFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=JobStatus.choices)
    capture = filters.NumberFilter(field_name="capture_id")
    tape = filters.NumberFilter(field_name="capture__tape_id")
    preview = filters.BooleanFilter(field_name="is_preview")
    requested_by = filters.CharFilter(field_name="requested_by__username")

    class Meta:
        model = RestorationJob
        fields = ["status", "capture", "tape", "preview", "requested_by"]


@extend_schema_view(
    list=extend_schema(parameters=[INSTITUTION_PARAMETER]),
    retrieve=extend_schema(parameters=[INSTITUTION_PARAMETER]),
)
class RestorationJobViewSet(
    ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Restoration jobs of your institution: request, follow, cancel, retry."""

    serializer_class = JobSerializer
    filterset_class = JobFilter
    ordering_fields = ["created_at", "started_at", "finished_at", "status"]
    ordering = ["-created_at"]
    search_fields: list[str] = []

    def get_queryset(self) -> QuerySet[RestorationJob]:
        if getattr(self, "swagger_fake_view", False):
            return RestorationJob.objects.none()
        return selectors.job_list(institution=self.institution)

    @extend_schema(
        request=JobCreateSerializer,
        responses={201: JobSerializer},
        parameters=[INSTITUTION_PARAMETER],
        description="Queue a restoration of a capture. `parameters.preview=true` restores a "
        "short segment around the worst frames first.",
    )
    def create(self, request: Request) -> Response:
        payload = JobCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        capture: Capture = get_for_institution(
            Capture.objects.select_related("tape", "institution"),
            self.institution,
            pk=payload.validated_data["capture"],
        )
        job = services.job_request(
            actor=request.user,
            capture=capture,
            parameters=dict(payload.validated_data.get("parameters") or {}),
        )
        job = selectors.job_get(institution=self.institution, job_id=job.pk)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: JobSerializer}, parameters=[INSTITUTION_PARAMETER])
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        job = services.job_cancel(actor=request.user, job=self.get_object())
        return Response(JobSerializer(job).data)

    @extend_schema(request=None, responses={201: JobSerializer}, parameters=[INSTITUTION_PARAMETER])
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: Any = None) -> Response:
        job = services.job_retry(actor=request.user, job=self.get_object())
        job = selectors.job_get(institution=self.institution, job_id=job.pk)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class VersionFilter(filters.FilterSet):
    tape = filters.NumberFilter(field_name="tape_id")
    capture = filters.NumberFilter(field_name="capture_id")
    preview = filters.BooleanFilter(field_name="is_preview")
    review_state = filters.ChoiceFilter(
        field_name="review_state",
        choices=[(state, state) for state in selectors.REVIEW_STATES],
        help_text="Latest decision, or 'pending'.",
    )

    class Meta:
        model = RestoredVersion
        fields = ["tape", "capture", "preview", "review_state"]


@extend_schema_view(
    list=extend_schema(parameters=[INSTITUTION_PARAMETER]),
    retrieve=extend_schema(parameters=[INSTITUTION_PARAMETER]),
)
class RestoredVersionViewSet(
    ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Restored versions (immutable): files, provenance, review decisions, publication."""

    serializer_class = VersionSerializer
    filterset_class = VersionFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]
    search_fields: list[str] = []

    def get_queryset(self) -> QuerySet[RestoredVersion]:
        if getattr(self, "swagger_fake_view", False):
            return RestoredVersion.objects.none()
        return selectors.version_list(institution=self.institution)

    def handle_exception(self, exc: Exception) -> Response:
        # File actions accept any media type; their errors are still the JSON error shape.
        if getattr(self, "action", None) in ("master", "access"):
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        responses={(200, "video/x-matroska"): OpenApiResponse(description="FFV1/MKV master")},
        parameters=[INSTITUTION_PARAMETER],
    )
    @action(detail=True, methods=["get"], renderer_classes=[PassthroughRenderer])
    def master(self, request: Request, pk: Any = None) -> HttpResponse:
        version = self.get_object()
        return serve_master(request._request, version=version, actor=request.user)

    @extend_schema(
        responses={(200, "video/mp4"): OpenApiResponse(description="H.264/MP4 access copy")},
        parameters=[INSTITUTION_PARAMETER],
    )
    @action(detail=True, methods=["get"], renderer_classes=[PassthroughRenderer])
    def access(self, request: Request, pk: Any = None) -> HttpResponse:
        version = self.get_object()
        return serve_file_with_ranges(
            request._request, version.access, "video/mp4", f"version-{version.pk}.access.mp4"
        )

    @extend_schema(
        responses={200: OpenApiResponse(description="PREMIS-style provenance")},
        parameters=[INSTITUTION_PARAMETER],
    )
    @action(detail=True, methods=["get"])
    def provenance(self, request: Request, pk: Any = None) -> Response:
        return Response(version_provenance(version=self.get_object()))

    @extend_schema(
        request=DecisionSerializer,
        responses={201: DecisionReadSerializer},
        parameters=[INSTITUTION_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    def decisions(self, request: Request, pk: Any = None) -> Response:
        payload = DecisionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        review = services.version_decide(
            actor=request.user, version=self.get_object(), **payload.validated_data
        )
        return Response(DecisionReadSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=PublishSerializer,
        responses={201: PublicationSerializer},
        parameters=[INSTITUTION_PARAMETER],
    )
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: Any = None) -> Response:
        payload = PublishSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        publication = services.version_publish(
            actor=request.user, version=self.get_object(), **payload.validated_data
        )
        return Response(PublicationSerializer(publication).data, status=status.HTTP_201_CREATED)


def _tape(request: Request, tape_id: int) -> Tape:
    return get_for_institution(
        Tape.objects.select_related("institution"), api_institution(request), pk=tape_id
    )


@extend_schema(
    request=PublishSerializer,
    responses={200: PublicationSerializer},
    parameters=[INSTITUTION_PARAMETER],
    tags=["restored-versions"],
)
@api_view(["POST"])
@permission_classes([IsInstitutionMember])
def tape_unpublish(request: Request, tape_id: int) -> Response:
    """Withdraw the tape's published version (kept in the publication history)."""
    payload = PublishSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    publication = services.tape_unpublish(
        actor=request.user, tape=_tape(request, tape_id), **payload.validated_data
    )
    return Response(PublicationSerializer(publication).data)


@extend_schema(
    responses={200: AuditEventSerializer(many=True)},
    parameters=[INSTITUTION_PARAMETER],
    tags=["audit"],
)
@api_view(["GET"])
@permission_classes([IsInstitutionMember])
def tape_timeline(request: Request, tape_id: int) -> Response:
    """The tape's audit history: catalog changes, captures, jobs, reviews, publications."""
    tape = _tape(request, tape_id)
    events = tape_history(institution=api_institution(request), tape_id=tape.pk)
    paginator = PagePagination()
    page = paginator.paginate_queryset(events, request)
    return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)


@extend_schema(
    responses={200: AuditEventSerializer(many=True)},
    parameters=[
        INSTITUTION_PARAMETER,
        OpenApiParameter("action", str, description="'job' (every job.*) or 'job.failed'"),
        OpenApiParameter("actor", int, description="User id"),
        OpenApiParameter("from", OpenApiTypes.DATE),
        OpenApiParameter("to", OpenApiTypes.DATE),
    ],
    tags=["audit"],
)
@api_view(["GET"])
@permission_classes([IsInstitutionMember])
def institution_timeline(request: Request) -> Response:
    """The institution's whole audit history (managers), newest first, with filters."""
    membership = api_membership(request)
    require_role(request.user, membership.institution, Role.MANAGER)
    params = request.query_params
    actor = params.get("actor", "")
    events = institution_history(
        institution=membership.institution,
        action=params.get("action", ""),
        actor_id=int(actor) if actor.isdigit() else None,
        date_from=_date_param(params.get("from")),
        date_to=_date_param(params.get("to")),
    )
    paginator = PagePagination()
    page = paginator.paginate_queryset(events, request)
    return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)


def _date_param(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise serializers.ValidationError({"date": f"{value!r} is not a YYYY-MM-DD date."}) from exc


router = SimpleRouter()
router.include_format_suffixes = False
router.register("restoration-jobs", RestorationJobViewSet, basename="restoration-job")
router.register("restored-versions", RestoredVersionViewSet, basename="restored-version")

# The viewsets are registered on the portal's API router (portal/api/urls.py) so that the API
# root lists them beside collections, tapes and captures; these are the plain views.
urlpatterns = [
    path("tapes/<int:tape_id>/unpublish/", tape_unpublish, name="tape-unpublish"),
    path("tapes/<int:tape_id>/timeline/", tape_timeline, name="tape-timeline"),
    path("audit-events/", institution_timeline, name="audit-events"),
]
