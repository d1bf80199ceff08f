"""Training loop: a few steps of the tiny network learn, checkpoint, and resume."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from restoration.training.losses import (
    LossWeights,
    charbonnier,
    frequency_loss,
    gradient_loss,
    restoration_loss,
    ssim_loss,
    temporal_contrastive_loss,
)
from restoration.training.train import (
    ScenePool,
    TrainConfig,
    _start_near_identity,
    learning_rate,
    pick_references,
    train,
)


def _config(out: Path, **changes: object) -> TrainConfig:
    base = TrainConfig(
        model="tiny",
        out=out,
        steps=24,
        batch=2,
        crop=32,
        lr=2e-3,
        warmup_steps=2,
        scene_frames=8,
        scene_size=(48, 64),
        pool_size=2,
        refresh_per_step=0,  # a fixed pool: the loss on it must fall
        val_clips=1,
        val_size=(32, 48),
        checkpoint_minutes=60.0,
        log_every=4,
        no_reference_prob=0.0,
        threads=1,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def _fixed_batch_loss(model: torch.nn.Module, config: TrainConfig) -> float:
    window, count = int(model.config["window"]), int(model.config["references"])
    torch.manual_seed(123)
    pool = ScenePool(config, window=window, references=count)  # same seed -> same scenes
    batch = pool.batch()
    model.eval()
    with torch.no_grad():
        restored = model(batch.frames, batch.references)
    return float(restoration_loss(restored, batch.targets, config.loss)[0])


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_a_few_steps_of_tiny_reduce_the_loss_and_write_a_loadable_checkpoint(
    tmp_path: Path, precision: str
) -> None:
    from restoration.engine.models import create_model, load_checkpoint

    # From the raw initialisation (its residual head adds noise) a few steps must pay off
    # clearly; beating "output = input" takes the tiny network far longer than a unit test.
    config = _config(tmp_path / "run", init_near_identity=False, precision=precision)
    torch.manual_seed(config.seed)
    before = _fixed_batch_loss(create_model("tiny"), config)  # train() starts from this init

    summary = train(config, echo=lambda line: None)

    assert summary["steps"] == config.steps
    weights = tmp_path / "run" / "last.safetensors"
    assert weights.exists() and (tmp_path / "run" / "last.json").exists()
    assert (tmp_path / "run" / "best.safetensors").exists()
    load_checkpoint(weights)  # verifies sha256 and variant
    card = json.loads((tmp_path / "run" / "last.json").read_text())
    assert card["variant"] == "tiny" and card["steps"] == config.steps
    assert "psnr" in card["metrics"]["val"]
    after = _fixed_batch_loss(create_model("tiny", checkpoint=weights), config)
    assert after < 0.9 * before, f"loss did not fall: {before:.4f} -> {after:.4f}"

    records = [
        json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()
    ]
    events = {record["event"] for record in records}
    assert {"start", "train", "val", "end"} <= events
    started = next(record for record in records if record["event"] == "start")
    assert started["step_dtype"] == {"fp32": "float32", "bf16": "bfloat16"}[precision]


def test_resume_continues_from_the_saved_step(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(_config(out, steps=6), echo=lambda line: None)
    summary = train(_config(out, steps=10, resume=True), echo=lambda line: None)

    assert summary["steps"] == 10
    state = torch.load(out / "last.state.pt", weights_only=False)
    assert state["step"] == 10 and state["optimizer"]["state"], "optimizer state not carried"
    starts = [
        json.loads(line)["step"]
        for line in (out / "log.jsonl").read_text().splitlines()
        if json.loads(line)["event"] == "start"
    ]
    assert starts == [0, 6]


def test_init_starts_a_new_run_from_given_weights(tmp_path: Path) -> None:
    from restoration.engine.models import create_model

    first = tmp_path / "first"
    train(_config(first, steps=6), echo=lambda line: None)
    trained = first / "last.safetensors"
    # steps=0 trains nothing: the new run's weights are exactly the ones it started from
    train(_config(tmp_path / "second", steps=0, init=str(trained)), echo=lambda line: None)
    start = create_model("tiny", checkpoint=trained).state_dict()
    kept = create_model("tiny", checkpoint=tmp_path / "second" / "last.safetensors").state_dict()
    assert all(torch.equal(start[name], kept[name]) for name in start)


def test_init_extends_older_weights_with_a_refinement_that_starts_as_a_no_op(
    tmp_path: Path,
) -> None:
    """Weights trained before the full-resolution refinement existed load into a network that
    has it; the refinement starts as 'no correction' and anything else that does not fit fails."""
    from restoration.engine.exceptions import WeightsError
    from restoration.engine.models import create_model, model_config, save_checkpoint
    from restoration.engine.models.tape import TapeNet
    from restoration.training.train import _load_init

    torch.manual_seed(0)
    old = create_model("tiny").eval()
    save_checkpoint(old, tmp_path / "old", {})
    extended = TapeNet({**model_config("tiny"), "refine": {"guide": 2, "channels": 4}}).eval()
    assert _load_init(extended, tmp_path / "old", "tiny") == ["refine"]
    frames = torch.rand(1, 3, 3, 32, 40)
    references = torch.rand(1, 2, 3, 32, 40)
    with torch.inference_mode():
        assert torch.equal(extended(frames, references), old(frames, references))
    # One training step moves the refinement off zero: it is trainable, not a dead branch.
    extended.train()
    optimizer = torch.optim.SGD(extended.refine.parameters(), lr=0.1)
    (extended(frames, references) - frames.roll(1, -1)).square().mean().backward()
    optimizer.step()
    with torch.inference_mode():
        assert not torch.equal(extended.eval()(frames, references), old(frames, references))
    # The other way round (weights with a module this network lacks) is refused.
    save_checkpoint(extended, tmp_path / "new", {})
    with pytest.raises(WeightsError, match="unexpected"):
        _load_init(create_model("tiny"), tmp_path / "new", "tiny")


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    from restoration.engine.exceptions import ConfigError

    with pytest.raises(ConfigError, match="no checkpoint"):
        train(_config(tmp_path / "empty", resume=True), echo=lambda line: None)


def test_learning_rate_warms_up_then_anneals_within_the_time_budget() -> None:
    config = TrainConfig(lr=1e-3, warmup_steps=10, steps=1000, max_minutes=10.0, min_lr_ratio=0.1)
    assert learning_rate(config, 0, 0.0) == pytest.approx(1e-4)
    assert learning_rate(config, 9, 0.0) == pytest.approx(1e-3)
    # Half the time budget gone at step 20: the cosine is at its midpoint, not at 1 %.
    assert learning_rate(config, 20, 300.0) == pytest.approx(0.55e-3, rel=1e-3)
    assert learning_rate(config, 30, 600.0) == pytest.approx(1e-4)


def test_references_are_clean_frames_most_like_the_window_as_inference_picks_them() -> None:
    artifact = np.array([0.0, 0.5, 0.0, 0.0, 0.9, 0.0, 0.6], dtype=np.float32)
    embeddings = np.eye(7, dtype=np.float32)
    embeddings[5] = embeddings[1]  # frame 5 looks like the window's frame 1
    picked = pick_references(artifact, embeddings, window=[1, 2], count=2)
    assert picked[0] == 5, "the clean frame most like the window comes first"
    assert 2 not in picked, "the window's own frames are excluded while others remain"
    assert not {1, 4, 6} & set(picked), "degraded frames are never references here"
    # Fewer clean frames than references: the pool repeats rather than take degraded frames.
    assert pick_references(artifact, embeddings, window=[0], count=6).count(5) >= 1


def test_losses_are_zero_for_a_perfect_restoration_and_positive_otherwise() -> None:
    torch.manual_seed(0)
    target = torch.rand(1, 3, 3, 16, 16)
    noisy = (target + 0.1 * torch.randn_like(target)).clamp(0, 1)
    for loss in (frequency_loss, gradient_loss):
        assert float(loss(target, target)) == pytest.approx(0.0, abs=1e-6)
        assert float(loss(noisy, target)) > 0.01
    assert float(charbonnier(target, target)) == pytest.approx(1e-3, rel=1e-3)  # eps floor
    assert float(temporal_contrastive_loss(target, target)) < float(
        temporal_contrastive_loss(target.flip(1), target)
    )
    assert float(ssim_loss(target, target)) == pytest.approx(0.0, abs=1e-5)
    assert float(ssim_loss(noisy, target)) > 0.02
    total, terms = restoration_loss(
        noisy, target, LossWeights(gradient=0.1, contrastive=0.1, ssim=0.1)
    )
    assert set(terms) == {"charbonnier", "frequency", "gradient", "contrastive", "ssim"}
    assert float(total) > 0


def test_ssim_loss_is_one_minus_the_benchmark_ssim() -> None:
    from restoration.engine.metrics import ssim

    torch.manual_seed(1)
    target = torch.rand(2, 3, 24, 24)
    noisy = (target + 0.05 * torch.randn_like(target)).clamp(0, 1)
    measured = ssim((target * 255).permute(0, 2, 3, 1), (noisy * 255).permute(0, 2, 3, 1)).mean()
    # The benchmark uses skimage's sample-covariance correction; it moves SSIM by < 1e-3 here.
    assert 1 - float(ssim_loss(noisy, target)) == pytest.approx(float(measured), abs=2e-3)


def test_a_fresh_network_starts_close_to_the_identity() -> None:
    from restoration.engine.models import create_model

    torch.manual_seed(0)
    model = create_model("tiny")
    _start_near_identity(model)
    frames = torch.rand(1, int(model.config["window"]), 3, 32, 32)
    with torch.no_grad():
        out = model(frames, None)
    assert float((out - frames).abs().mean()) < 1e-3


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_training_runs_unchanged_on_a_gpu_with_bf16_autocast(tmp_path: Path) -> None:
    summary = train(_config(tmp_path / "gpu", steps=4, device="cuda"), echo=lambda line: None)
    assert summary["steps"] == 4 and "CUDA" in summary["hardware"]


def test_clean_scenes_are_undamaged_and_drawn_at_their_rate(tmp_path: Path) -> None:
    """--clean-scenes: a share of scenes whose input is the target itself ("no damage, no
    change"); with none asked for, the pool draws exactly what it drew before."""
    only_clean = ScenePool(_config(tmp_path, clean_scenes=1.0, pool_size=3), window=3, references=2)
    assert {scene.preset for scene in only_clean.scenes} == {"clean"}
    for scene in only_clean.scenes:
        np.testing.assert_array_equal(scene.degraded, scene.clean)
        assert not scene.artifact.any()
    batch = only_clean.batch()
    torch.testing.assert_close(batch.frames, batch.targets)

    before = ScenePool(_config(tmp_path, pool_size=4), window=3, references=2)
    none = ScenePool(_config(tmp_path, pool_size=4, clean_scenes=0.0), window=3, references=2)
    assert [s.preset for s in before.scenes] == [s.preset for s in none.scenes]
    assert "clean" not in {s.preset for s in none.scenes}


def test_a_preset_named_twice_is_drawn_about_twice_as_often(tmp_path: Path) -> None:
    """--presets light,severe,severe: only those presets, severe about two scenes in three."""
    config = _config(tmp_path, presets=("light", "severe", "severe"), pool_size=60)
    drawn = [scene.preset for scene in ScenePool(config, window=3, references=2).scenes]
    assert set(drawn) == {"light", "severe"}
    assert 0.5 < drawn.count("severe") / len(drawn) < 0.85


def test_the_train_command_refuses_an_unknown_preset(capsys: pytest.CaptureFixture[str]) -> None:
    from restoration.engine.cli import main
    from restoration.training import cli_train

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--presets", "light,harsh"], extra_commands=(cli_train.register,))
    assert exit_info.value.code == 2
    assert "expected presets among light, medium, severe, got 'light,harsh'" in (
        capsys.readouterr().err
    )


def test_blend_weights_interpolates_two_checkpoints_and_records_both(tmp_path: Path) -> None:
    """WiSE-FT: alpha 0 is the base, 1 the fine-tune, 0.5 the midpoint of every tensor; the
    card names both sources. A stem with a dot in it keeps its name."""
    from restoration.engine.cli import main
    from restoration.engine.models import create_model, load_checkpoint, save_checkpoint
    from restoration.training import cli_train

    torch.manual_seed(1)
    base = save_checkpoint(create_model("tiny"), tmp_path / "base", {"stages": ["from scratch"]})
    torch.manual_seed(2)
    tuned = save_checkpoint(create_model("tiny"), tmp_path / "tuned", {"steps": 7})
    base_state, base_card = load_checkpoint(base)
    tuned_state, tuned_card = load_checkpoint(tuned)
    assert any(not torch.equal(base_state[k], tuned_state[k]) for k in base_state)
    commands = (cli_train.register,)
    for alpha in ("0", "0.5", "1"):
        out = tmp_path / f"blend-a{alpha}"
        args = ["blend-weights", str(base), str(tuned), "--alpha", alpha, "--out", str(out)]
        assert main(args, extra_commands=commands) == 0
        state, card = load_checkpoint(out.with_name(out.name + ".safetensors"), variant="tiny")
        a = float(alpha)
        for key, value in state.items():
            expected = (1 - a) * base_state[key].float() + a * tuned_state[key].float()
            torch.testing.assert_close(value.float(), expected.to(value.dtype).float())
        record = card["interpolation"]
        assert (record["alpha"], record["base_sha256"], record["tuned_sha256"]) == (
            a,
            base_card["sha256"],
            tuned_card["sha256"],
        )
        assert record["tuned"]["steps"] == 7 and "steps" not in card
        assert card["stages"] == ["from scratch"]


def test_blend_weights_refuses_other_variants_and_alphas_out_of_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from restoration.engine.cli import main
    from restoration.engine.models import create_model, save_checkpoint
    from restoration.training import cli_train

    tiny = save_checkpoint(create_model("tiny"), tmp_path / "tiny", {})
    lite = Path("restoration/engine/weights/tape-lite.safetensors")
    commands = (cli_train.register,)
    out = str(tmp_path / "out")
    assert main(["blend-weights", str(tiny), str(lite), "--out", out], extra_commands=commands) == 1
    assert "tape-lite" in capsys.readouterr().err
    args = ["blend-weights", str(tiny), str(tiny), "--alpha", "1.5", "--out", out]
    assert main(args, extra_commands=commands) == 1
    assert "--alpha must be between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "out.safetensors").exists()
