"""Token authentication for collection systems.

``POST /api/v1/auth/token/`` with ``username`` and ``password`` returns the user's token
(created on first use). Administrators can also run ``manage.py drf_create_token <username>``
(``-r`` to replace a leaked token). Send it as ``Authorization: Token <key>``.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken


class ObtainTokenView(ObtainAuthToken):
    @extend_schema(
        request=inline_serializer(
            "TokenRequest",
            {"username": serializers.CharField(), "password": serializers.CharField()},
        ),
        responses=inline_serializer("TokenResponse", {"token": serializers.CharField()}),
        auth=[],
    )
    def post(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        return super().post(request, *args, **kwargs)


obtain_token = ObtainTokenView.as_view()
