"""Rate limits of API clients: one budget per token (per user for a browser session, per
address for anonymous calls), answered 429 with Retry-After by DRF.

Rates come from settings at request time (``API_RATE_PER_CLIENT``, ``API_RATE_ANONYMOUS``), so a
deployment tunes them by environment. Counters live in the default cache (Redis or database).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from portal.api.models import ApiToken


class ApiClientThrottle(SimpleRateThrottle):
    scope = "api_client"

    def get_rate(self) -> str | None:
        return getattr(settings, "API_RATE_PER_CLIENT", None)

    def allow_request(self, request: Any, view: Any) -> bool:
        # Rates are read per request, not once per class (DRF's default), so settings apply.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if not request.user or not request.user.is_authenticated:
            return None  # AnonymousApiThrottle
        if isinstance(request.auth, ApiToken):
            # Per token: a leaked or runaway client is limited without touching the others.
            ident = f"token-{request.auth.pk}"
        else:
            ident = f"user-{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousApiThrottle(ApiClientThrottle):
    scope = "api_anonymous"

    def get_rate(self) -> str | None:
        return getattr(settings, "API_RATE_ANONYMOUS", None)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
