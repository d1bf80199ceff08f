"""Damage family B (restoration/bench/family_b.py): deterministic, every effect does something,
untouched frames pass through, codecs at any size, drift lands in the target, training never
imports it."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from restoration.bench.capture_chain import CaptureChain
from restoration.bench.family_b import (
    EFFECTS,
    FamilyBSimulator,
    family_b_preset,
    main,
    simulate_clip,
)

ROOT = Path(__file__).resolve().parents[3]


def textured_clip(frames: int = 6, size: tuple[int, int] = (40, 56)) -> np.ndarray:
    """A moving colour gradient with a block: real structure, deterministic."""
    h, w = size
    ys, xs = np.mgrid[0:h, 0:w]
    clip = []
    for t in range(frames):
        rgb = np.stack(
            [40 + (xs * 3 + t * 5) % 170, 60 + (ys * 4) % 150, 90 + ((xs + ys + t) * 2) % 120],
            axis=-1,
        ).astype(np.uint8)
        rgb[h // 4 : h // 2, (t * 3) % (w // 2) :][:, : w // 4] = 220
        clip.append(rgb)
    return np.stack(clip)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 100.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def test_same_seed_same_damage_and_other_seed_other_damage() -> None:
    clip = textured_clip()
    first = simulate_clip(clip, preset="severe", seed=3)
    again = simulate_clip(clip, preset="severe", seed=3)
    other = simulate_clip(clip, preset="severe", seed=4)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_without_a_codec_any_frame_order_gives_the_same_frames() -> None:
    clip = textured_clip()
    preset = dataclasses.replace(family_b_preset("medium"), codecs=())
    forward = simulate_clip(clip, preset=preset, seed=9)[0]
    backward = FamilyBSimulator(preset, 9)
    for index in reversed(range(len(clip))):
        damaged, _ = backward.apply(clip[index], index)
        assert np.array_equal(damaged, forward[index]), f"frame {index} depends on call order"


@pytest.mark.parametrize("effect", [e for e in EFFECTS if e != "drift"])
def test_each_effect_changes_the_frame_and_leaves_the_target_alone(effect: str) -> None:
    clip = textured_clip()
    damaged, target = simulate_clip(clip, preset=family_b_preset("severe").only(effect), seed=1)
    assert np.array_equal(target, clip), "only drift may change the target"
    changed = [not np.array_equal(d, c) for d, c in zip(damaged, clip, strict=True)]
    assert all(changed), f"{effect} left frames {[i for i, c in enumerate(changed) if not c]}"
    assert psnr(damaged, clip) > 12, f"{effect} destroyed the picture"


def test_drift_applies_to_the_target_and_the_damaged_frame_alike() -> None:
    clip = textured_clip(frames=30)
    preset = dataclasses.replace(family_b_preset("severe").only("drift"), drift=(0.1, 0.05, 0.2))
    damaged, target = simulate_clip(clip, preset=preset, seed=2)
    assert np.array_equal(damaged, target), "drift is content: the restorer must keep it"
    assert not np.array_equal(target, clip)
    means = target.reshape(len(clip), -1).mean(axis=1) - clip.reshape(len(clip), -1).mean(axis=1)
    assert np.ptp(means) > 1.0, "the drift should move over the clip"


def test_untouched_frames_come_back_bit_identical() -> None:
    clip = textured_clip(frames=8)
    always = dataclasses.replace(family_b_preset("severe"), untouched=1.0, drift=(0, 0, 0))
    damaged, target = simulate_clip(clip, preset=always, seed=5)
    assert np.array_equal(damaged, clip) and np.array_equal(target, clip)
    # A real preset leaves runs of frames untouched among damaged ones.
    light = dataclasses.replace(family_b_preset("light"), drift=(0, 0, 0))
    damaged, _ = simulate_clip(textured_clip(frames=40), preset=light, seed=11)
    same = [np.array_equal(d, c) for d, c in zip(damaged, textured_clip(frames=40), strict=True)]
    assert 0 < sum(same) < len(same)


@pytest.mark.parametrize("codec", ["dv", "mpeg2"])
@pytest.mark.parametrize("size", [(37, 53), (9, 731)])
def test_capture_chain_round_trips_odd_sizes(codec: str, size: tuple[int, int]) -> None:
    chain = CaptureChain(codec, mbps=6.0)
    clip = textured_clip(frames=3, size=size)
    for index, frame in enumerate(clip):
        out = chain.apply(frame, index)
        assert out.shape == frame.shape and out.dtype == np.uint8
        assert not np.array_equal(out, frame), "a lossy codec changes the frame"
        assert psnr(out, frame) > 22, f"{codec} at {size}: {psnr(out, frame):.1f} dB"


def test_bad_frames_and_names_are_refused_clearly() -> None:
    simulator = FamilyBSimulator("light", 0)
    with pytest.raises(ValueError, match="uint8"):
        simulator.apply(np.zeros((16, 16, 3), np.float32), 0)
    with pytest.raises(ValueError, match="too small"):
        simulator.apply(np.zeros((4, 16, 3), np.uint8), 0)
    with pytest.raises(ValueError, match="unknown preset"):
        FamilyBSimulator("extreme", 0)
    with pytest.raises(ValueError, match="unknown capture chain"):
        CaptureChain("vhs")


def test_training_never_imports_family_b() -> None:
    offenders = []
    for path in sorted((ROOT / "restoration" / "training").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                names = [module] + [f"{module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                # A dotted name handed to importlib; prose (a docstring naming it) is fine.
                dotted = re.fullmatch(r"[\w.]+", node.value) is not None
                names = [node.value] if dotted else []
            offenders += [f"{path.name}: {n}" for n in names if "family_b" in n]
    assert not offenders, f"training must not see family B: {offenders}"


def test_cli_writes_the_damaged_and_the_target_clip(tmp_path: Path) -> None:
    from restoration.engine.video import iter_frames
    from tests.restoration.engine.conftest import write_video

    source = write_video(tmp_path / "in.mkv", frames=6, size=(64, 48))
    out, target = tmp_path / "out.mkv", tmp_path / "target.mkv"
    code = main(
        [str(source), str(out), "--preset", "severe", "--seed", "3", "--target", str(target)]
    )
    assert code == 0
    clean = np.stack(list(iter_frames(source)))
    damaged = np.stack(list(iter_frames(out)))
    expected_damaged, expected_target = simulate_clip(clean, preset="severe", seed=3)
    assert np.array_equal(damaged, expected_damaged), "the CLI is the streaming path"
    assert np.array_equal(np.stack(list(iter_frames(target))), expected_target)
    assert main([str(source), str(tmp_path / "out.mp4")]) == 2


def test_the_chains_colour_conversion_adds_no_cast() -> None:
    from restoration.bench.capture_chain import rgb_to_yuv420, yuv420_to_rgb

    clip = textured_clip(frames=2, size=(48, 64))
    for frame in clip:
        back = yuv420_to_rgb(rgb_to_yuv420(frame), 48, 64)
        cast = (back.astype(np.float64) - frame).reshape(-1, 3).mean(axis=0)
        assert np.all(np.abs(cast) < 0.25), f"colour cast {cast} from the conversion alone"
        assert psnr(back, frame) > 25  # 4:2:0 loses sharp colour edges, nothing more
