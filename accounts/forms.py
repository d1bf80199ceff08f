from __future__ import annotations

from django import forms

from accounts.models import Institution, Role


class MemberInviteForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        help_text="Their user name. They join when they accept the invitation (on their "
        "Invitations page); nothing is said here about whether the name exists.",
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ARCHIVIST)


class LinkInviteForm(forms.Form):
    """An invitation link: shown to copy, or sent to an e-mail address."""

    email = forms.EmailField(
        required=False,
        label="E-mail (optional)",
        help_text="With an address, the link is sent there; without, it is shown here to copy "
        "(for a chat or a letter). Whoever opens it first joins, with their account or a new one.",
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ARCHIVIST)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class InstitutionSettingsForm(forms.ModelForm):
    class Meta:
        model = Institution
        fields = ["name", "public_access", "allow_self_approval"]
