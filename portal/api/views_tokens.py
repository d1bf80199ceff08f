"""API of the caller's own tokens, and the password login that issues one.

GET    /api/v1/tokens/          your tokens (name, scope, expiry, last used; never secrets)
POST   /api/v1/tokens/          {"name", "scope", "expires_in_days"} -> the secret, once
DELETE /api/v1/tokens/{id}/     revoke (the row stays, marked revoked)
POST   /api/v1/auth/token/      {"username", "password"} -> a new read-write token
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import authenticate
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.throttling import client_address, login_failed, login_lockout, login_succeeded
from portal.api.filtering import ID_PATTERN
from portal.api.models import ApiToken, TokenScope
from portal.api.permissions import TokenScopeAllows
from portal.api.tokens import _now, default_expiry, token_create, token_list, token_revoke

MAX_EXPIRY_DAYS = 3650


class TokenSerializer(serializers.ModelSerializer):
    active = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "scope",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "active",
        ]
        read_only_fields = fields

    def get_active(self, token: ApiToken) -> bool:
        expired = token.expires_at is not None and token.expires_at <= _now()
        return token.revoked_at is None and not expired


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=TokenScope.choices, default=TokenScope.READ)
    expires_in_days = serializers.IntegerField(
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        allow_null=True,
        default=90,
        help_text="Days until the token stops working; null: never (not recommended).",
    )


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The secret. Shown only now: store it safely.")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


def _created(token: ApiToken, secret: str) -> dict[str, Any]:
    return {**TokenSerializer(token).data, "token": secret}


class TokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your API tokens: create (the secret is shown once), list, revoke."""

    serializer_class = TokenSerializer
    permission_classes = [TokenScopeAllows]
    lookup_value_regex = ID_PATTERN
    institution_scoped = False  # tokens belong to a person, not to an institution
    ordering_fields: list[str] = []
    search_fields: list[str] = []
    filterset_class = None

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return token_list(user=self.request.user)

    # No Idempotency-Key: a replay would have to store the secret, which is kept only hashed.
    @extend_schema(request=TokenCreateSerializer, responses={201: TokenCreatedSerializer})
    def create(self, request: Request) -> Response:
        payload = TokenCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        days = payload.validated_data["expires_in_days"]
        token, secret = token_create(
            user=request.user,
            name=payload.validated_data["name"],
            scope=payload.validated_data["scope"],
            expires_at=_now() + dt.timedelta(days=days) if days else None,
        )
        return Response(_created(token, secret), status=status.HTTP_201_CREATED)

    @extend_schema(description="Revoke the token: it stops working at once (the row is kept).")
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        token_revoke(user=request.user, token=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordLoginSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})
    name = serializers.CharField(
        max_length=100, required=False, help_text="Name of the new token (default: the client)."
    )


@extend_schema(request=PasswordLoginSerializer, responses={201: TokenCreatedSerializer}, auth=[])
@api_view(["POST"])
@authentication_classes([])
@permission_classes([])
def obtain_token(request: Request) -> Response:
    """A new read-write token for a user name and password (expires after
    ``API_TOKEN_DEFAULT_DAYS``); manage and revoke it like any other token."""
    # The same lockout as the login page, checked before any password is hashed.
    username = str(request.data.get("username", "")) if hasattr(request.data, "get") else ""
    address = client_address(request._request)
    lockout = login_lockout(username=username, address=address)
    if lockout is not None:
        raise exceptions.Throttled(wait=lockout.retry_after_s, detail=lockout.message)
    payload = PasswordLoginSerializer(data=request.data)
    payload.is_valid(raise_exception=True)
    user = authenticate(
        request._request,
        username=payload.validated_data["username"],
        password=payload.validated_data["password"],
    )
    if user is None or not user.is_active:
        login_failed(username=username, address=address)
        raise exceptions.ValidationError(
            {
                "non_field_errors": [
                    "Unable to log in with the provided credentials (user name and password)."
                ]
            }
        )
    login_succeeded(username=user.get_username(), address=address)
    name = payload.validated_data.get("name") or (
        "Login from " + (request.headers.get("User-Agent") or "an API client")[:80]
    )
    token, secret = token_create(
        user=user, name=name, scope=TokenScope.READ_WRITE, expires_at=default_expiry()
    )
    return Response(_created(token, secret), status=status.HTTP_201_CREATED)
