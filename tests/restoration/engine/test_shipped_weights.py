"""The shipped tape-lite weights: present, intact, small, and they actually restore."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from restoration.engine.models import default_weights, load_checkpoint
from restoration.engine.models.factory import file_sha256

WEIGHTS = default_weights("tape-lite")
CARD = WEIGHTS.with_suffix(".json")
MAX_BYTES = 25 * 1024 * 1024


def test_shipped_weights_match_their_card_and_size_limit() -> None:
    assert WEIGHTS.is_file(), f"{WEIGHTS} missing: the default restore has no model"
    assert WEIGHTS.stat().st_size <= MAX_BYTES
    card = json.loads(CARD.read_text())
    assert card["variant"] == "tape-lite"
    assert card["sha256"] == file_sha256(WEIGHTS)
    for key in ("steps", "wall_time_s", "hardware", "data", "simulator", "metrics"):
        assert key in card, f"model card lacks {key!r}"
    assert card["steps"] > 0
    state, loaded_card = load_checkpoint(WEIGHTS, variant="tape-lite")
    assert state and loaded_card["sha256"] == card["sha256"]


def test_shipped_weights_are_what_restore_loads_by_default() -> None:
    from restoration.engine.inference import load_model

    model = load_model("tape-lite")
    assert model.card["sha256"] == file_sha256(WEIGHTS)  # type: ignore[union-attr]


def test_a_corrupted_copy_of_the_weights_is_refused(tmp_path: Path) -> None:
    from restoration.engine.exceptions import WeightsError

    copy = tmp_path / "tape-lite.safetensors"
    data = bytearray(WEIGHTS.read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    copy.with_suffix(".json").write_text(CARD.read_text())
    with pytest.raises(WeightsError, match="sha256"):
        load_checkpoint(copy, variant="tape-lite")


def test_shipped_model_restores_a_degraded_video_better_than_the_input(tmp_path: Path) -> None:
    """End to end through ``restore_video`` on a small held-out clip (val photos, unseen seed)."""
    import torch

    from restoration.bench.quality import write_lossless
    from restoration.engine.execution import ExecutionOptions
    from restoration.engine.inference import OutputOptions, restore_video
    from restoration.engine.metrics import pooled_psnr
    from restoration.engine.video import iter_frames
    from restoration.simulation.degrade import degrade_clip
    from restoration.training.synth import load_photo_pool, make_clip
    from restoration.training.train import HELD_OUT_SEED_BASE

    torch.set_num_threads(2)
    seed = HELD_OUT_SEED_BASE + 777_000
    clean = make_clip(
        np.random.default_rng(seed), photos=load_photo_pool("val"), length=10, size=(96, 128)
    )
    degraded, labels = degrade_clip(clean, seed=seed, preset="severe")
    assert any(label.severity > 0 for label in labels)
    src, dst = tmp_path / "degraded.mkv", tmp_path / "restored.mkv"
    write_lossless(degraded, src)

    restore_video(  # the default weights
        src,
        dst,
        scorer="auto",
        execution=ExecutionOptions(device="cpu"),
        output=OutputOptions(score_output=False),
    )

    restored = np.stack(list(iter_frames(dst)))
    assert restored.shape == clean.shape
    before = pooled_psnr([(degraded, clean)])
    after = pooled_psnr([(restored, clean)])
    assert after > before + 1.0, f"PSNR {before:.2f} -> {after:.2f} dB"
