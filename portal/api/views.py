"""What every viewset of the REST API shares: ``ScopedViewSetMixin``.

The apps' endpoints live in their own ``api.py`` (``portal/catalog/api.py``,
``portal/captures/api.py``, ``restoration/api.py``, ...); ``portal/api_urls.py`` routes them.
Every queryset starts from the active institution (``api_institution``), so objects of other
institutions are 404 exactly as on the pages; every write is a service call, so roles are
checked and audit events recorded the same way as from the pages.
"""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Membership
from portal.api.filtering import ID_PATTERN
from portal.api.permissions import IsInstitutionMember
from portal.api.safe_writes import ConditionalMixin
from portal.api.schema import INSTITUTION_PARAMETER
from portal.api.scoping import api_institution, api_membership

__all__ = ["INSTITUTION_PARAMETER", "ScopedViewSetMixin"]

#: Actions that answer files or XML (any media type accepted); their errors are still JSON.
NON_JSON_ACTIONS = frozenset({"export", "pbcore"})


class ScopedViewSetMixin(ConditionalMixin):
    """Institution scoping, ETag/If-Match on one object, strict query parameters (settings)."""

    permission_classes = [IsInstitutionMember]
    idempotent_actions: tuple[str, ...] = ()
    non_json_actions: frozenset[str] = NON_JSON_ACTIONS
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
        if getattr(self, "action", None) in self.non_json_actions:
            self.request.accepted_renderer = JSONRenderer()
            self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)  # type: ignore[misc]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        if getattr(self, "swagger_fake_view", False):
            return context
        context["institution"] = self.institution
        return context
