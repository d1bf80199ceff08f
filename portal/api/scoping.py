"""The API's view of the active institution: the same scoping as the pages.

A browser session uses the institution picked in the site header; a token client acts for its
user's first institution, or names one with the ``X-Institution`` header (its slug) when the
user belongs to several.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from accounts.models import Institution, Membership
from accounts.selectors import current_membership, memberships_for_user

INSTITUTION_HEADER = "X-Institution"
#: The header in the OpenAPI description of every scoped endpoint.
INSTITUTION_PARAMETER = OpenApiParameter(
    INSTITUTION_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Slug of the institution to act for (only needed when you belong to several).",
)


def api_membership(request: Any) -> Membership:
    """The membership the request acts through; 404 when the user has none (or names another)."""
    cached = getattr(request, "_api_membership", None)
    if cached is not None:
        return cached
    wanted = request.headers.get(INSTITUTION_HEADER, "").strip()
    if wanted:
        membership = next(
            (m for m in memberships_for_user(request.user) if m.institution.slug == wanted), None
        )
        if membership is None:
            raise Http404(f"You are not a member of an institution called {wanted!r}.")
    else:
        membership = current_membership(request)
        if membership is None:
            raise Http404("Your account is not a member of any institution.")
    request._api_membership = membership
    return membership


def api_institution(request: Any) -> Institution:
    return api_membership(request).institution
