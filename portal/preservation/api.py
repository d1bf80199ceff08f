"""API: storage usage of the active institution, per collection (managers)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Role, role_at_least
from portal.api.filtering import check_query_parameters
from portal.api.permissions import IsInstitutionMember
from portal.api.scoping import api_membership
from portal.preservation.selectors import fixity_summary, storage_usage


class UsageSerializer(serializers.Serializer):
    label = serializers.CharField(help_text='Collection name, "No collection" or the total.')
    captures = serializers.IntegerField(help_text="Number of captures.")
    originals = serializers.IntegerField(help_text="Bytes of original capture files.")
    proxies = serializers.IntegerField(help_text="Bytes of browser copies of captures.")
    masters = serializers.IntegerField(help_text="Bytes of restored masters (FFV1/MKV).")
    access_copies = serializers.IntegerField(help_text="Bytes of restored access copies.")
    total = serializers.IntegerField(help_text="Sum of the four kinds of file, in bytes.")


class FixitySummarySerializer(serializers.Serializer):
    files = serializers.IntegerField(help_text="Stored files under fixity checks.")
    checked = serializers.IntegerField(help_text="Files checked at least once.")
    failing = serializers.IntegerField(help_text="Files whose last check failed.")
    oldest_check = serializers.DateTimeField(
        allow_null=True, help_text="When the least recently checked file was checked."
    )


class StorageUsageSerializer(serializers.Serializer):
    total = UsageSerializer()
    collections = UsageSerializer(many=True)
    fixity = FixitySummarySerializer()


class StorageUsageView(APIView):
    """Bytes stored by your institution: originals, proxies, masters, access copies, in total
    and per collection; plus the fixity summary."""

    permission_classes = [IsInstitutionMember]

    @extend_schema(responses={200: StorageUsageSerializer})
    def get(self, request: Request) -> Response:
        check_query_parameters(request, self)  # it takes none: a typo is not silently ignored
        membership = api_membership(request)
        if not role_at_least(membership, Role.MANAGER):
            raise PermissionDenied("Storage usage is for managers.")
        total, by_collection = storage_usage(institution=membership.institution)
        return Response(
            StorageUsageSerializer(
                {
                    "total": total.as_dict(),
                    "collections": [row.as_dict() for row in by_collection],
                    "fixity": fixity_summary(institution=membership.institution),
                }
            ).data
        )
