"""Forms of the restoration pages. Validation of job options lives in restoration.parameters;
these forms only shape the browser input into the dict the services take."""

from __future__ import annotations

from typing import Any

from django import forms

from restoration.models import Decision
from restoration.parameters import (
    DEFAULT_PREVIEW_SECONDS,
    DEINTERLACE,
    MAX_REFERENCES,
    SCORERS,
    available_models,
)

_SCORER_LABELS = {
    "offline": "Offline artifact scorer (shipped)",
    "clip": "CLIP zero-shot (needs CLIP weights on the worker)",
    "none": "Classical estimate (no weights needed)",
}


class JobRequestForm(forms.Form):
    model = forms.ChoiceField(label="Model variant")
    scorer = forms.ChoiceField(
        label="Reference selector", choices=[(name, _SCORER_LABELS[name]) for name in SCORERS]
    )
    references = forms.IntegerField(
        label="Number of references",
        min_value=0,
        max_value=MAX_REFERENCES,
        required=False,
        help_text="Blank: the model's default. 0 restores without references.",
    )
    frame_start = forms.IntegerField(label="First frame", min_value=0, required=False)
    frame_end = forms.IntegerField(
        label="Stop before frame",
        min_value=1,
        required=False,
        help_text="The restoration ends just before this frame (100 restores up to frame 99). "
        "Blank: to the end of the capture.",
    )
    deinterlace = forms.ChoiceField(
        choices=[(mode, mode) for mode in DEINTERLACE],
        initial="off",
        help_text="off keeps the scan type of the capture (archival default).",
    )
    strength = forms.ChoiceField(
        label="Strength",
        choices=[
            ("standard", "Standard: all of the restoration"),
            ("gentle", "Gentle: half of it, more of the original grain kept"),
        ],
        initial="standard",
        required=False,
        help_text="Colours and brightness outside damaged areas are kept at either strength. "
        "Run two previews to compare strengths side by side.",
    )
    preview = forms.BooleanField(
        required=False,
        label="Preview only",
        help_text=f"Restore {DEFAULT_PREVIEW_SECONDS:g} s around the worst frames first, so a "
        "reviewer can judge before the whole tape is processed.",
    )

    def __init__(self, *args: Any, default_model: str, default_scorer: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [(name, name) for name in available_models()]
        self.fields["model"].initial = default_model
        self.fields["scorer"].initial = default_scorer

    def parameters(self) -> dict[str, Any]:
        return {key: value for key, value in self.cleaned_data.items() if value is not None}


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=Decision.choices, widget=forms.RadioSelect)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
