"""API: storage usage of the active institution, per collection (managers)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Role, role_at_least
from portal.api.permissions import IsInstitutionMember
from portal.api.scoping import api_membership
from portal.preservation.selectors import fixity_summary, storage_usage


class StorageUsageView(APIView):
    """Bytes stored by your institution: originals, proxies, masters, access copies, in total
    and per collection; plus the fixity summary."""

    permission_classes = [IsInstitutionMember]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        membership = api_membership(request)
        if not role_at_least(membership, Role.MANAGER):
            raise PermissionDenied("Storage usage is for managers.")
        total, by_collection = storage_usage(institution=membership.institution)
        summary = fixity_summary(institution=membership.institution)
        oldest = summary["oldest_check"]
        return Response(
            {
                "total": total.as_dict(),
                "collections": [row.as_dict() for row in by_collection],
                "fixity": {**summary, "oldest_check": oldest.isoformat() if oldest else None},
            }
        )
