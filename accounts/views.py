"""Institution switching, member management, invitations. Login and password change are Django's
own views with a lockout (``ThrottledLoginView``) and token revocation (``accounts.signals``);
templates in templates/registration/."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from accounts.exceptions import MembershipError
from accounts.forms import (
    InstitutionSettingsForm,
    LinkInviteForm,
    MemberInviteForm,
    MemberRoleForm,
)
from accounts.invitations import (
    invitation_accept,
    invitation_by_token,
    invitation_create,
    invitation_decline,
    invitation_email_send,
    invitation_link_accept,
    invitation_link_create,
    invitation_revoke,
)
from accounts.models import Institution, Invitation, Membership, Role
from accounts.permissions import InstitutionRequest, member_required
from accounts.selectors import (
    get_for_institution,
    institution_invitations,
    institution_members,
    pending_invitations,
)
from accounts.services import (
    institution_switch,
    institution_update,
    membership_change_role,
    membership_remove,
)
from accounts.throttling import client_address, login_failed, login_lockout, login_succeeded


@login_required
@require_POST
def switch_institution(request: HttpRequest) -> HttpResponse:
    try:
        institution_id = int(request.POST.get("institution", ""))
    except ValueError:
        institution_id = 0
    institution = institution_switch(request=request, institution_id=institution_id)
    messages.success(request, f"You are now working in {institution}.")
    # Object pages of the previous institution would answer 404 in the new one: start at home.
    target = "/"
    return HttpResponseRedirect(target)


@member_required(Role.MANAGER)
def members(request: InstitutionRequest) -> HttpResponse:
    institution = request.institution
    by_link = request.POST.get("invite") == "link"
    form = MemberInviteForm(None if by_link else request.POST or None)
    link_form = LinkInviteForm(request.POST if by_link else None)
    new_link = ""
    if by_link and link_form.is_valid():
        new_link = _link_invitation(request, link_form)
        link_form = LinkInviteForm()
    elif request.method == "POST" and not by_link and form.is_valid():
        try:
            invitation_create(
                actor=request.user,
                institution=institution,
                username=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
            )
        except MembershipError as exc:
            form.add_error("username", exc.message)
        else:
            messages.success(
                request,
                f"Invited {form.cleaned_data['username']}: they become a member when they accept.",
            )
            return redirect("accounts:members")
    return render(
        request,
        "accounts/members.html",
        {
            "members": institution_members(institution),
            "invitations": institution_invitations(institution),
            "form": form,
            "link_form": link_form,
            "new_link": new_link,
            "roles": Role.choices,
        },
    )


def _link_invitation(request: InstitutionRequest, form: LinkInviteForm) -> str:
    """Creates a link invitation, sends it when an address is given; returns the link, shown
    once on the page that answers (never stored: only its hash is)."""
    email, role = form.cleaned_data["email"], form.cleaned_data["role"]
    invitation, token = invitation_link_create(
        actor=request.user, institution=request.institution, role=role, email=email
    )
    link = request.build_absolute_uri(reverse("accounts:join", args=[token]))
    if not email:
        messages.success(request, "Invitation link made: copy it below. It works once.")
        return link
    try:
        invitation_email_send(invitation=invitation, link=link)
    except MembershipError as exc:
        messages.error(request, exc.message)
        return link
    messages.success(
        request,
        f"Invitation sent to {email}: whoever opens the link first joins as "
        f"{invitation.get_role_display().lower()}.",
    )
    return ""


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation link: logged in, accept it; otherwise log in first or make an account."""
    invitation = invitation_by_token(token)
    signup = UserCreationForm(request.POST if request.POST.get("action") == "signup" else None)
    if request.method == "POST":
        user = request.user if request.user.is_authenticated else None
        if user is None and request.POST.get("action") == "signup" and signup.is_valid():
            with transaction.atomic():
                user = signup.save()
                membership = invitation_link_accept(user=user, token=token)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return _joined(request, membership)
        if user is not None and request.POST.get("action") == "accept":
            try:
                membership = invitation_link_accept(user=user, token=token)
            except MembershipError as exc:
                messages.error(request, exc.message)
                return redirect("home")
            return _joined(request, membership)
    return render(
        request,
        "accounts/join.html",
        {"invitation": invitation, "signup": signup, "login_url": _login_then(request)},
    )


def _login_then(request: HttpRequest) -> str:
    return f"{reverse('accounts:login')}?{urlencode({'next': request.get_full_path()})}"


def _joined(request: HttpRequest, membership: Membership) -> HttpResponse:
    # A first institution becomes the default; others wait in the menu (the default stays
    # the one the person chose, as with invitations by user name).
    other = "" if membership.is_default else " Switch to it with the institution menu at the top."
    messages.success(
        request,
        f"Welcome: you are now {membership.get_role_display().lower()} at "
        f"{membership.institution}.{other}",
    )
    return redirect("home")


@member_required(Role.MANAGER)
@require_POST
def invitation_revoke_view(request: InstitutionRequest, pk: int) -> HttpResponse:
    invitation = get_for_institution(Invitation.objects.all(), request.institution, pk=pk)
    invitation_revoke(actor=request.user, invitation=invitation)
    messages.success(request, f"Invitation ({invitation.addressee}) revoked.")
    return redirect("accounts:members")


@login_required
def invitations(request: HttpRequest) -> HttpResponse:
    """The invitations addressed to the logged-in user (also for users without a membership)."""
    return render(
        request, "accounts/invitations.html", {"invitations": pending_invitations(request.user)}
    )


@login_required
@require_POST
def invitation_accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    membership = invitation_accept(user=request.user, invitation_id=pk)
    messages.success(
        request,
        f"You are now {membership.get_role_display().lower()} at {membership.institution}. "
        "Switch to it with the institution menu at the top.",
    )
    return redirect("accounts:invitations")


@login_required
@require_POST
def invitation_decline_view(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = invitation_decline(user=request.user, invitation_id=pk)
    messages.success(request, f"Invitation from {invitation.institution} declined.")
    return redirect("accounts:invitations")


@member_required(Role.MANAGER)
def institution_settings(request: InstitutionRequest) -> HttpResponse:
    """The institution's own settings page (name, public access, self-approval): managers
    change them here, no Django admin needed."""
    institution = request.institution
    # Validate on a copy so a rejected form leaves the cached institution untouched.
    form = InstitutionSettingsForm(
        request.POST or None, instance=Institution.objects.get(pk=institution.pk)
    )
    if request.method == "POST" and form.is_valid():
        institution_update(
            actor=request.user,
            institution=Institution.objects.get(pk=institution.pk),
            **form.cleaned_data,
        )
        messages.success(request, "Institution settings saved.")
        return redirect("accounts:institution_settings")
    return render(
        request, "accounts/institution_settings.html", {"form": form, "institution": institution}
    )


@member_required(Role.MANAGER)
@require_POST
def member_role(request: InstitutionRequest, pk: int) -> HttpResponse:
    membership = get_for_institution(
        Membership.objects.select_related("user", "institution"),
        request.institution,
        pk=pk,
    )
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            membership_change_role(
                actor=request.user, membership=membership, role=form.cleaned_data["role"]
            )
        except MembershipError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, f"{membership.user} is now {membership.get_role_display().lower()}."
            )
    else:
        messages.error(request, "Choose one of the listed roles.")
    return redirect("accounts:members")


@member_required(Role.MANAGER)
@require_POST
def member_remove(request: InstitutionRequest, pk: int) -> HttpResponse:
    membership = get_for_institution(
        Membership.objects.select_related("user", "institution"),
        request.institution,
        pk=pk,
    )
    try:
        membership_remove(actor=request.user, membership=membership)
    except MembershipError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Removed {membership.user} from {membership.institution}.")
    return redirect("accounts:members")


class ThrottledLoginView(LoginView):
    """Django's login page behind the lockout of ``accounts.throttling`` (429, Retry-After)."""

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username", "")
        lockout = login_lockout(username=username, address=client_address(request))
        if lockout is not None:
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, lockout.message)
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(lockout.retry_after_s)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        login_failed(
            username=self.request.POST.get("username", ""),
            address=client_address(self.request),
        )
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        login_succeeded(
            username=form.get_user().get_username(), address=client_address(self.request)
        )
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change; saving the new password revokes the user's API tokens
    (``accounts.signals``), so a leaked token dies with the old password."""

    success_url = reverse_lazy("accounts:password_change_done")
