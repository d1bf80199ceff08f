"""Services and authentication of managed API tokens.

``Authorization: Bearer <secret>`` (or ``Token <secret>``). A token is refused (401) when it is
unknown, revoked or expired; a read-only token is refused (403) on any write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS

from portal.api.models import ApiToken, TokenScope
from portal.exceptions import ApplicationError

SECRET_PREFIX = "tap_"
#: last_used_at is written at most this often per token (not on every request).
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def _now() -> dt.datetime:
    return timezone.now()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenError(ApplicationError):
    status = 400


def token_create(
    *,
    user: Any,
    name: str,
    scope: str = TokenScope.READ_WRITE,
    expires_at: dt.datetime | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its secret (the only time the secret exists outside the client)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("Give the token a name of 1 to 100 characters.")
    if scope not in TokenScope.values:
        raise TokenError(f"Scope must be one of {', '.join(TokenScope.values)}.")
    if expires_at is not None and expires_at <= _now():
        raise TokenError("The expiry must be in the future.")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        scope=scope,
        key_hash=hash_secret(secret),
        prefix=secret[: len(SECRET_PREFIX) + 6],
        created_at=_now(),
        expires_at=expires_at,
    )
    return token, secret


def token_revoke(*, user: Any, token: ApiToken) -> ApiToken:
    if token.user_id != user.pk:
        raise exceptions.NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = _now()
        token.save(update_fields=["revoked_at"])
    return token


def token_revoke_all_for_user(*, user: Any) -> int:
    """Revoke every active token of ``user`` (e.g. after a password change); how many."""
    with transaction.atomic():
        return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=_now())


def on_tokens_revoke_requested(sender: Any, *, user: Any, **_: Any) -> int:
    """Receiver of ``portal.events.api_tokens_revoke_requested`` (accounts, password change)."""
    return token_revoke_all_for_user(user=user)


def token_list(*, user: Any) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def default_expiry() -> dt.datetime | None:
    days = settings.API_TOKEN_DEFAULT_DAYS
    return _now() + dt.timedelta(days=days) if days else None


class ApiTokenAuthentication(BaseAuthentication):
    keywords = (b"bearer", b"token")

    def authenticate(self, request: Any) -> tuple[Any, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in self.keywords:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send 'Authorization: Bearer <token>'.")
        try:
            secret = parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("The token has invalid characters.") from exc
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_secret(secret)).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown token.")
        now = _now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This token was revoked; create a new one.")
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed("This token has expired; create a new one.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("This account is disabled.")
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


def check_token_scope(request: Any) -> None:
    """A read-only token may only read (403 ``token_read_only`` on a write)."""
    token = getattr(request, "auth", None)
    if (
        isinstance(token, ApiToken)
        and token.scope == TokenScope.READ
        and request.method not in SAFE_METHODS
    ):
        raise exceptions.PermissionDenied(
            "This token is read-only; use a read-write token to change anything.",
            code="token_read_only",
        )
