"""`python -m restoration.bench effects`: one damage effect at a time, input against output."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from restoration.bench.effects import effect_clip, family_effects, main, run_effects


def _clean(frames: int = 4) -> np.ndarray:
    rng = np.random.default_rng(5)
    return rng.integers(30, 220, (frames, 32, 48, 3)).astype(np.uint8)


def test_each_effect_alone_damages_the_clip_and_drift_is_content() -> None:
    clean = _clean()
    for family in ("a", "b"):
        for effect in family_effects(family):
            damaged, target = effect_clip(
                clean, family=family, preset="severe", effect=effect, seed=3
            )
            assert damaged.shape == target.shape == clean.shape
            if effect == "drift":  # content: applied to the target too
                assert np.array_equal(damaged, target) and not np.array_equal(target, clean)
            else:
                assert not np.array_equal(damaged, target), f"{family} {effect} changed nothing"


def test_rows_measure_input_and_output_against_the_same_target() -> None:
    rows = run_effects(
        family="b", presets=["light"], effects=["luma_noise", "drift"], clips=1, frames=4,
        size=(32, 48), tuning=True, restore=lambda frames: frames, log=lambda line: None,
    )  # fmt: skip
    assert [(r["preset"], r["effect"]) for r in rows] == [
        ("light", "luma_noise"),
        ("light", "drift"),
    ]
    noisy, drift = rows
    assert noisy["input"] == noisy["ours"] and noisy["gain_db"] == 0.0  # identity restorer
    assert noisy["input"]["psnr"] < 60
    assert drift["input"]["psnr"] == 100.0


def test_the_command_writes_its_table_and_refuses_bad_options(tmp_path: Path) -> None:
    from restoration.engine.models.factory import create_model, save_checkpoint

    weights = save_checkpoint(create_model("tiny"), tmp_path / "weights" / "tiny", {"steps": 0})
    code = main(
        ["--checkpoint", str(weights), "--model", "tiny", "--presets", "severe", "--effects",
         "luma_noise,dropouts", "--clips", "1", "--frames", "6", "--size", "32x48",
         "--out", str(tmp_path)]
    )  # fmt: skip
    assert code == 0
    report = json.loads((tmp_path / "effects-b-tuning.json").read_text())
    assert [row["effect"] for row in report["rows"]] == ["luma_noise", "dropouts"]
    for row in report["rows"]:
        assert 5 < row["input"]["psnr"] < 60 and 5 < row["ours"]["psnr"] <= 100
        assert abs(row["gain_db"] - (row["ours"]["psnr"] - row["input"]["psnr"])) < 1e-9
        assert len(row["ours"]["colour"]) == 3
    text = (tmp_path / "effects-b-tuning.md").read_text()
    assert "| severe | luma_noise |" in text and "Made worse by the network" in text
    assert main(["--effects", "scratches", "--out", str(tmp_path)]) == 2
    assert main(["--presets", "extreme", "--out", str(tmp_path)]) == 2
    assert main(["--family", "a", "--effects", "luma_noise", "--out", str(tmp_path)]) == 2
