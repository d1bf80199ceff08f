"""The manager's Storage page (usage, fixity, packages), package requests and downloads."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import InstitutionRequest, Role, member_required
from accounts.selectors import get_for_institution
from portal.catalog.selectors import tape_get
from portal.media import media_view, serve_file_with_ranges
from portal.preservation import selectors
from portal.preservation.bags import package_request
from portal.preservation.models import PackageStatus, PreservationPackage


@member_required(Role.MANAGER)
@require_GET
def storage_overview(request: InstitutionRequest) -> HttpResponse:
    institution = request.institution
    total, by_collection = selectors.storage_usage(institution=institution)
    context = {
        "total": total,
        "by_collection": by_collection,
        "fixity": selectors.fixity_summary(institution=institution),
        "failures": selectors.fixity_failures(institution=institution)[:50],
        "packages": selectors.packages(institution=institution)[:50],
    }
    return render(request, "preservation/storage.html", context)


@member_required(Role.MANAGER)
@require_POST
def package_create(request: InstitutionRequest, tape_pk: int) -> HttpResponse:
    institution = request.institution
    tape = tape_get(institution=institution, pk=tape_pk)
    try:
        package_request(actor=request.user, tape=tape)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The preservation package of {tape.identifier} is queued.")
    return redirect("preservation:storage")


@media_view
def package_download(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    from accounts.permissions import role_at_least
    from accounts.selectors import current_membership

    membership = current_membership(request)
    if not role_at_least(membership, Role.MANAGER):
        raise PermissionDenied("Preservation packages are for managers.")
    package = get_for_institution(
        PreservationPackage.objects.filter(status=PackageStatus.READY),
        membership.institution if membership else None,
        pk=pk,
    )
    return serve_file_with_ranges(
        request,
        package.file,
        "application/x-tar",
        f"tape-{package.tape.identifier}-bag.tar",
        as_attachment=True,
    )
