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


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class InstitutionSettingsForm(forms.ModelForm):
    class Meta:
        model = Institution
        fields = ["name", "public_access", "allow_self_approval"]
