"""Domain randomisation of training scenes (restoration.training.randomise)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import torch

from restoration.simulation.degrade import degrade_clip
from restoration.training import randomise
from restoration.training.losses import LossWeights, colour_loss, restoration_loss
from restoration.training.randomise import (
    _band_profile,
    _noise_band,
    _random_spectrum,
    _spectral_noise,
    random_content_change,
    random_degrade_config,
    random_extra_damage,
)
from restoration.training.train import make_scene

TRAINING = Path(__file__).resolve().parents[3] / "restoration" / "training"


def _clip(seed: int = 0, frames: int = 6, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0 : size[0], 0 : size[1]]
    base = np.stack([xs * 3, ys * 4, (xs + ys) * 2], axis=-1) % 256
    clip = np.stack([np.roll(base, i, axis=1) for i in range(frames)]).astype(np.int32)
    return np.clip(clip + rng.integers(-3, 4, clip.shape), 0, 255).astype(np.uint8)


def test_random_configs_vary_widely_and_never_desaturate() -> None:
    rng = np.random.default_rng(0)
    configs = [random_degrade_config(rng) for _ in range(200)]
    noise = [c.noise.strength[1] for c in configs if c.noise.probability > 0]
    assert min(noise) < 0.01 and max(noise) > 0.1  # from barely there to extreme
    assert any(c.dropouts.probability == 0 for c in configs)  # effects switched off at random
    assert any(c.mistracking.event_rate == 0 for c in configs)
    assert all(c.chroma.min_saturation == 1.0 for c in configs)


def test_random_config_degrades_a_clip() -> None:
    clip = _clip()
    config = random_degrade_config(np.random.default_rng(3))
    degraded, labels = degrade_clip(clip, seed=5, config=config)
    assert degraded.shape == clip.shape and len(labels) == len(clip)


def test_extra_damage_is_seeded_and_changes_frames() -> None:
    clip = _clip()
    outputs = []
    for seed in range(40):
        a = random_extra_damage(np.random.default_rng(seed), clip)
        b = random_extra_damage(np.random.default_rng(seed), clip)
        np.testing.assert_array_equal(a, b)
        outputs.append(a)
    changed = [not np.array_equal(out, clip) for out in outputs]
    assert 0 < sum(changed) < len(changed)  # some scenes untouched, most damaged


def test_spectral_noise_has_unit_variance_and_many_spectra_mostly_along_the_line() -> None:
    rng = np.random.default_rng(3)
    along, down = [], []
    for _ in range(60):
        field = _spectral_noise(rng, _random_spectrum(rng, (96, 128)), 96, 128)
        assert field.shape == (96, 128) and abs(float(field.std()) - 1.0) < 1e-3
        along.append(float(np.mean(field[:, 1:] * field[:, :-1])))
        down.append(float(np.mean(field[1:] * field[:-1])))
    # From nearly white to strongly streaky along the line; lines mostly independent.
    assert min(along) < 0.3 and max(along) > 0.9
    assert np.median(down) < 0.2 and max(down) > 0.5
    assert np.mean(along) > np.mean(down) + 0.3


def test_noise_band_damages_only_its_rows_and_greys_the_picture_under_it() -> None:
    rng = np.random.default_rng(5)
    h, w = 96, 128
    profiles = [_band_profile(rng, h) for _ in range(30)]
    heights = [float((p > 0.05).mean()) for p in profiles]
    assert min(heights) < 0.05 and max(heights) > 0.15  # thin lines to wide bars
    profile = np.where(np.arange(h) < 6, 1.0, 0.0).astype(np.float32)  # rows 0-5 plus wrap
    profile = np.maximum(profile, profile[::-1])  # centred on row 0: rows 0-5 and 90-95
    image = np.zeros((h, w, 3), np.float32)
    image[..., 0] = 0.8  # a saturated red picture
    before = image.copy()
    params = {"grey": 0.9, "level": -1.0, "sigma": 0.0, "chroma": 0.0, "sparkles": 0.0}
    spectrum = _random_spectrum(rng, (h, w))
    _noise_band(rng, image, profile, 40, 1.0, spectrum, params)
    band = np.abs(image - before).max(axis=(1, 2)) > 1e-6
    assert set(np.flatnonzero(band)) == set(range(34, 46))  # rolled to be centred on row 40
    inside = image[40]
    assert float(np.ptp(inside, axis=-1).max()) < 0.2  # greyed: R, G and B nearly equal
    params = {"grey": 0.0, "level": -1.0, "sigma": 0.2, "chroma": 0.0, "sparkles": 0.01}
    noisy = before.copy()
    _noise_band(rng, noisy, profile, 40, 1.0, spectrum, params)
    assert float(np.std(noisy[34:46] - before[34:46])) > 0.1
    assert np.array_equal(noisy[:34], before[:34]) and np.array_equal(noisy[46:], before[46:])


def test_extra_damage_rolls_a_noise_band_through_some_scenes(monkeypatch) -> None:
    calls: list[tuple[int, int]] = []  # (seed, centre row) of every band laid on a frame

    def counting(rng, image, profile, centre, opacity, spectrum, params):  # type: ignore[no-untyped-def]
        calls.append((seed, centre))
        assert 0.0 <= opacity <= 1.0 and 0 <= centre < image.shape[0]
        _noise_band(rng, image, profile, centre, opacity, spectrum, params)

    monkeypatch.setattr(randomise, "_noise_band", counting)
    clip = np.full((8, 48, 64, 3), 128, np.uint8)
    for seed in range(40):
        random_extra_damage(np.random.default_rng(seed), clip)
    scenes = {s for s, _ in calls}
    assert 3 <= len(scenes) <= 20  # in about a quarter of the scenes
    moving = [len({c for s, c in calls if s == scene}) > 1 for scene in scenes]
    assert sum(moving) >= len(scenes) // 2  # it rolls (or stands) from frame to frame


def test_content_change_keeps_shape_and_sometimes_changes_levels() -> None:
    clip = _clip()
    means = [random_content_change(np.random.default_rng(s), clip).mean() for s in range(30)]
    assert min(means) < clip.mean() - 10  # low light or a darker gamma happened
    assert any(abs(m - clip.mean()) < 1e-9 for m in means)  # and sometimes nothing


def test_random_scene_marks_extra_damaged_frames_as_not_clean() -> None:
    photos = [_clip(seed=9, frames=1, size=(96, 128))[0]]
    rng = np.random.default_rng(11)
    scene = make_scene(rng, photos, frames=8, size=(48, 64), preset="random", seed=1)
    assert scene.preset == "random"
    assert scene.degraded.shape == scene.clean.shape == (8, 48, 64, 3)
    touched = np.any(scene.degraded != scene.clean, axis=(1, 2, 3))
    assert np.all(scene.artifact[touched] > 0)


def test_colour_loss_sees_a_global_shift_that_charbonnier_barely_weights() -> None:
    target = torch.rand(2, 3, 3, 16, 16)
    shifted = target + torch.tensor([0.02, 0.0, -0.02]).view(1, 1, 3, 1, 1)
    assert float(colour_loss(target, target)) == 0.0
    assert abs(float(colour_loss(shifted, target)) - 0.04 / 3) < 1e-5
    _, terms = restoration_loss(shifted, target, LossWeights(colour=1.0))
    assert "colour" in terms


def test_training_never_imports_the_held_out_damage_family() -> None:
    for path in TRAINING.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert "family_b" not in node.module, path
            if isinstance(node, ast.Import):
                assert all("family_b" not in alias.name for alias in node.names), path
