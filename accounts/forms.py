from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from accounts.models import Institution, Role


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="The person's existing user name.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.ARCHIVIST)

    def clean_username(self) -> Any:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise forms.ValidationError(
                f"No user named {username!r}. A superuser creates accounts in the admin."
            )
        return user


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class InstitutionSettingsForm(forms.ModelForm):
    class Meta:
        model = Institution
        fields = ["name", "public_access", "allow_self_approval"]
