"""REST API of webhook endpoints (managers): ``/api/v1/webhooks/``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Role
from accounts.permissions import require_role
from portal.api.views import ScopedViewSetMixin
from portal.webhooks.models import Delivery, Endpoint, EventType
from portal.webhooks.services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
)


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "message_id",
            "event_type",
            "attempt",
            "status_code",
            "error",
            "delivered",
            "created_at",
        ]
        read_only_fields = fields


class EndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        required=False,
        help_text="Events to send; empty: every event.",
    )
    secret = serializers.CharField(
        read_only=True,
        help_text="`whsec_...`: verify the `webhook-signature` header with it (Standard Webhooks).",
    )
    recent_deliveries = serializers.SerializerMethodField()

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "is_active",
            "secret",
            "created_at",
            "recent_deliveries",
        ]
        read_only_fields = ["id", "secret", "created_at", "recent_deliveries"]

    @extend_schema_field(DeliverySerializer(many=True))
    def get_recent_deliveries(self, endpoint: Endpoint) -> list[dict[str, Any]]:
        return DeliverySerializer(endpoint.deliveries.all()[:10], many=True).data


class WebhookViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    """Webhook endpoints of your institution (managers): URL, events, signing secret."""

    serializer_class = EndpointSerializer
    ordering_fields: list[str] = []
    search_fields: list[str] = []
    # No Idempotency-Key: a replay would have to store the signing secret in the clear.
    idempotent_actions = ()

    def get_queryset(self) -> QuerySet[Endpoint]:
        if getattr(self, "swagger_fake_view", False):
            return Endpoint.objects.none()
        require_role(self.request.user, self.institution, Role.MANAGER)
        return Endpoint.objects.for_institution(self.institution).prefetch_related("deliveries")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        endpoint = webhook_endpoint_create(
            actor=request.user, institution=self.institution, **payload.validated_data
        )
        return Response(self.get_serializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: EndpointSerializer) -> None:
        serializer.instance = webhook_endpoint_update(
            actor=self.request.user, endpoint=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Endpoint) -> None:
        webhook_endpoint_delete(actor=self.request.user, endpoint=instance)
