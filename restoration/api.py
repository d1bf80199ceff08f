"""REST API v1 of the restoration workflow (mounted under /api/v1/ by portal/api_urls.py).

    POST /api/v1/restoration-jobs/                    request a job (capture + options)
    GET  /api/v1/restoration-jobs/?status=&capture=&tape=&preview=
    GET  /api/v1/restoration-jobs/{id}/               status, progress, ETA, queue position
    POST /api/v1/restoration-jobs/{id}/cancel/        POST /api/v1/restoration-jobs/{id}/retry/
    GET  /api/v1/restored-versions/?tape=&capture=    GET /api/v1/restored-versions/{id}/
    GET  /api/v1/restored-versions/{id}/master/       (download, audited) .../access/ (ranges)
    GET  /api/v1/restored-versions/{id}/provenance/   PREMIS-style JSON
    POST /api/v1/restored-versions/{id}/decisions/    approve / reject / request_changes
    POST /api/v1/restored-versions/{id}/publish/      POST /api/v1/tapes/{id}/unpublish/

Same scoping (``api_institution``), authentication and error shape as the rest of the API;
writes are the services the pages use, so permissions and audit records are identical.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import path, register_converter, reverse
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from portal.api.filtering import IdConverter, IdFilter, StrictBooleanFilter
from portal.api.permissions import IsInstitutionMember
from portal.api.renderers import PassthroughRenderer
from portal.api.safe_writes import idempotent
from portal.api.schema import MEDIA_HEADERS, error_response, media_responses
from portal.api.scoping import api_institution, api_membership
from portal.api.views import ScopedViewSetMixin
from portal.captures.selectors import capture_get
from portal.catalog.selectors import tape_get
from portal.media import serve_file_with_ranges
from restoration import selectors, services
from restoration.media import serve_master
from restoration.models import Decision, JobStatus, Publication, RestorationJob, RestoredVersion
from restoration.parameters import (
    DEINTERLACE,
    KNOWN_KEYS,
    MAX_REFERENCES,
    PREVIEW_SECONDS_RANGE,
    SCORERS,
    JobParameters,
)
from restoration.provenance import version_provenance

# --------------------------------------------------------------------------------------------
# Serializers


#: Choices and bounds of options the dataclass types alone do not say (checked by the service).
_OPTION_CHOICES: dict[str, Any] = {
    "scorer": lambda: list(SCORERS),
    "deinterlace": lambda: list(DEINTERLACE),
}
_OPTION_BOUNDS: dict[str, dict[str, Any]] = {
    "references": {"min_value": 0, "max_value": MAX_REFERENCES},
    "frame_start": {"min_value": 0},
    "frame_end": {"min_value": 1},
    "preview_seconds": {
        "min_value": PREVIEW_SECONDS_RANGE[0],
        "max_value": PREVIEW_SECONDS_RANGE[1],
    },
}


def _option_field(name: str, hint: Any, *, read: bool) -> serializers.Field:
    """A serializer field for one ``JobParameters`` option, from its type hint."""
    args = set(typing.get_args(hint)) or {hint}
    nullable = type(None) in args
    base = next(iter(args - {type(None)}))
    # Not required on reads either: jobs stored before an option existed lack it.
    options: dict[str, Any] = {"allow_null": nullable, "required": False}
    if name == "model":  # the service names the available models when one is unknown
        return serializers.CharField(help_text="Model variant, e.g. tape-lite.", **options)
    if name == "strength":  # a name or a number: checked by the service, which names both
        return serializers.CharField(
            help_text="How much of the network's change to keep: gentle (0.5), standard (1.0, "
            "the default) or a number from 0 to 1. Colours are kept at every strength.",
            **options,
        )
    if name in _OPTION_CHOICES:
        return serializers.ChoiceField(choices=_OPTION_CHOICES[name](), **options)
    options.update(_OPTION_BOUNDS.get(name, {}))
    if base is bool:
        return serializers.BooleanField(**options)
    if base is int:
        return serializers.IntegerField(**options)
    if base is float:
        return serializers.FloatField(**options)
    return serializers.CharField(**options)


def _parameters_serializer(*, read: bool) -> type[serializers.Serializer]:
    """Job options as a serializer generated from ``JobParameters`` (a new option appears in
    the API and its schema without another edit here)."""
    hints = typing.get_type_hints(JobParameters)
    fields = {
        item.name: _option_field(item.name, hints[item.name], read=read)
        for item in dataclasses.fields(JobParameters)
        if item.name in KNOWN_KEYS
    }
    name = "JobParameters" if read else "JobOptions"
    doc = (
        "The job's complete, normalised options."
        if read
        else "Options of a job; omitted ones take the defaults. Checked again by the service."
    )
    return type(name, (serializers.Serializer,), {**fields, "__doc__": doc})


JobParametersSerializer = _parameters_serializer(read=False)
JobParametersReadSerializer = _parameters_serializer(read=True)


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


NUMBER_MAP = {"type": "object", "additionalProperties": {"type": "number"}}
_ENTRIES = {"type": "array", "items": {"type": "object", "additionalProperties": True}}
#: The PREMIS-style record (restoration.provenance): its parts typed, each entry PREMIS' own.
PROVENANCE_SCHEMA = {
    "type": "object",
    "required": ["premis_version", "restored_version", "objects", "events", "agents"],
    "properties": {
        "premis_version": {"type": "string"},
        "restored_version": {"type": "integer"},
        "objects": {**_ENTRIES, "description": "The source capture, the master, the access copy."},
        "events": {**_ENTRIES, "description": "Restoration, reviews, publications."},
        "agents": {**_ENTRIES, "description": "The software and the people involved."},
    },
}
#: What a IIIF Presentation 3 Manifest must have (the full model is IIIF's specification).
IIIF_MANIFEST_SCHEMA = {
    "type": "object",
    "required": ["@context", "id", "type", "label", "items"],
    "properties": {
        "@context": {"type": "string", "example": "http://iiif.io/api/presentation/3/context.json"},
        "id": {"type": "string", "format": "uri"},
        "type": {"type": "string", "enum": ["Manifest"]},
        "label": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": 'Language map, e.g. {"none": ["Carnival parade"]}.',
        },
        "items": {**_ENTRIES, "description": "One Canvas of type Video (duration in seconds)."},
    },
    "additionalProperties": True,
}
OBJECT_ANY = {"type": "object", "additionalProperties": True}


@extend_schema_field(NUMBER_MAP)
class NumberMapField(serializers.JSONField):
    """A JSON object of named numbers (timings in seconds, counters)."""


@extend_schema_field({"type": "array", "items": {"type": "number"}})
class ScoreListField(serializers.JSONField):
    """Per-frame artifact scores (0 clean .. 1 badly damaged)."""


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "The job's options plus what the engine resolved (frame range, "
        "reference count).",
    }
)
class EffectiveParametersField(serializers.JSONField):
    pass


class JobSerializer(serializers.ModelSerializer):
    parameters = JobParametersReadSerializer(read_only=True)
    timings = NumberMapField(read_only=True)
    # Null when the person's account was deleted (the job stays on the record).
    requested_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="User name of who asked for the job.",
    )
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
    unpublished_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="Null while current."
    )
    # Declared: a read-only model field loses allow_blank, and the schema then refused the ""
    # a current publication has (a generated client failed on it).
    end_reason = serializers.ChoiceField(
        choices=Publication.EndReason.choices,
        allow_blank=True,
        read_only=True,
        help_text="Why it ended; empty while the publication is current.",
    )

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
    parameters = EffectiveParametersField(read_only=True)
    timings = NumberMapField(read_only=True)
    scores_before = ScoreListField(read_only=True)
    scores_after = ScoreListField(read_only=True)
    review_state = serializers.SerializerMethodField()
    decisions = serializers.SerializerMethodField()
    published = serializers.SerializerMethodField()
    requested_by = serializers.CharField(
        source="job.requested_by.username", default=None, read_only=True, allow_null=True
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
        return version.publications.current().exists()


# --------------------------------------------------------------------------------------------
# Views


class JobFilter(filters.FilterSet):
    """The jobs page's filters (``status``, ``mine``, ``undecided``) and a few more."""

    status = filters.ChoiceFilter(choices=JobStatus.choices)
    mine = StrictBooleanFilter(
        method="filter_mine", help_text="Only the jobs you requested (the jobs page's `mine=1`)."
    )
    undecided = StrictBooleanFilter(
        method="filter_undecided",
        help_text="Failed jobs nobody has retried yet (the jobs page's `undecided=1`, the home "
        'page\'s "needs a decision").',
    )
    capture = IdFilter(field_name="capture_id")
    tape = IdFilter(field_name="capture__tape_id")
    preview = StrictBooleanFilter(field_name="is_preview")
    requested_by = filters.CharFilter(
        field_name="requested_by__username", help_text="User name of who requested the job."
    )

    class Meta:
        model = RestorationJob
        fields = ["status", "mine", "undecided", "capture", "tape", "preview", "requested_by"]

    def filter_mine(self, queryset: QuerySet[RestorationJob], name: str, value: bool) -> Any:
        if value is None:
            return queryset
        mine = queryset.filter(requested_by=self.request.user)
        return mine if value else queryset.exclude(pk__in=mine.values("pk"))

    def filter_undecided(self, queryset: QuerySet[RestorationJob], name: str, value: bool) -> Any:
        if value is None:
            return queryset
        institution = api_institution(self.request)
        needing = selectors.jobs_needing_decision(institution=institution).values("pk")
        return queryset.filter(pk__in=needing) if value else queryset.exclude(pk__in=needing)


class RestorationJobViewSet(
    ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Restoration jobs of your institution: request, follow, cancel, retry."""

    serializer_class = JobSerializer
    filterset_class = JobFilter
    idempotent_actions = ("create", "retry")
    extra_error_statuses = (409,)  # cancel/retry of a job in the wrong state
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
        description="Queue a restoration of a capture. `parameters.preview=true` restores a "
        "short segment around the worst frames first.",
    )
    @idempotent
    def create(self, request: Request) -> Response:
        payload = JobCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        capture = capture_get(institution=self.institution, pk=payload.validated_data["capture"])
        job = services.job_request(
            actor=request.user,
            membership=self.membership,
            capture=capture,
            parameters=dict(payload.validated_data.get("parameters") or {}),
        )
        job = selectors.job_get(institution=self.institution, job_id=job.pk)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: JobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        job = services.job_cancel(
            actor=request.user, membership=self.membership, job=self.get_object()
        )
        return Response(JobSerializer(job).data)

    @extend_schema(request=None, responses={201: JobSerializer})
    @action(detail=True, methods=["post"])
    @idempotent
    def retry(self, request: Request, pk: Any = None) -> Response:
        job = services.job_retry(
            actor=request.user, membership=self.membership, job=self.get_object()
        )
        job = selectors.job_get(institution=self.institution, job_id=job.pk)
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)


class VersionFilter(filters.FilterSet):
    """The review page's ``state`` (``review_state`` is its alias) and a few more."""

    tape = IdFilter(field_name="tape_id")
    capture = IdFilter(field_name="capture_id")
    preview = StrictBooleanFilter(field_name="is_preview")
    state = filters.ChoiceFilter(
        method="filter_state",
        choices=[(state, state) for state in (*selectors.REVIEW_STATES, "all")],
        help_text="Latest decision, `pending` (none yet) or `all`, as on the review page; "
        "unlike the page, leaving it out lists every version.",
    )
    review_state = filters.ChoiceFilter(
        field_name="review_state",
        choices=[(state, state) for state in selectors.REVIEW_STATES],
        help_text="Alias of `state`.",
    )

    class Meta:
        model = RestoredVersion
        fields = ["tape", "capture", "preview", "state", "review_state"]

    def filter_state(self, queryset: QuerySet[RestoredVersion], name: str, value: str) -> Any:
        if not value or value == "all":
            return queryset
        return queryset.filter(review_state=value)


class RestoredVersionViewSet(
    ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Restored versions (immutable): files, provenance, review decisions, publication."""

    serializer_class = VersionSerializer
    filterset_class = VersionFilter
    idempotent_actions = ("decisions", "publish")
    extra_error_statuses = (409,)  # publication refused
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
        responses=media_responses("video/x-matroska"),
        parameters=MEDIA_HEADERS,
        description="The FFV1/MKV master (its download is recorded in the audit history).",
    )
    @action(detail=True, methods=["get"], renderer_classes=[PassthroughRenderer])
    def master(self, request: Request, pk: Any = None) -> HttpResponse:
        version = self.get_object()
        return serve_master(
            request._request, version=version, actor=request.user, membership=self.membership
        )

    @extend_schema(
        responses=media_responses("video/mp4"),
        parameters=MEDIA_HEADERS,
        description="The H.264/MP4 access copy (range requests for players).",
    )
    @action(detail=True, methods=["get"], renderer_classes=[PassthroughRenderer])
    def access(self, request: Request, pk: Any = None) -> HttpResponse:
        version = self.get_object()
        return serve_file_with_ranges(
            request._request, version.access, "video/mp4", f"version-{version.pk}.access.mp4"
        )

    @extend_schema(
        responses={200: OpenApiResponse(PROVENANCE_SCHEMA, description="PREMIS-style provenance")},
    )
    @action(detail=True, methods=["get"])
    def provenance(self, request: Request, pk: Any = None) -> Response:
        return Response(version_provenance(version=self.get_object()))

    @extend_schema(
        responses={
            (200, "application/ld+json"): OpenApiResponse(
                IIIF_MANIFEST_SCHEMA, description="IIIF Presentation 3 Manifest"
            )
        },
        description="IIIF Presentation 3 manifest of the version: one Video canvas (duration, "
        "width, height) painted with the access copy, the tape's fields as metadata. Tapes "
        "shown to the public also have a public manifest at /iiif/tapes/{tape}/manifest.json.",
    )
    @action(detail=True, methods=["get"], url_path="iiif-manifest")
    def iiif_manifest(self, request: Request, pk: Any = None) -> Response:
        from restoration.iiif import version_manifest

        version = self.get_object()
        manifest = version_manifest(
            version=version,
            manifest_url=request.build_absolute_uri(),
            video_url=request.build_absolute_uri(
                reverse("api:restored-version-access", args=[version.pk])
            ),
        )
        return Response(manifest, content_type="application/ld+json")

    @extend_schema(
        request=DecisionSerializer,
        responses={201: DecisionReadSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def decisions(self, request: Request, pk: Any = None) -> Response:
        return self._record(
            request, DecisionSerializer, services.version_decide, DecisionReadSerializer
        )

    @extend_schema(
        request=PublishSerializer,
        responses={201: PublicationSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def publish(self, request: Request, pk: Any = None) -> Response:
        return self._record(
            request, PublishSerializer, services.version_publish, PublicationSerializer
        )

    def _record(
        self,
        request: Request,
        form: type[serializers.Serializer],
        service: Callable[..., Any],
        answer: type[serializers.Serializer],
    ) -> Response:
        """A decision or a publication of this version: the body checked by `form`, the
        service run with the caller's membership, its new record answered by `answer` (201)."""
        payload = form(data=request.data)
        payload.is_valid(raise_exception=True)
        record = service(
            actor=request.user,
            membership=self.membership,
            version=self.get_object(),
            **payload.validated_data,
        )
        return Response(answer(record).data, status=status.HTTP_201_CREATED)


@extend_schema(
    request=PublishSerializer,
    responses={200: PublicationSerializer, 409: error_response("409")},
    tags=["restored-versions"],
)
@api_view(["POST"])
@permission_classes([IsInstitutionMember])
def tape_unpublish(request: Request, tape_id: int) -> Response:
    """Withdraw the tape's published version (kept in the publication history)."""
    payload = PublishSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    publication = services.tape_unpublish(
        actor=request.user,
        membership=api_membership(request),
        tape=tape_get(institution=api_institution(request), pk=tape_id),
        **payload.validated_data,
    )
    return Response(PublicationSerializer(publication).data)


register_converter(IdConverter, "api_id")

router = SimpleRouter()
router.include_format_suffixes = False
router.register("restoration-jobs", RestorationJobViewSet, basename="restoration-job")
router.register("restored-versions", RestoredVersionViewSet, basename="restored-version")

# The viewsets are registered on the portal's API router (portal/api_urls.py) so that the API
# root lists them beside collections, tapes and captures; these are the plain views.
urlpatterns = [
    path("tapes/<api_id:tape_id>/unpublish/", tape_unpublish, name="tape-unpublish"),
]
