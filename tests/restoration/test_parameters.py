"""Job options: validated once, normalised, with messages naming the bad option."""

from __future__ import annotations

import pytest

from restoration.exceptions import InvalidParametersError
from restoration.parameters import available_models, parse_parameters


def test_available_models_match_the_engine_registry() -> None:
    from restoration.engine.models import list_models

    assert available_models() == list(list_models())


def test_defaults_come_from_settings() -> None:
    options = parse_parameters({}, frame_count=100)
    assert options.model == "tiny" and options.scorer == "none"
    assert options.frame_start == 0 and options.frame_end is None
    assert options.deinterlace == "off" and options.preview is False
    assert options.to_dict()["references"] is None


def test_frame_end_is_clamped_to_the_capture() -> None:
    options = parse_parameters({"frame_start": "10", "frame_end": 500}, frame_count=100)
    assert (options.frame_start, options.frame_end) == (10, 100)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"model": "nope"}, "Unknown model 'nope'"),
        ({"scorer": "magic"}, "Unknown reference selector"),
        ({"references": -1}, "references must be at least 0"),
        ({"references": 99}, "at most 16"),
        ({"frame_start": 100}, "past the end"),
        ({"frame_start": 5, "frame_end": 5}, "must be greater than frame_start"),
        ({"frame_start": "x"}, "frame_start must be a whole number"),
        ({"frame_start": 2.5}, "whole number"),
        ({"deinterlace": "yadif"}, "deinterlace must be one of"),
        ({"preview": "maybe"}, "preview must be true or false"),
        ({"preview_seconds": 0}, "between 0.5 and 120"),
        ({"colour": "red"}, "Unknown option(s): colour"),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(data: dict, message: str) -> None:
    with pytest.raises(InvalidParametersError) as excinfo:
        parse_parameters(data, frame_count=100)
    assert message in str(excinfo.value)


def test_strength_is_standard_by_default_and_takes_names_or_numbers() -> None:
    assert parse_parameters({}, frame_count=10).strength == "standard"
    assert (
        parse_parameters({"strength": "gentle"}, frame_count=10).to_dict()["strength"] == "gentle"
    )
    assert parse_parameters({"strength": "0.3"}, frame_count=10).strength == 0.3
    assert parse_parameters({"strength": 0}, frame_count=10).strength == 0.0


@pytest.mark.parametrize("raw", ["loud", "1.5", -1, True, [1]])
def test_a_bad_strength_is_refused_naming_the_choices(raw: object) -> None:
    with pytest.raises(InvalidParametersError, match="[Ss]trength"):
        parse_parameters({"strength": raw}, frame_count=10)
