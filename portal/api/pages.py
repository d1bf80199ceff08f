"""Portal page for a person's API tokens: create (secret shown once), list, revoke."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from portal.api.models import ApiToken, TokenScope
from portal.api.tokens import TokenError, _now, token_create, token_list, token_revoke

EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “Collection system”.")
    scope = forms.ChoiceField(choices=TokenScope.choices, initial=TokenScope.READ)
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="90", label="Expires after")


@login_required
def token_page(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in"]
        try:
            token, secret = token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                expires_at=_now() + dt.timedelta(days=int(days)) if days else None,
            )
        except TokenError as exc:
            form.add_error(None, exc.message)
        else:
            form = TokenForm()  # the page shows the secret once; a reload does not repeat it
            messages.success(request, f"Token “{token.name}” created. Copy it now.")
    return render(
        request,
        "api/tokens.html",
        {"form": form, "secret": secret, "tokens": token_list(user=request.user), "now": _now()},
    )


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    token_revoke(user=request.user, token=token)
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("api_pages:tokens")
