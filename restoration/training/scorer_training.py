"""Training and evaluation of the offline artifact scorer (restoration.engine.scorer).

The network and its inference wrapper live in the engine (a worker loads them); the labelled
data, loss, metrics and the training loop live here, beside the tape simulator they learn from.
"""

from __future__ import annotations

import json
import math
import platform
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from restoration.engine.scorer import (
    DEFAULT_WEIGHTS,
    EFFECT_PRESENT,
    FEATURE_CHANNELS,
    INPUT_SIZE,
    SCORED_EFFECTS,
    VARIANT,
    ArtifactScorerNet,
    OfflineArtifactScorer,
    frame_features,
)
from restoration.simulation.degrade import (
    EFFECTS,
    PRESETS,
    FrameLabels,
    degrade_clip,
    preset_config,
)

# --------------------------------------------------------------------------- data


def _label_arrays(labels: list[FrameLabels]) -> tuple[np.ndarray, np.ndarray]:
    severity = np.array([label.severity for label in labels], dtype=np.float32)
    effects = np.array(
        [[label.effects[e] for e in SCORED_EFFECTS] for label in labels], dtype=np.float32
    )
    return severity, effects


_CLIP_SIZES = ((96, 128), (120, 160), (144, 192), (192, 256), (288, 384))


def make_labelled_clip(
    rng: np.random.Generator,
    photos: list[np.ndarray],
    *,
    length: int,
    seed: int,
    size: tuple[int, int] | None = None,
    preset: str | None = None,
    mix_probability: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One synthetic clip degraded at a (random) preset: (frames, severity, effects).

    With ``mix_probability`` the preset is replaced by a random subset of its effects (and more
    frequent mistracking), so the classifiers see each effect alone, not only in the presets'
    usual company.
    """
    from restoration.training.synth import make_clip

    size = size or _CLIP_SIZES[int(rng.integers(len(_CLIP_SIZES)))]
    clean = make_clip(rng, photos=photos, length=length, size=size)
    preset = preset or PRESETS[int(rng.integers(len(PRESETS)))]
    config = None
    if rng.random() < mix_probability:
        chosen = [name for name in EFFECTS if rng.random() < 0.4] or [
            EFFECTS[int(rng.integers(len(EFFECTS)))]
        ]
        config = preset_config(preset).only(*chosen)
        config.mistracking.event_rate = min(1.0, config.mistracking.event_rate * 4)
    degraded, labels = degrade_clip(clean, seed=seed, preset=preset, config=config)
    severity, effects = _label_arrays(labels)
    return degraded, severity, effects


def scorer_loss(
    model: ArtifactScorerNet,
    features: torch.Tensor,
    severity: torch.Tensor,
    effects: torch.Tensor,
    group: torch.Tensor,
    *,
    rank_weight: float = 0.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Severity regression (+ pairwise ranking) + per-effect BCE + contrastive embedding loss.

    The ranking term (logistic loss on every pair of frames whose severities differ by more than
    0.02) matters for reference selection: MSE barely separates clean frames from lightly
    damaged ones, ranking does.
    """
    severity_logit, effect_logits, embedding = model(features)
    severity_loss = F.mse_loss(torch.sigmoid(severity_logit), severity) * 10.0
    if rank_weight:
        worse = (severity[:, None] - severity[None, :]) > 0.02
        margin = severity_logit[:, None] - severity_logit[None, :]
        rank_loss = F.softplus(-margin[worse]).mean() * rank_weight if worse.any() else 0.0
        severity_loss = severity_loss + rank_loss
    present = (effects > EFFECT_PRESENT).float()
    effect_loss = F.binary_cross_entropy_with_logits(effect_logits, present)
    similarity = embedding @ embedding.T / 0.1
    same = (group[:, None] == group[None, :]).float()
    eye = torch.eye(len(group), device=features.device)
    positives = same - eye
    log_prob = similarity - torch.logsumexp(
        similarity.masked_fill(eye.bool(), -1e9), dim=1, keepdim=True
    )
    has_pos = positives.sum(dim=1) > 0
    contrast = -(log_prob * positives).sum(dim=1)[has_pos] / positives.sum(dim=1)[has_pos]
    contrast_loss = contrast.mean() * 0.2 if has_pos.any() else features.new_zeros(())
    total = severity_loss + effect_loss + contrast_loss
    return total, {
        "loss": float(total.detach()),
        "severity": float(severity_loss.detach()),
        "effects": float(effect_loss.detach()),
        "contrast": float(contrast_loss.detach()),
    }


# --------------------------------------------------------------------------- metrics


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    from scipy.stats import rankdata

    positive = positive.astype(bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@torch.no_grad()
def evaluate_scorer(
    scorer: Any, *, clips: int = 48, length: int = 16, seed: int = 10**6
) -> dict[str, Any]:
    """Held-out metrics on validation photos with seeds never used in training.

    Clips cycle through the presets. Besides AUROC / Spearman, ``reference_pick_clean`` is the
    share of clips (with at least one clean frame) whose lowest-scored frame is truly clean:
    what reference selection needs.
    """
    from scipy.stats import spearmanr

    from restoration.training.synth import load_photo_pool

    photos = load_photo_pool("val")
    rng = np.random.default_rng(seed)
    artifact, probs, severity, effects = [], [], [], []
    by_preset: dict[str, list[float]] = {preset: [] for preset in PRESETS}
    picks_clean, picks = 0, 0
    for index in range(clips):
        preset = PRESETS[index % len(PRESETS)]
        frames, sev, eff = make_labelled_clip(
            rng, photos, length=length, seed=seed + index, preset=preset
        )
        score, _, effect_probs = scorer.score_batch(frames)
        artifact.append(score)
        probs.append(
            np.stack([effect_probs.get(e, np.full(len(score), np.nan)) for e in SCORED_EFFECTS], 1)
        )
        severity.append(sev)
        effects.append(eff)
        by_preset[preset].append(float(score.mean()))
        if (sev == 0).any():
            picks += 1
            picks_clean += bool(sev[int(np.argmin(score))] == 0)
    score_all, prob_all = np.concatenate(artifact), np.concatenate(probs)
    sev_all, eff_all = np.concatenate(severity), np.concatenate(effects)
    clean = sev_all == 0
    metrics: dict[str, Any] = {
        "clips": clips,
        "frames": len(sev_all),
        "clean_frames": int(clean.sum()),
        "auroc_clean": auroc(1.0 - score_all, clean),
        "spearman_severity": float(spearmanr(score_all, sev_all).statistic),
        "spearman_severity_degraded_only": float(
            spearmanr(score_all[~clean], sev_all[~clean]).statistic
        ),
        "mae_severity": float(np.abs(score_all - sev_all).mean()),
        "reference_pick_clean": picks_clean / max(picks, 1),
        "mean_score_by_preset": {k: round(float(np.mean(v)), 4) for k, v in by_preset.items() if v},
    }
    for i, name in enumerate(SCORED_EFFECTS):
        if np.isnan(prob_all[:, i]).any():
            continue  # this scorer has no such output
        metrics[f"auroc_{name}"] = auroc(prob_all[:, i], eff_all[:, i] > EFFECT_PRESENT)
        metrics[f"prevalence_{name}"] = float((eff_all[:, i] > EFFECT_PRESENT).mean())
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}


def evaluate_checkpoint(path: str | Path, *, clips: int = 48, threads: int = 1) -> dict[str, Any]:
    """Re-evaluate a trained scorer and write the numbers into its card (metrics.held_out)."""
    from restoration.engine.models.factory import _stem

    torch.set_num_threads(threads)
    scorer = OfflineArtifactScorer.load(path)
    metrics = evaluate_scorer(scorer, clips=clips)
    card_path = _stem(path).with_suffix(".json")
    card = json.loads(card_path.read_text())
    card.setdefault("metrics", {})["held_out"] = metrics
    card["metrics"]["speed_cpu_1_thread"] = measure_speed(scorer.model)
    # Baseline on the very same clips: the engine's classical no-reference fallback.
    from restoration.engine.references import get_scorer

    card["metrics"]["held_out_classical_baseline"] = evaluate_scorer(
        get_scorer("none"), clips=clips
    )
    card_path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    return card["metrics"]


def measure_speed(
    model: ArtifactScorerNet, *, batch: int = 64, source_size: tuple[int, int] = (576, 720)
) -> dict[str, float]:
    """Frames per second of the network alone (96x128 input) and end to end from SD frames."""
    model.eval()
    features = torch.randn(batch, FEATURE_CHANNELS, *INPUT_SIZE)
    frames = np.random.default_rng(0).integers(
        0, 256, (batch // 4, *source_size, 3), dtype=np.uint8
    )
    with torch.no_grad():
        model(features)
        start = time.perf_counter()
        model(features)
        net = batch / (time.perf_counter() - start)
        scorer = OfflineArtifactScorer(model)
        start = time.perf_counter()
        scorer.score_batch(frames)
        full = len(frames) / (time.perf_counter() - start)
    return {
        "network_fps": round(net, 1),
        f"end_to_end_fps_{source_size[1]}x{source_size[0]}": round(full, 1),
    }


# --------------------------------------------------------------------------- training


@dataclass
class ScorerTrainConfig:
    out: Path = Path("runs/artifact-scorer")
    steps: int = 3000
    batch: int = 64  # frames per step
    lr: float = 2e-3
    weight_decay: float = 1e-4
    max_minutes: float | None = None
    val_clips: int = 48
    seed: int = 0
    threads: int = 1
    install: bool = False
    clip_length: int = 8
    pool_clips: int = 48  # degraded clips kept in memory; a few replaced every step
    refresh_per_step: int = 2
    rank_weight: float = 0.5
    mix_probability: float = 0.4  # share of clips with a random subset of effects
    init: Path | None = None  # start from this checkpoint (fine-tuning)
    log_every: int = 25
    checkpoint_every: int = 250
    log: list[dict[str, Any]] = field(default_factory=list, repr=False)


PoolEntry = tuple[
    torch.Tensor, np.ndarray, np.ndarray
]  # (features (L, 6, h, w), severity, effects)


def _sample_batch(
    pool: list[PoolEntry], rng: np.random.Generator, batch: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """`batch` frames from random clips of the pool, several per clip (embedding positives)."""
    per_clip = 4
    picks = rng.choice(
        len(pool), size=max(1, batch // per_clip), replace=len(pool) < batch // per_clip
    )
    features, severity, effects, group = [], [], [], []
    for g, clip_index in enumerate(picks):
        clip_features, sev, eff = pool[clip_index]
        idx = rng.choice(len(clip_features), size=min(per_clip, len(clip_features)), replace=False)
        chosen = clip_features[torch.from_numpy(idx)]
        if rng.random() < 0.5:
            # Horizontal flip; the features are flip-equivariant, so flipping them is enough.
            chosen = chosen.flip(-1)
        features.append(chosen)
        severity.append(sev[idx])
        effects.append(eff[idx])
        group += [g] * len(idx)
    return (
        torch.cat(features),
        torch.from_numpy(np.concatenate(severity)),
        torch.from_numpy(np.concatenate(effects)),
        torch.tensor(group),
    )


def train_scorer(config: ScorerTrainConfig) -> dict[str, Any]:
    """Train, evaluate on held-out clips, write OUT/artifact-scorer.{safetensors,json}."""
    from restoration.engine.models import save_checkpoint
    from restoration.training.synth import load_photo_pool, photo_label, photo_pool_sources

    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    photos = load_photo_pool("train")
    model = ArtifactScorerNet()
    init_card: dict[str, Any] = {}
    if config.init is not None:
        initial = OfflineArtifactScorer.load(config.init)  # fine-tune a trained scorer
        model, init_card = initial.model, initial.card
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    seed_counter = iter(range(config.seed * 10**5, 10**9))

    def fresh_clip() -> PoolEntry:
        frames, severity, effects = make_labelled_clip(
            rng,
            photos,
            length=config.clip_length,
            seed=next(seed_counter),
            mix_probability=config.mix_probability,
        )
        return frame_features(frames), severity, effects

    pool = [fresh_clip() for _ in range(config.pool_clips)]
    started = time.monotonic()
    log_path = out / "log.jsonl"
    step = 0
    with log_path.open("a") as log:
        for step in range(1, config.steps + 1):
            elapsed_min = (time.monotonic() - started) / 60
            if config.max_minutes is not None and elapsed_min > config.max_minutes:
                step -= 1
                break
            for _ in range(config.refresh_per_step):
                pool[int(rng.integers(len(pool)))] = fresh_clip()
            # Cosine schedule over the steps, or over the time budget when that ends first.
            progress = step / config.steps
            if config.max_minutes:
                progress = max(progress, elapsed_min / config.max_minutes)
            cosine = 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))
            lr = config.lr * cosine * min(1.0, step / 100)
            for group in optimizer.param_groups:
                group["lr"] = lr
            model.train()
            loss, parts = scorer_loss(
                model, *_sample_batch(pool, rng, config.batch), rank_weight=config.rank_weight
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            if step % config.log_every == 0 or step == 1:
                entry = {"step": step, "lr": lr, "minutes": round(elapsed_min, 2), **parts}
                log.write(json.dumps(entry) + "\n")
                log.flush()
            if step % config.checkpoint_every == 0:
                save_checkpoint(model, out / "last", {"steps": step})
    wall_min = (time.monotonic() - started) / 60
    scorer = OfflineArtifactScorer(model.eval())
    metrics = evaluate_scorer(scorer, clips=config.val_clips)
    speed = measure_speed(model)
    card = {
        "steps": step + int(init_card.get("steps", 0)),
        "fine_tuned_from": init_card.get("sha256"),
        "training": {
            "data": "synthetic clips (restoration.training.synth.make_clip) over the 'train' photo split, "
            "degraded by restoration.simulation.degrade at a random preset per clip",
            "photos": [photo_label(p) for p in photo_pool_sources("train")],
            "validation_photos": [photo_label(p) for p in photo_pool_sources("val")],
            "presets": list(PRESETS),
            "clip_sizes": [list(s) for s in _CLIP_SIZES],
            "config": {
                k: (str(v) if isinstance(v, Path) else v)
                for k, v in asdict(config).items()
                if k != "log"
            },
            "wall_minutes": round(wall_min, 1),
            "hardware": f"CPU ({platform.processor() or platform.machine()}), {config.threads} torch thread(s)",
        },
        "metrics": {"held_out": metrics, "speed_cpu_1_thread": speed},
        "clip_comparison": "CLIP weights cannot be obtained in this environment (no downloads), so "
        "no zero-shot CLIP comparison was made; with CLIP configured, compare with "
        "`restoration.engine.references.get_scorer('clip')` on the same held-out clips.",
    }
    weights = save_checkpoint(model, out / VARIANT, card)
    if config.install:
        DEFAULT_WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights, DEFAULT_WEIGHTS)
        shutil.copyfile(weights.with_suffix(".json"), DEFAULT_WEIGHTS.with_suffix(".json"))
    return {"weights": str(weights), "metrics": card["metrics"], "steps": step}
