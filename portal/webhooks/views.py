"""Webhook endpoints page (managers): add, choose events, pause, delete, see deliveries."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import InstitutionRequest, member_required
from accounts.selectors import get_for_institution
from portal.webhooks.models import Endpoint, EventType
from portal.webhooks.services import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_update,
)


class EndpointForm(forms.Form):
    url = forms.URLField(max_length=500, label="URL", assume_scheme="https")
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
        help_text="None ticked: every event.",
    )


@member_required(Role.MANAGER)
def webhook_list(request: InstitutionRequest) -> HttpResponse:
    institution = request.institution
    form = EndpointForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created = webhook_endpoint_create(
                actor=request.user, institution=institution, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Webhook to {created.url} added.")
            form = EndpointForm()
    endpoints = Endpoint.objects.for_institution(institution).prefetch_related("deliveries")
    return render(
        request,
        "webhooks/list.html",
        {
            "form": form,
            "endpoints": [(e, list(e.deliveries.all()[:5])) for e in endpoints],
            "created": created,
            "event_labels": dict(EventType.choices),
        },
    )


@member_required(Role.MANAGER)
@require_POST
def webhook_toggle(request: InstitutionRequest, pk: int) -> HttpResponse:
    endpoint = get_for_institution(Endpoint.objects.all(), request.institution, pk=pk)
    webhook_endpoint_update(actor=request.user, endpoint=endpoint, is_active=not endpoint.is_active)
    messages.success(request, f"Webhook {'resumed' if endpoint.is_active else 'paused'}.")
    return redirect("webhooks:list")


@member_required(Role.MANAGER)
@require_POST
def webhook_delete(request: InstitutionRequest, pk: int) -> HttpResponse:
    endpoint = get_for_institution(Endpoint.objects.all(), request.institution, pk=pk)
    webhook_endpoint_delete(actor=request.user, endpoint=endpoint)
    messages.success(request, f"Webhook to {endpoint.url} deleted.")
    return redirect("webhooks:list")
