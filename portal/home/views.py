"""The home page: a member's own work first (see ``portal.home.selectors``)."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render

from accounts.models import Role
from accounts.permissions import InstitutionRequest, member_required
from portal.home.selectors import home_sections


@member_required(Role.ARCHIVIST)
def home(request: InstitutionRequest) -> HttpResponse:
    sections = home_sections(
        institution=request.institution,
        membership=request.membership,
        user=request.user,
    )
    return render(request, "home.html", {"sections": sections})
