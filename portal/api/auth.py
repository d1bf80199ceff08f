"""Token authentication for collection systems.

``POST /api/v1/auth/token/`` with ``username`` and ``password`` returns the user's token
(created on first use). Administrators can also run ``manage.py drf_create_token <username>``
(``-r`` to replace a leaked token). Send it as ``Authorization: Token <key>``. Wrong passwords
count towards the login lockout (429 with Retry-After); changing the password revokes the token.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response

from accounts.throttling import client_address, login_failed, login_lockout, login_succeeded


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
        # The same lockout as the login page, checked before any password is hashed.
        username = str(request.data.get("username", ""))
        address = client_address(request._request)
        lockout = login_lockout(username=username, address=address)
        if lockout is not None:
            raise exceptions.Throttled(wait=lockout.retry_after_s, detail=lockout.message)
        serializer = self.get_serializer(data=request.data)
        if not serializer.is_valid():
            login_failed(username=username, address=address)
            raise exceptions.ValidationError(serializer.errors)
        user = serializer.validated_data["user"]
        login_succeeded(username=user.get_username(), address=address)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


obtain_token = ObtainTokenView.as_view()
