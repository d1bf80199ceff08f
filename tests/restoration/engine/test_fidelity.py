"""Fidelity guards (restoration.engine.fidelity): colour guard and restoration strength."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from restoration.engine import video
from restoration.engine.exceptions import ConfigError
from restoration.engine.fidelity import (
    STRENGTHS,
    apply_strength,
    colour_guard,
    parse_strength,
)
from restoration.engine.inference import RestoreOptions, restore_video
from restoration.engine.models import create_model

from .conftest import write_video


def _scene(seed: int = 0, size: tuple[int, int] = (192, 256)) -> torch.Tensor:
    """A smooth, colourful (1, 3, h, w) image on a 0..1 scale with dark and bright areas."""
    h, w = size
    ys, xs = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    g = torch.Generator().manual_seed(seed)
    phase = torch.rand(3, generator=g) * 6
    image = torch.stack([0.5 + 0.45 * torch.sin(4 * xs + 3 * ys + p) for p in phase])
    return image[None].clamp(0, 1)


def _mean_error(x: torch.Tensor, target: torch.Tensor) -> np.ndarray:
    return ((x - target).mean(dim=(0, 2, 3)) * 255).numpy()


def _damaged(clean: torch.Tensor, sigma: float = 25 / 255, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    noisy = (clean + torch.randn(clean.shape, generator=g) * sigma).clamp(0, 1)
    noisy[..., 40:42, 20:200] = 1.0  # a white dropout streak
    noisy[..., 120:150, :] = torch.roll(clean[..., 120:150, :], 30, dims=-1)  # mistracking
    return noisy


def test_colour_guard_removes_a_colour_cast_the_network_added() -> None:
    clean = _scene()
    cast = torch.tensor([-5.0, 3.0, -5.0]).view(1, 3, 1, 1) / 255
    restored = (clean + cast).clamp(0, 1)
    guarded = colour_guard(restored, _damaged(clean))
    assert np.abs(_mean_error(restored, clean)).max() > 4.0
    assert np.abs(_mean_error(guarded, clean)).max() < 0.8


def test_colour_guard_removes_a_local_cast_in_one_region() -> None:
    clean = _scene(seed=3)
    restored = clean.clone()
    restored[:, 1, :96, :128] += 3 / 255  # "greener grass" in one quarter
    guarded = colour_guard(restored.clamp(0, 1), _damaged(clean, seed=4))
    region = (guarded - clean)[:, 1, 8:88, 8:120].mean() * 255
    assert abs(float(region)) < 1.5  # at least half of it; the field is smooth by design


def test_colour_guard_keeps_repairs_and_a_faithful_output() -> None:
    clean = _scene(seed=5)
    damaged = _damaged(clean, seed=6)
    guarded = colour_guard(clean.clone(), damaged)
    # The dropout and the mistracking band are not put back, and nothing drifts.
    assert float((guarded - clean).abs().max()) * 255 < 6.0
    assert np.abs(_mean_error(guarded, clean)).max() < 0.5


def test_strength_blends_between_input_and_restoration() -> None:
    clean, damaged = _scene(), _damaged(_scene())
    assert torch.equal(apply_strength(clean, damaged, 1.0), clean)
    assert torch.allclose(apply_strength(clean, damaged, 0.0), damaged)
    half = apply_strength(clean, damaged, 0.5)
    assert torch.allclose(half, (clean + damaged) / 2, atol=1e-6)


def test_parse_strength_accepts_names_and_numbers_and_refuses_the_rest() -> None:
    assert parse_strength("gentle") == STRENGTHS["gentle"] == 0.5
    assert parse_strength("standard") == 1.0
    assert parse_strength("0.25") == 0.25
    for bad in ("strong!", "1.5", -0.1):
        with pytest.raises(ConfigError, match="strength"):
            parse_strength(bad)


@pytest.mark.parametrize("strength", [0.0, 0.5])
def test_restore_video_strength_is_applied_and_recorded(tmp_path: Path, strength: float) -> None:
    torch.manual_seed(0)
    net = create_model("tiny")
    src = write_video(tmp_path / "in.mkv", frames=6, size=(64, 48), audio=None)
    options = RestoreOptions(keep_clean=False, references=0)
    full = restore_video(src, tmp_path / "full.mkv", model=net, scorer="none", options=options)
    result = restore_video(
        src,
        tmp_path / "out.mkv",
        model=net,
        scorer="none",
        options=replace(options, strength=strength),
    )
    assert result.strength == strength and result.to_dict()["strength"] == strength
    source = [f.astype(int) for f in video.iter_frames(src)]
    frames = [f.astype(int) for f in video.iter_frames(result.dst)]
    restored = [f.astype(int) for f in video.iter_frames(full.dst)]
    for original, out, whole in zip(source, frames, restored, strict=True):
        expected = original + strength * (whole - original)
        # Colour conversions to and from YUV round to a level or two.
        assert np.abs(out - expected).mean() < 1.5
