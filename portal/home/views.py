"""The home page: a member's own work first (see ``portal.home.selectors``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.models import Role
from accounts.permissions import member_required
from portal.home.selectors import home_sections


@member_required(Role.ARCHIVIST)
def home(request: HttpRequest) -> HttpResponse:
    sections = home_sections(
        institution=request.institution,  # type: ignore[attr-defined]
        membership=request.membership,  # type: ignore[attr-defined]
        user=request.user,
    )
    return render(request, "home.html", {"sections": sections})
