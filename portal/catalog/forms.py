from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import Institution
from portal.catalog.models import Collection, Tape


def parse_metadata_lines(text: str) -> dict[str, str]:
    """``key: value`` per line -> dict; raises ValidationError naming the bad line."""
    result: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise forms.ValidationError(
                f'Line {number}: write "key: value" (got {line.strip()!r}).'
            )
        if len(key.strip()) > 100:
            raise forms.ValidationError(f"Line {number}: keys are at most 100 characters.")
        result[key.strip()] = value.strip()
    return result


class TapeForm(forms.ModelForm):
    wide_fields = ("description", "condition_notes", "rights_statement", "metadata")
    metadata = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text='Extra fields, one "key: value" per line (e.g. "donor: City council").',
    )

    class Meta:
        model = Tape
        fields = list(Tape.FIELDS)
        widgets = {
            "condition_notes": forms.Textarea(attrs={"rows": 3}),
            "description": forms.Textarea(attrs={"rows": 4}),
            "subjects": forms.TextInput(),
            "rights_statement": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, institution: Institution, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The model's clean() reads institution to check the collection and parse the date.
        self.instance.institution = institution
        self.fields["collection"].queryset = Collection.objects.for_institution(institution)
        if self.instance.pk and not self.is_bound:
            self.initial["metadata"] = "\n".join(
                f"{item.key}: {item.value}" for item in self.instance.metadata.all()
            )

    def clean_identifier(self) -> str:
        identifier = self.cleaned_data["identifier"].strip()
        clash = Tape.objects.for_institution(self.instance.institution).filter(
            identifier=identifier
        )
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError(
                f"A tape with identifier {identifier!r} already exists in your institution."
            )
        return identifier

    def clean_metadata(self) -> dict[str, str]:
        return parse_metadata_lines(self.cleaned_data.get("metadata") or "")

    def tape_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in Tape.FIELDS}


class CollectionForm(forms.ModelForm):
    class Meta:
        model = Collection
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, institution: Institution, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.institution = institution


class TapeImportForm(forms.Form):
    file = forms.FileField(
        help_text="UTF-8 CSV with a header row, as written by the export. "
        "identifier is required; other columns are optional; meta:<key> columns set extra fields."
    )
    create_collections = forms.BooleanField(
        required=False,
        label="Create the collections this file names",
        help_text="Off: a collection name that does not exist yet is reported as an error "
        "(a typo never creates a collection silently).",
    )
