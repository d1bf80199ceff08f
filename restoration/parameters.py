"""The option set of a restoration job: validated once when the job is requested.

A job stores the complete, normalised dict (``JobParameters.to_dict()``) so that the worker, a
retry and the provenance record all see exactly the same options. Defaults come from settings
(``RESTORATION_DEFAULT_MODEL``, ``RESTORATION_DEFAULT_SCORER``); the variants come from the
engine's torch-free registry (``restoration.engine.registry``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings

from portal import humanize
from restoration.engine.exceptions import ConfigError
from restoration.engine.registry import list_models
from restoration.engine.strengths import DEFAULT_STRENGTH, STRENGTHS, parse_strength
from restoration.exceptions import InvalidParametersError

SCORERS = ("offline", "clip", "none")
DEINTERLACE = ("off", "bwdif")
MAX_REFERENCES = 16
#: Length of a preview, in seconds: the form, the API and this module's check share it.
PREVIEW_SECONDS_RANGE = (0.5, 120.0)
DEFAULT_PREVIEW_SECONDS = 10.0


def available_models() -> list[str]:
    """Names of the engine's model variants (its torch-free registry)."""
    return list_models()


@dataclass(frozen=True)
class JobParameters:
    model: str
    scorer: str
    references: int | None = None  # None: the model's configured number (model.config)
    frame_start: int = 0
    frame_end: int | None = None  # exclusive; None: to the end of the capture
    deinterlace: str = "off"
    preview: bool = False
    preview_seconds: float = DEFAULT_PREVIEW_SECONDS
    # A name of STRENGTHS ("gentle", "standard") or a number from 0 to 1, as the user gave it.
    strength: str | float = DEFAULT_STRENGTH
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        return data


def _int_or_none(data: dict[str, Any], key: str, *, minimum: int) -> int | None:
    raw = data.get(key)
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise InvalidParametersError(f"{key} must be a whole number, not {raw!r}.")
    try:
        value = int(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidParametersError(f"{key} must be a whole number, not {raw!r}.") from exc
    if isinstance(raw, float) and not raw.is_integer():
        raise InvalidParametersError(f"{key} must be a whole number, not {raw!r}.")
    if value < minimum:
        raise InvalidParametersError(f"{key} must be at least {minimum}, not {value}.")
    return value


def _bool(data: dict[str, Any], key: str, default: bool) -> bool:
    raw = data.get(key, default)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(raw, str) and raw.lower() in {"0", "false", "no", "off", ""}:
        return False
    raise InvalidParametersError(f"{key} must be true or false, not {raw!r}.")


#: The options of a job, in the order pages show them.
KEYS = (
    "model",
    "strength",
    "scorer",
    "references",
    "frame_start",
    "frame_end",
    "deinterlace",
    "preview",
    "preview_seconds",
)
KNOWN_KEYS = frozenset(KEYS)


def _strength(data: dict[str, Any]) -> str | float:
    raw = data.get("strength")
    if raw is None or raw == "":
        return DEFAULT_STRENGTH
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise InvalidParametersError(
            f"strength must be {' or '.join(STRENGTHS)} or a number from 0 to 1, not {raw!r}."
        )
    try:
        value = parse_strength(raw)
    except ConfigError as exc:
        raise InvalidParametersError(f"{str(exc)[0].upper()}{str(exc)[1:]}.") from exc
    return raw if isinstance(raw, str) and raw in STRENGTHS else value


def parse_parameters(data: dict[str, Any] | None, *, frame_count: int | None) -> JobParameters:
    """Validate user-supplied options against the engine's registry and the capture length.

    Raises InvalidParametersError with a message naming the bad option and what is allowed.
    """
    data = dict(data or {})
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise InvalidParametersError(
            f"Unknown option(s): {', '.join(unknown)}. Allowed: {', '.join(sorted(KNOWN_KEYS))}."
        )
    model = str(data.get("model") or settings.RESTORATION_DEFAULT_MODEL)
    models = available_models()
    if model not in models:
        raise InvalidParametersError(
            f"Unknown model {model!r}. Available models: {', '.join(models)}."
        )
    scorer = str(data.get("scorer") or settings.RESTORATION_DEFAULT_SCORER)
    if scorer not in SCORERS:
        raise InvalidParametersError(
            f"Unknown reference selector {scorer!r}. Choose one of: {', '.join(SCORERS)}."
        )
    references = _int_or_none(data, "references", minimum=0)
    if references is not None and references > MAX_REFERENCES:
        raise InvalidParametersError(
            f"references must be at most {MAX_REFERENCES}, not {references}."
        )
    frame_start = _int_or_none(data, "frame_start", minimum=0) or 0
    frame_end = _int_or_none(data, "frame_end", minimum=1)
    if frame_count is not None:
        if frame_start >= frame_count:
            raise InvalidParametersError(
                f"frame_start {frame_start} is past the end of the capture ({frame_count} frames)."
            )
        if frame_end is not None and frame_end > frame_count:
            frame_end = frame_count
    if frame_end is not None and frame_end <= frame_start:
        raise InvalidParametersError(
            f"frame_end ({frame_end}) must be greater than frame_start ({frame_start})."
        )
    deinterlace = str(data.get("deinterlace") or "off")
    if deinterlace not in DEINTERLACE:
        raise InvalidParametersError(
            f"deinterlace must be one of {', '.join(DEINTERLACE)}, not {deinterlace!r}."
        )
    preview = _bool(data, "preview", False)
    raw_seconds = data.get("preview_seconds", DEFAULT_PREVIEW_SECONDS)
    try:
        preview_seconds = float(raw_seconds)
    except (TypeError, ValueError) as exc:
        raise InvalidParametersError(
            f"preview_seconds must be a number, not {raw_seconds!r}."
        ) from exc
    low, high = PREVIEW_SECONDS_RANGE
    if not low <= preview_seconds <= high:
        raise InvalidParametersError(f"preview_seconds must be between {low:g} and {high:g}.")
    return JobParameters(
        model=model,
        scorer=scorer,
        references=references,
        frame_start=frame_start,
        frame_end=frame_end,
        deinterlace=deinterlace,
        preview=preview,
        preview_seconds=preview_seconds,
        strength=_strength(data),
    )


def option_rows(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A job's options as (label, words), in a stable, meaningful order."""
    keys = [k for k in KEYS if k in parameters] + sorted(k for k in parameters if k not in KEYS)
    rows = []
    for key in keys:
        raw = parameters[key]
        if key == "references" and raw is None:
            text = "the model's default"
        elif key == "frame_end" and raw is None:
            text = "end of the capture"
        elif key == "preview_seconds" and not parameters.get("preview"):
            continue  # only meaningful for a preview
        else:
            text = humanize.value(key, raw)
        rows.append((humanize.label(key), text))
    return rows
