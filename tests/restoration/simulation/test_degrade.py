"""Analog-tape degradation simulator (restoration.simulation.degrade) and its CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from restoration.engine.video import iter_frames, probe
from restoration.simulation.degrade import (
    EFFECTS,
    PRESETS,
    FrameLabels,
    TapeSimulator,
    degrade_clip,
    preset_config,
)
from restoration.training.synth import load_photo_pool, make_clip
from tests.restoration.engine.conftest import write_video

LOCALISED = ("dropouts", "fringing", "mistracking", "head_switching")


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    photos = load_photo_pool("val")
    return make_clip(np.random.default_rng(11), photos=photos, length=24, size=(72, 96))


def _isolated(effect: str) -> object:
    config = preset_config("severe").only(effect)
    config.clean_probability = 0.0
    config.mistracking.event_rate = 0.3
    return config


def test_same_seed_same_output_and_other_seed_differs(clip: np.ndarray) -> None:
    first, labels = degrade_clip(clip, seed=3, preset="severe")
    again, labels_again = degrade_clip(clip, seed=3, preset="severe")
    other, _ = degrade_clip(clip, seed=4, preset="severe")
    np.testing.assert_array_equal(first, again)
    assert [x.effects for x in labels] == [x.effects for x in labels_again]
    assert not np.array_equal(first, other)


def test_streaming_frame_by_frame_equals_whole_clip(clip: np.ndarray) -> None:
    whole, labels = degrade_clip(clip, seed=5, preset="medium")
    simulator = TapeSimulator(seed=5, preset="medium")
    for index, frame in enumerate(clip):
        out, frame_labels = simulator.process(frame)
        np.testing.assert_array_equal(out, whole[index])
        assert frame_labels.effects == labels[index].effects


def test_clean_frames_are_untouched_and_degraded_frames_change(clip: np.ndarray) -> None:
    seen_clean = seen_dirty = 0
    for seed in range(3):
        out, labels = degrade_clip(clip, seed=seed, preset="medium")
        for index, frame_labels in enumerate(labels):
            assert set(frame_labels.effects) == set(EFFECTS)
            if frame_labels.clean:
                np.testing.assert_array_equal(out[index], clip[index])
                assert frame_labels.severity == 0.0
                seen_clean += 1
            else:
                assert not np.array_equal(out[index], clip[index])
                assert 0.0 < frame_labels.severity <= 1.0
                seen_dirty += 1
    assert seen_clean and seen_dirty


@pytest.mark.parametrize("effect", EFFECTS)
def test_each_effect_changes_exactly_the_frames_it_labels(clip: np.ndarray, effect: str) -> None:
    out, labels = degrade_clip(clip, seed=2, config=_isolated(effect))
    hit = [label.effects[effect] > 0 for label in labels]
    assert any(hit), f"{effect} never fired"
    for index, frame_labels in enumerate(labels):
        assert all(v == 0 for name, v in frame_labels.effects.items() if name != effect)
        changed = np.any(out[index] != clip[index], axis=(1, 2))  # per row
        if hit[index]:
            assert changed.any(), f"{effect} labelled on frame {index} but nothing changed"
        else:
            assert not changed.any(), f"frame {index} changed without a {effect} label"
        if hit[index] and effect in LOCALISED:
            # Localised effects touch only the rows their labels name.
            allowed = np.zeros(clip.shape[1], dtype=bool)
            for y0, y1 in frame_labels.bands[effect]:
                allowed[y0:y1] = True
            assert not (changed & ~allowed).any(), f"{effect} changed rows outside its bands"


def test_disabled_effect_never_appears(clip: np.ndarray) -> None:
    config = preset_config("severe")
    config.noise.enabled = False
    _, labels = degrade_clip(clip, seed=1, config=config)
    assert all(label.effects["noise"] == 0 for label in labels)


def test_presets_are_ordered_by_severity(clip: np.ndarray) -> None:
    errors = {}
    for preset in PRESETS:
        diffs = [
            np.abs(degrade_clip(clip, seed=seed, preset=preset)[0].astype(np.float32) - clip).mean()
            for seed in range(4)
        ]
        errors[preset] = float(np.mean(diffs))
    assert errors["light"] < errors["medium"] < errors["severe"], errors


def test_labels_serialise() -> None:
    labels = FrameLabels(effects={"noise": 0.5, "mistracking": 0.0}, bands={"dropouts": [(3, 4)]})
    data = json.loads(json.dumps(labels.to_dict()))
    assert data["effects"]["noise"] == 0.5 and data["bands"]["dropouts"] == [[3, 4]]
    assert data["severity"] == pytest.approx(0.45)


def test_bad_input_and_preset_are_rejected(clip: np.ndarray) -> None:
    with pytest.raises(ValueError, match="preset"):
        degrade_clip(clip, seed=0, preset="horrible")
    with pytest.raises(ValueError, match="uint8"):
        degrade_clip(clip.astype(np.float32), seed=0)
    simulator = TapeSimulator(seed=0)
    simulator.process(clip[0])
    with pytest.raises(ValueError, match="size changed"):
        simulator.process(clip[0, :32])


def _cli(argv: list[str]) -> int:
    from restoration.training.cli_degrade import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_cli_streams_a_real_video_and_writes_labels(tmp_path: Path) -> None:
    source = write_video(tmp_path / "in.mkv", frames=12, size=(64, 48))
    out, labels_path = tmp_path / "out.mkv", tmp_path / "labels.json"
    argv = [
        "degrade",
        str(source),
        str(out),
        "--preset",
        "severe",
        "--seed",
        "3",
        "--labels",
        str(labels_path),
    ]
    assert _cli(argv) == 0
    info = probe(out)
    assert (info.width, info.height, info.frame_count) == (64, 48, 12)
    assert len(info.audio_streams) == 1
    labels = json.loads(labels_path.read_text())
    assert labels["preset"] == "severe" and len(labels["frames"]) == 12
    # Lossless output: frames without labels are bit-identical to the source, others differ,
    # and they match the in-memory simulator for the same seed.
    source_frames = np.stack(list(iter_frames(source)))
    expected, expected_labels = degrade_clip(source_frames, seed=3, preset="severe")
    written = np.stack(list(iter_frames(out)))
    np.testing.assert_array_equal(written, expected)
    for entry, frame_labels in zip(labels["frames"], expected_labels, strict=True):
        assert entry["effects"] == pytest.approx(frame_labels.effects, abs=1e-4)
        assert np.array_equal(written[entry["frame"]], source_frames[entry["frame"]]) == (
            frame_labels.clean
        )


def test_cli_rejects_unknown_output_type(tmp_path: Path) -> None:
    from restoration.engine.exceptions import ConfigError

    source = write_video(tmp_path / "in.mkv", frames=2, size=(32, 24), audio=None)
    with pytest.raises(ConfigError, match=".mkv"):
        _cli(["degrade", str(source), str(tmp_path / "out.avi")])


def test_fringing_lines_longer_than_the_frame_span_it(clip: np.ndarray) -> None:
    """A configured span over the frame's width (domain randomisation draws wide ranges) gives
    lines across the whole width, not a crash (a training run died of it)."""
    config = _isolated("fringing")
    config.fringing.probability = 1.0
    config.fringing.span = (1.5, 2.0)
    degraded, labels = degrade_clip(clip, seed=5, config=config)
    assert any(label.severity > 0 for label in labels)
    assert degraded.shape == clip.shape
