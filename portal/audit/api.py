"""REST API of the audit history (routed by portal/api_urls.py).

    GET /api/v1/audit-events/?action=&actor=&actor_id=&from=&to=  the institution's (managers)

``AuditListView`` is the base of every audit list, a tape's timeline included
(``portal/catalog/api.py``, ``GET /api/v1/tapes/{id}/timeline/``); all are paginated like every
list (``count``, ``next``, ``previous``, ``results``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers

from accounts.models import Membership, Role
from accounts.permissions import require_role
from portal.api.pagination import PagePagination
from portal.api.permissions import IsInstitutionMember
from portal.api.scoping import api_membership
from portal.audit.models import AuditEvent
from portal.audit.selectors import institution_history

OBJECT_ANY = {"type": "object", "additionalProperties": True}


@extend_schema_field(
    {
        "type": "object",
        "description": "Per changed field: [old value, new value].",
        "additionalProperties": {"type": "array", "items": {}, "minItems": 2, "maxItems": 2},
    }
)
class ChangesField(serializers.JSONField):
    pass


@extend_schema_field(OBJECT_ANY)
class DetailsField(serializers.JSONField):
    """Event-specific facts (a JSON object; keys depend on the action)."""


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label")
    changes = ChangesField(read_only=True)
    details = DetailsField(read_only=True)

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


class AuditListView(generics.ListAPIView):
    """Audit events, newest first, paginated (``page``, ``page_size``)."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsInstitutionMember]
    pagination_class = PagePagination
    ordering_fields: list[str] = []
    search_fields: list[str] = []


@extend_schema(
    tags=["audit"],
    parameters=[
        OpenApiParameter(
            "action", str, description="`job` (every job.* action) or one action, `job.failed`."
        ),
        OpenApiParameter("actor", str, description="User name of the person who acted."),
        OpenApiParameter("actor_id", int, description="User id (as the history page's filter)."),
        OpenApiParameter("from", OpenApiTypes.DATE, description="On or after (YYYY-MM-DD)."),
        OpenApiParameter("to", OpenApiTypes.DATE, description="On or before (YYYY-MM-DD)."),
    ],
)
class InstitutionTimelineView(AuditListView):
    """The institution's whole audit history (managers), newest first, with filters."""

    extra_query_parameters = ("action", "actor", "actor_id", "from", "to")

    def get_queryset(self) -> QuerySet[AuditEvent]:
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        membership = api_membership(self.request)
        require_role(self.request.user, membership.institution, Role.MANAGER)
        params = self.request.query_params
        return institution_history(
            institution=membership.institution,
            action=params.get("action", ""),
            actor_id=_actor_id(membership.institution, params),
            date_from=_date_param(params, "from"),
            date_to=_date_param(params, "to"),
        )


def _actor_id(institution: Any, params: Any) -> int | None:
    name, raw_id = params.get("actor", "").strip(), params.get("actor_id", "").strip()
    if raw_id:
        if not raw_id.isdigit() or len(raw_id) > 18:
            raise serializers.ValidationError({"actor_id": ["A user id is a whole number."]})
        return int(raw_id)
    if not name:
        return None
    user = get_user_model().objects.filter(username=name).first()
    if user is None or not Membership.objects.filter(user=user, institution=institution).exists():
        raise serializers.ValidationError(
            {"actor": [f"No member of this institution is called {name!r}."]}
        )
    return user.pk


def _date_param(params: Any, name: str) -> dt.date | None:
    value = params.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise serializers.ValidationError({name: [f"{value!r} is not a YYYY-MM-DD date."]}) from exc


institution_timeline = InstitutionTimelineView.as_view()
