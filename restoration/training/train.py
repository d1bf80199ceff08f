"""Training loop for the restoration networks (``python -m restoration train``).

Data are made on the fly: clips with synthetic camera motion from the packaged still photos
(``synth.make_clip``), degraded by the tape simulator (``degrade.degrade_clip``) at a random
preset and seed. One sample is T consecutive degraded frames, their clean targets, and D
reference frames from the same (longer) clip, picked the way inference picks them: frames
that look clean, most similar to the window.

Generating a clip costs far more than one sample, so a small pool of degraded scenes is kept
and one scene is replaced per step; every step draws its batch from random windows, crops
and flips of the pool. Everything runs in the main process: worker processes do not pay on
the two shared cores this was written for, and the pool keeps generation cheap.

Validation uses photos of the "val" split and seeds from a range training never draws, so its
PSNR/SSIM measure generalisation to unseen scenes and unseen degradations.

The learning rate follows a linear warm-up and a cosine decay over the run's *progress*, the
larger of steps done / steps and training time / --max-minutes, so a wall-clock-bounded run
still anneals to its floor before it stops.
"""

from __future__ import annotations

import json
import math
import os
import platform
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from restoration.engine.execution import resolve_device, resolve_precision
from restoration.engine.metrics import pooled_psnr, ssim
from restoration.training.losses import LossWeights, restoration_loss

# Seeds at or above this are never drawn for training: validation and the quality benchmark
# use them, so their degradations are unseen.
HELD_OUT_SEED_BASE = 1_000_000_000


def _now() -> float:
    return time.monotonic()


@dataclass
class TrainConfig:
    model: str = "tape-lite"
    out: Path = Path("runs/tape-lite")
    steps: int = 20_000
    batch: int = 2
    crop: int = 128
    lr: float = 4e-4
    min_lr_ratio: float = 0.02
    weight_decay: float = 0.01
    warmup_steps: int = 200
    grad_clip: float = 1.0
    max_minutes: float | None = None  # total training time across resumes
    checkpoint_minutes: float = 5.0
    checkpoint_every: int = 0  # steps; 0 = by time only
    log_every: int = 10
    seed: int = 0
    scene_frames: int = 24
    scene_size: tuple[int, int] = (160, 192)  # (H, W) of generated scenes; crops come from them
    pool_size: int = 24
    refresh_per_step: float = 0.5  # new scenes per step (0.5: one every other step)
    presets: tuple[str, ...] = ("light", "medium", "severe")
    effects: tuple[str, ...] | None = None  # None: every effect; else only these (studies, tests)
    # Fraction of scenes drawn with domain-randomised damage and content (randomise.py).
    randomise: float = 0.0
    # Fraction of scenes left undamaged (the target is the input): teaches "no damage, no
    # change", which the clean-input benchmark checks (restored undamaged clips >= 45 dB).
    clean_scenes: float = 0.0
    no_reference_prob: float = 0.1  # sometimes train without references: the ablation stays sane
    init_near_identity: bool = True  # shrink the output head of a fresh network (see below)
    val_clips: int = 6
    val_size: tuple[int, int] = (128, 160)
    loss: LossWeights = field(default_factory=LossWeights)
    device: str = "auto"
    # Autocast of the training step: "auto" is bf16 on GPUs and on CPUs with bf16 in hardware
    # (AVX512-BF16, AMX: 1.45x faster steps measured here), else fp32; validation stays fp32 on
    # CPUs so its numbers compare with earlier runs.
    precision: str = "auto"
    threads: int | None = 2
    resume: bool = False
    # Start from these weights (e.g. the shipped tape-lite) with a fresh optimizer and schedule:
    # how a later session goes on training when the run folder of the last one is gone.
    init: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["out"] = str(self.out)
        data["loss"] = self.loss.to_dict()
        return data


# ---------------------------------------------------------------------------- references


def frame_embeddings(frames: np.ndarray, size: tuple[int, int] = (12, 16)) -> np.ndarray:
    """Cheap L2-normalised thumbnails of (N, H, W, 3) uint8 frames, for frame similarity."""
    n, h, w, _ = frames.shape
    gh, gw = size
    luma = frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    # Area-average onto a gh x gw grid (crop the remainder so the reshape is exact).
    luma = luma[:, : h - h % gh, : w - w % gw]
    thumbs = luma.reshape(n, gh, luma.shape[1] // gh, gw, luma.shape[2] // gw).mean(axis=(2, 4))
    flat = thumbs.reshape(n, -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    return (flat / np.maximum(norms, 1e-6)).astype(np.float32)


def pick_references(
    artifact: np.ndarray, embeddings: np.ndarray, window: Sequence[int], count: int
) -> list[int]:
    """Indices of ``count`` reference frames for the frames in ``window``, chosen by the
    inference code itself (``references.ReferencePool``): a pool of frames below the Otsu
    threshold of the artifact scores (here the simulator's labels stand in for the scorer),
    then the pool frames most similar to the window, the window's own frames excluded while
    others remain.
    """
    from restoration.engine.references import FrameScores, ReferencePool, window_query

    scores = FrameScores(
        artifact=np.asarray(artifact, dtype=np.float32),
        embeddings=embeddings,
        effects={},
        scorer="simulator-labels",
    )
    pool = ReferencePool.build(scores, size=32)
    frames = list(window)
    return pool.select(window_query(scores, frames), count, exclude=set(frames))


# ---------------------------------------------------------------------------- data


@dataclass
class Scene:
    clean: np.ndarray  # (L, H, W, 3) uint8
    degraded: np.ndarray  # (L, H, W, 3) uint8
    artifact: np.ndarray  # (L,) overall label severity
    embeddings: np.ndarray  # (L, E) of the degraded frames (what inference sees)
    preset: str
    seed: int


def make_scene(
    rng: np.random.Generator,
    photos: Sequence[np.ndarray],
    *,
    frames: int,
    size: tuple[int, int],
    preset: str,
    seed: int,
    effects: Sequence[str] | None = None,
) -> Scene:
    """One training or validation scene; ``preset="random"`` draws a domain-randomised one,
    ``preset="clean"`` leaves it undamaged."""
    from restoration.simulation.degrade import degrade_clip, preset_config
    from restoration.training.synth import make_clip

    clean = make_clip(rng, photos=list(photos), length=frames, size=size)
    if preset == "clean":
        zeros = np.zeros(len(clean), dtype=np.float32)
        return Scene(clean, clean.copy(), zeros, frame_embeddings(clean), preset, seed)
    if preset == "random":
        from restoration.training.randomise import (
            random_content_change,
            random_degrade_config,
            random_extra_damage,
        )

        clean = random_content_change(rng, clean)
        config = random_degrade_config(rng)
        degraded, labels = degrade_clip(clean, seed=seed, config=config)
        artifact = np.array([label.severity for label in labels], dtype=np.float32)
        damaged = artifact > 0
        extra = random_extra_damage(rng, degraded)
        # Frames the extra damage touched are not clean any more: not reference material.
        touched = np.any(extra != degraded, axis=(1, 2, 3)) & ~damaged
        artifact = np.where(touched, np.maximum(artifact, 0.3), artifact).astype(np.float32)
        degraded = extra
    else:
        config = preset_config(preset).only(*effects) if effects else None
        degraded, labels = degrade_clip(clean, seed=seed, preset=preset, config=config)
        artifact = np.array([label.severity for label in labels], dtype=np.float32)
    return Scene(clean, degraded, artifact, frame_embeddings(degraded), preset, seed)


@dataclass
class Batch:
    frames: torch.Tensor  # (B, T, 3, h, w) degraded
    targets: torch.Tensor  # (B, T, 3, h, w) clean
    references: torch.Tensor  # (B, D, 3, h, w)


def model_config(model: nn.Module) -> dict[str, Any]:
    """The variant's config dict the networks carry (``window``, ``references``, ...)."""
    config = getattr(model, "config", None)
    assert isinstance(config, dict), "restoration networks carry a .config dict"
    return config


def _to_tensor(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 255.0


def window_sample(
    scene: Scene, start: int, window: int, references: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(degraded window, clean window, references), each (N, H, W, 3) uint8."""
    indices = list(range(start, start + window))
    picked = pick_references(scene.artifact, scene.embeddings, indices, references)
    return scene.degraded[indices], scene.clean[indices], scene.degraded[picked]


class ScenePool:
    """Degraded training scenes, refreshed one at a time; batches of random crops of them."""

    def __init__(self, config: TrainConfig, *, window: int, references: int) -> None:
        from restoration.training.synth import load_photo_pool

        self.config = config
        self.window = window
        self.references = references
        self.rng = np.random.default_rng(config.seed)
        self.photos = load_photo_pool("train")
        assert config.scene_frames >= window, "scene_frames must be at least the model's window"
        h, w = config.scene_size
        assert config.crop <= min(h, w), f"crop {config.crop} larger than scene size {h}x{w}"
        self.scenes: list[Scene] = []
        self.next_slot = 0
        self._due = 0.0  # fractional scenes owed by refresh()
        while len(self.scenes) < config.pool_size:
            self.scenes.append(self._new_scene())

    def _new_scene(self) -> Scene:
        draw = self.rng.random()
        if draw < self.config.clean_scenes:
            preset = "clean"
        elif draw < self.config.clean_scenes + self.config.randomise and not self.config.effects:
            preset = "random"
        else:
            preset = str(self.rng.choice(self.config.presets))
        seed = int(self.rng.integers(0, HELD_OUT_SEED_BASE))
        return make_scene(
            self.rng,
            self.photos,
            frames=self.config.scene_frames,
            size=self.config.scene_size,
            preset=preset,
            seed=seed,
            effects=self.config.effects,
        )

    def refresh(self) -> None:
        self._due += self.config.refresh_per_step
        while self._due >= 1.0:
            self._due -= 1.0
            self.scenes[self.next_slot] = self._new_scene()
            self.next_slot = (self.next_slot + 1) % len(self.scenes)

    def batch(self) -> Batch:
        crop = self.config.crop
        frames, targets, refs = [], [], []
        for _ in range(self.config.batch):
            scene = self.scenes[int(self.rng.integers(len(self.scenes)))]
            length, h, w = scene.clean.shape[:3]
            start = int(self.rng.integers(0, length - self.window + 1))
            degraded, clean, reference = window_sample(scene, start, self.window, self.references)
            # Same crop for frames and references: tiled inference crops both alike.
            y = int(self.rng.integers(0, h - crop + 1))
            x = int(self.rng.integers(0, w - crop + 1))
            crops = [a[:, y : y + crop, x : x + crop] for a in (degraded, clean, reference)]
            if self.rng.random() < 0.5:  # horizontal flip only: tape effects are row-based
                crops = [a[:, :, ::-1] for a in crops]
            if self.rng.random() < 0.5:  # camera motion played backwards is still motion
                crops[0], crops[1] = crops[0][::-1], crops[1][::-1]
            frames.append(_to_tensor(crops[0]))
            targets.append(_to_tensor(crops[1]))
            refs.append(_to_tensor(crops[2]))
        return Batch(torch.stack(frames), torch.stack(targets), torch.stack(refs))


def validation_scenes(
    count: int,
    *,
    frames: int,
    size: tuple[int, int],
    presets: Sequence[str],
    effects: Sequence[str] | None = None,
) -> list[Scene]:
    """Fixed held-out scenes: "val" photos, seeds training never draws, presets in turn."""
    from restoration.training.synth import load_photo_pool

    photos = load_photo_pool("val")
    scenes = []
    for i in range(count):
        seed = HELD_OUT_SEED_BASE + i
        rng = np.random.default_rng(seed)
        preset = presets[i % len(presets)]
        scenes.append(
            make_scene(
                rng, photos, frames=frames, size=size, preset=preset, seed=seed, effects=effects
            )
        )
    return scenes


def to_uint8(frames: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) float in [0, 1] -> (N, H, W, 3) uint8."""
    array = frames.detach().float().clamp(0, 1).mul(255).round().byte().permute(0, 2, 3, 1)
    return array.cpu().numpy()


def run_model(
    model: nn.Module,
    frames: np.ndarray,
    references: np.ndarray | None,
    *,
    device: torch.device,
) -> np.ndarray:
    """Restore one window: (T, H, W, 3) uint8 (+ (D, H, W, 3) refs) -> (T, H, W, 3) uint8.

    Pads H and W (reflect) to the model's ``pad_multiple`` and crops the result back.
    """
    multiple = int(model_config(model).get("pad_multiple", 1))
    h, w = frames.shape[1:3]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple

    def prepare(x: np.ndarray) -> torch.Tensor:
        tensor = _to_tensor(x).to(device)
        if pad_h or pad_w:
            tensor = nn.functional.pad(tensor, (0, pad_w, 0, pad_h), mode="reflect")
        return tensor.unsqueeze(0)

    refs = None if references is None else prepare(references)
    with torch.no_grad(), _autocast(device):
        restored = model(prepare(frames), refs)[0, :, :, :h, :w]
    return to_uint8(restored)


def validation_window(scene: Scene, window: int) -> int:
    """Start of the most degraded window of a scene (a clean window would measure nothing)."""
    sums = np.convolve(scene.artifact, np.ones(window, dtype=np.float32), mode="valid")
    return int(np.argmax(sums))


def evaluate(
    model: nn.Module, scenes: Sequence[Scene], *, device: torch.device, use_references: bool = True
) -> dict[str, Any]:
    """PSNR (pooled MSE) / SSIM (mean) of the most degraded window of each scene, by preset."""
    window = int(model_config(model)["window"])
    count = int(model_config(model)["references"])
    was_training = model.training
    model.eval()
    pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for scene in scenes:
        degraded, clean, reference = window_sample(
            scene, validation_window(scene, window), window, count
        )
        restored = run_model(model, degraded, reference if use_references else None, device=device)
        pairs.setdefault(scene.preset, []).append((restored, clean))
    model.train(was_training)
    return _summarise(pairs)


def _summarise(pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]]) -> dict[str, Any]:
    every = [pair for group in pairs.values() for pair in group]
    ssims = {k: [float(ssim(b, a).mean()) for a, b in group] for k, group in pairs.items()}
    return {
        "psnr": pooled_psnr(every),
        "ssim": float(np.mean([v for group in ssims.values() for v in group])),
        "psnr_by_preset": {k: pooled_psnr(group) for k, group in pairs.items()},
        "ssim_by_preset": {k: float(np.mean(v)) for k, v in ssims.items()},
    }


def degraded_baseline(scenes: Sequence[Scene], window: int) -> dict[str, Any]:
    """The same metrics for the degraded input itself (what restoration must beat)."""
    pairs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for scene in scenes:
        sl = slice(validation_window(scene, window), validation_window(scene, window) + window)
        pairs.setdefault(scene.preset, []).append((scene.degraded[sl], scene.clean[sl]))
    return _summarise(pairs)


# ---------------------------------------------------------------------------- loop helpers


def _autocast(device: torch.device) -> Any:
    # Validation and the bench's reference runs: bf16 autocast on GPUs only, so CPU validation
    # numbers stay float32 and compare across runs (training steps follow config.precision).
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def learning_rate(config: TrainConfig, step: int, elapsed_s: float) -> float:
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(config.steps - config.warmup_steps, 1)
    if config.max_minutes:
        progress = max(progress, elapsed_s / (config.max_minutes * 60.0))
    progress = min(progress, 1.0)
    floor = config.lr * config.min_lr_ratio
    return floor + (config.lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def hardware_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA), torch {torch.__version__}"
    return (
        f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch "
        f"threads of {os.cpu_count()} cores, torch {torch.__version__}"
    )


class _StopFlag:
    """Set by SIGTERM/SIGINT: the loop finishes its step, checkpoints and exits cleanly."""

    def __init__(self) -> None:
        self.stop = False

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        self.stop = True


class RunLog:
    """JSON lines in ``log.jsonl`` plus a short human line on stdout (flushed)."""

    def __init__(self, out: Path, echo: Callable[[str], None] | None = None) -> None:
        self.path = out / "log.jsonl"
        self.echo = echo or (lambda line: print(line, flush=True))

    def write(self, record: dict[str, Any], line: str) -> None:
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        self.echo(line)


# ---------------------------------------------------------------------------- checkpoints


STATE_SUFFIX = ".state.pt"


def save_training_checkpoint(
    model: nn.Module,
    stem: Path,
    card: dict[str, Any],
    state: dict[str, Any] | None = None,
) -> None:
    """Weights + card through the models' ``save_checkpoint``; optimizer state beside them."""
    from restoration.engine.models import save_checkpoint

    save_checkpoint(model, stem, card)
    if state is not None:
        tmp = stem.with_name(stem.name + STATE_SUFFIX + ".tmp")
        torch.save(state, tmp)
        tmp.replace(stem.with_name(stem.name + STATE_SUFFIX))


def _card(
    config: TrainConfig,
    *,
    step: int,
    elapsed_s: float,
    device: torch.device,
    metrics: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "variant": config.model,
        "steps": step,
        "wall_time_s": round(elapsed_s, 1),
        "hardware": hardware_description(device),
        "data": {
            "clips": "synthetic camera motion (pan/zoom/rotation) + moving objects over the "
            "packaged 'train' photo split (restoration.training.synth.make_clip)",
            "scene_frames": config.scene_frames,
            "scene_size_hw": list(config.scene_size),
            "crop": config.crop,
            "batch": config.batch,
            "references": "clean-labelled frames of the same clip, most similar to the window",
            "validation": f"{config.val_clips} clips from the 'val' photo split, "
            f"seeds >= {HELD_OUT_SEED_BASE}",
        },
        "simulator": {
            "module": "restoration.simulation.degrade",
            "presets": list(config.presets),
            "effects": list(config.effects) if config.effects else "all",
        },
        "training": config.to_dict(),
        "metrics": metrics or {},
    }


# ---------------------------------------------------------------------------- the loop


def _load_init(model: nn.Module, checkpoint: str | Path, variant: str) -> list[str]:
    """Load `checkpoint` (variant and sha256 checked) into `model`; modules the checkpoint
    predates (e.g. a refinement added to the config since) keep their initialisation.
    Returns those modules' names; any other mismatch is a WeightsError."""
    from restoration.engine.exceptions import WeightsError
    from restoration.engine.models.factory import load_checkpoint

    state, _card = load_checkpoint(checkpoint, variant=variant)
    own = model.state_dict()
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in state if k in own and state[k].shape != own[k].shape)
    if unexpected or wrong:
        raise WeightsError(
            f"{checkpoint}: weights don't fit the {variant!r} architecture "
            f"(unexpected: {unexpected[:3]}, shape mismatch: {wrong[:3]})"
        )
    missing = model.load_state_dict(state, strict=False).missing_keys
    return sorted({key.split(".")[0] for key in missing})


def _start_near_identity(model: nn.Module) -> None:
    """Shrink the output head so a fresh network starts close to "output = input".

    The networks predict a residual; a randomly initialised head adds a noise image that the
    first hundreds of steps only unlearn (about -4 dB on the validation clips at step 0).
    Scaled by 0.01 rather than zeroed, so gradients reach the body from the first step.
    """
    head = getattr(model, "head", None)
    if isinstance(head, nn.Conv2d):
        with torch.no_grad():
            head.weight.mul_(0.01)
            if head.bias is not None:
                head.bias.zero_()


def train(config: TrainConfig, *, echo: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run (or resume) training; returns the final summary (also written to summary.json)."""
    from restoration.engine.models import create_model

    if config.threads:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    step_dtype = resolve_precision(config.precision, device)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    log = RunLog(out, echo)
    last = out / "last"
    state: dict[str, Any] = {}
    if config.resume:
        if not last.with_suffix(".safetensors").exists():
            from restoration.engine.exceptions import ConfigError

            raise ConfigError(f"--resume: no checkpoint at {last}.safetensors")
        model = create_model(config.model, checkpoint=last.with_suffix(".safetensors"))
        state = torch.load(last.with_name(last.name + STATE_SUFFIX), weights_only=False)
        config.seed = int(state["step"]) + config.seed * 7919  # fresh data stream after resume
    elif config.init:
        torch.manual_seed(config.seed)
        model = create_model(config.model)
        fresh = _load_init(model, config.init, config.model)
        if fresh:
            log.write(
                {"event": "init", "checkpoint": str(config.init), "fresh": fresh},
                f"--init {config.init}: new modules start from their own initialisation: "
                + ", ".join(fresh),
            )
    else:
        torch.manual_seed(config.seed)
        model = create_model(config.model)
        if config.init_near_identity:
            _start_near_identity(model)
    model.to(device).train()
    window, count = int(model_config(model)["window"]), int(model_config(model)["references"])

    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, betas=(0.9, 0.99)
    )
    step = 0
    elapsed_prior = 0.0
    best_psnr = -math.inf
    if state:
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
        elapsed_prior = float(state["elapsed_s"])
        best_psnr = float(state.get("best_psnr", -math.inf))

    started = _now()
    pool = ScenePool(config, window=window, references=count)
    # A preset repeated in --presets is drawn more often in training; validation keeps one of each.
    val_presets = tuple(dict.fromkeys(config.presets))
    val = validation_scenes(
        config.val_clips,
        frames=config.scene_frames,
        size=config.val_size,
        # Randomised training also validates on randomised scenes (other seeds, other draws),
        # so the best checkpoint is the one that generalises, not the one that fits the presets.
        presets=(*val_presets, "random") if config.randomise else val_presets,
        effects=config.effects,
    )
    baseline = degraded_baseline(val, window)
    params = sum(p.numel() for p in model.parameters())
    log.write(
        {
            "event": "start",
            "step": step,
            "params": params,
            "device": str(device),
            "step_dtype": "float32"
            if step_dtype is None
            else str(step_dtype).removeprefix("torch."),
            "config": config.to_dict(),
            "val_degraded": baseline,
            "setup_s": round(_now() - started, 1),
        },
        f"{config.model}: {params / 1e6:.2f}M params on {device} "
        f"({'fp32' if step_dtype is None else str(step_dtype).removeprefix('torch.')} steps), "
        f"step {step}, val degraded "
        f"PSNR {baseline['psnr']:.2f} dB, setup {_now() - started:.0f} s",
    )

    stop = _StopFlag()
    stop.install()
    run_started = _now()

    def elapsed() -> float:
        return elapsed_prior + (_now() - run_started)

    def checkpoint(metrics: dict[str, Any]) -> None:
        nonlocal best_psnr
        card = _card(config, step=step, elapsed_s=elapsed(), device=device, metrics=metrics)
        card["metrics"]["val_degraded"] = baseline
        is_best = metrics["val"]["psnr"] > best_psnr
        if is_best:
            best_psnr = metrics["val"]["psnr"]
            save_training_checkpoint(model, out / "best", card)
        save_training_checkpoint(
            model,
            last,
            card,
            {
                "step": step,
                "optimizer": optimizer.state_dict(),
                "elapsed_s": elapsed(),
                "best_psnr": best_psnr,
            },
        )
        save_training_checkpoint(model, out / "checkpoints" / f"step-{step:06d}", card)

    def validate_and_save() -> dict[str, Any]:
        t0 = _now()
        metrics = {"val": evaluate(model, val, device=device)}
        checkpoint(metrics)
        v = metrics["val"]
        by = " ".join(f"{k} {p:.2f}" for k, p in sorted(v["psnr_by_preset"].items()))
        log.write(
            {
                "event": "val",
                "step": step,
                "elapsed_s": round(elapsed(), 1),
                **metrics,
                "eval_s": round(_now() - t0, 1),
            },
            f"step {step}: val PSNR {v['psnr']:.2f} dB ({by}) SSIM {v['ssim']:.4f} "
            f"[degraded {baseline['psnr']:.2f}] best {best_psnr:.2f} -> {out}",
        )
        return metrics

    (out / "checkpoints").mkdir(exist_ok=True)
    last_checkpoint_at = _now()
    window_loss: list[float] = []
    timing = {"data": 0.0, "step": 0.0}
    metrics: dict[str, Any] = {}
    validated_at = -1
    while step < config.steps and not stop.stop:
        if config.max_minutes and elapsed() >= config.max_minutes * 60.0:
            break
        t0 = _now()
        pool.refresh()
        batch = pool.batch()
        t1 = _now()
        lr = learning_rate(config, step, elapsed())
        for group in optimizer.param_groups:
            group["lr"] = lr
        frames = batch.frames.to(device, non_blocking=True)
        targets = batch.targets.to(device, non_blocking=True)
        refs = batch.references.to(device, non_blocking=True)
        use_refs = pool.rng.random() >= config.no_reference_prob
        with torch.autocast(device.type, dtype=step_dtype, enabled=step_dtype is not None):
            restored = model(frames, refs if use_refs else None)
        loss, terms = restoration_loss(restored.float(), targets, config.loss)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = float(nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip))
        optimizer.step()
        step += 1
        timing["data"] += t1 - t0
        timing["step"] += _now() - t1
        window_loss.append(float(loss.detach()))
        if not math.isfinite(window_loss[-1]):
            raise FloatingPointError(f"loss became {window_loss[-1]} at step {step}")
        if step % config.log_every == 0:
            n = len(window_loss)
            log.write(
                {
                    "event": "train",
                    "step": step,
                    "loss": float(np.mean(window_loss)),
                    **terms,
                    "lr": lr,
                    "grad_norm": grad_norm,
                    "elapsed_s": round(elapsed(), 1),
                    "data_s": timing["data"] / n,
                    "step_s": timing["step"] / n,
                },
                f"step {step}/{config.steps} loss {np.mean(window_loss):.4f} lr {lr:.2e} "
                f"|g| {grad_norm:.2f} {timing['data'] / n:.2f}+{timing['step'] / n:.2f} s/step "
                f"{elapsed() / 60:.1f} min",
            )
            window_loss.clear()
            timing = {"data": 0.0, "step": 0.0}
        due_by_steps = config.checkpoint_every and step % config.checkpoint_every == 0
        due_by_time = _now() - last_checkpoint_at >= config.checkpoint_minutes * 60.0
        if due_by_steps or due_by_time:
            metrics = validate_and_save()
            validated_at, last_checkpoint_at = step, _now()

    if validated_at != step:
        metrics = validate_and_save()
    summary = {
        "model": config.model,
        "steps": step,
        "elapsed_s": round(elapsed(), 1),
        "best_val_psnr": best_psnr,
        "final_val": metrics["val"],
        "val_degraded": baseline,
        "stopped_by_signal": stop.stop,
        "hardware": hardware_description(device),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log.write({"event": "end", **summary}, f"done: {step} steps, best val PSNR {best_psnr:.2f} dB")
    return summary


def export_weights(
    run: Path, stem: Path, *, which: str = "best", extra: dict[str, Any] | None = None
) -> Path:
    """Copy a run's ``best`` (or ``last``) checkpoint to ``stem`` (e.g. the shipped weights),
    re-saved through ``save_checkpoint`` so the card's sha256 matches, with ``extra`` merged
    into the card (benchmark results, notes)."""
    from restoration.engine.models import create_model, save_checkpoint

    source = Path(run) / which
    card = json.loads(source.with_suffix(".json").read_text())
    model = create_model(card["variant"], checkpoint=source.with_suffix(".safetensors"))
    kept = {
        k: v for k, v in card.items() if k not in {"sha256", "weights_file", "created", "format"}
    }
    kept.update(extra or {})
    return save_checkpoint(model, stem, kept)


def interpolate_weights(
    base: Path, tuned: Path, stem: Path, *, alpha: float, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``(1 - alpha) * base + alpha * tuned`` to ``stem`` (WiSE-FT, Wortsman et al. 2022).

    A fine-tune started from ``base`` stays in its basin, so the straight line between the two
    is a family of working networks: points between them often keep most of what the base does
    well on its own data while keeping much of what the fine-tune gained on new data. Both
    checkpoints must be the same variant with the same tensors. The card is the base's (its
    history) with an ``interpolation`` record: ``alpha``, both sources' sha256 and the tuned
    checkpoint's card (its data, training options, steps); ``extra`` is merged on top.
    """
    from restoration.engine.exceptions import WeightsError
    from restoration.engine.models import create_model, load_checkpoint, save_checkpoint

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    base_state, base_card = load_checkpoint(base)
    tuned_state, tuned_card = load_checkpoint(tuned, variant=base_card["variant"])
    if base_state.keys() != tuned_state.keys() or any(
        base_state[k].shape != tuned_state[k].shape for k in base_state
    ):
        raise WeightsError(f"{base} and {tuned} do not hold the same tensors")
    blended = {
        key: torch.lerp(base_state[key].float(), tuned_state[key].float(), alpha).to(
            base_state[key].dtype
        )
        if base_state[key].is_floating_point()
        else base_state[key]
        for key in base_state
    }
    model = create_model(base_card["variant"])
    model.load_state_dict(blended)
    generated = {"sha256", "weights_file", "created", "format"}
    card = {k: v for k, v in base_card.items() if k not in generated}
    card["interpolation"] = {
        "alpha": alpha,
        "base_sha256": base_card["sha256"],
        "tuned_sha256": tuned_card["sha256"],
        "tuned": {k: v for k, v in tuned_card.items() if k not in generated | {"config"}},
    }
    card.update(extra or {})
    return save_checkpoint(model, stem, card)
