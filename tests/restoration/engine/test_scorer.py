"""Offline artifact scorer (restoration.engine.scorer): shipped weights, behaviour, training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from restoration.engine.exceptions import WeightsError
from restoration.engine.models.factory import file_sha256
from restoration.engine.scorer import (
    DEFAULT_WEIGHTS,
    ArtifactScorerNet,
    OfflineArtifactScorer,
    frame_features,
)
from restoration.simulation.degrade import SCORED_EFFECTS, degrade_clip, preset_config
from restoration.training.scorer_training import make_labelled_clip, scorer_loss
from restoration.training.synth import load_photo_pool, make_clip


@pytest.fixture(scope="module")
def scorer() -> OfflineArtifactScorer:
    torch.set_num_threads(1)
    return OfflineArtifactScorer.load_default()


@pytest.fixture(scope="module")
def val_clip() -> np.ndarray:
    photos = load_photo_pool("val")
    return make_clip(np.random.default_rng(2024), photos=photos, length=24, size=(120, 160))


def test_shipped_weights_load_and_match_their_sha256(scorer: OfflineArtifactScorer) -> None:
    card = json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())
    assert card["variant"] == "artifact-scorer"
    assert card["sha256"] == file_sha256(DEFAULT_WEIGHTS)
    assert DEFAULT_WEIGHTS.stat().st_size < 5 * 2**20
    assert scorer.name == "offline"
    for metric in ("auroc_clean", "auroc_mistracking", "spearman_severity"):
        assert metric in card["metrics"]["held_out"]


def test_tampered_or_missing_weights_raise_weights_error(tmp_path: Path) -> None:
    stem = tmp_path / "artifact-scorer"
    shutil.copyfile(DEFAULT_WEIGHTS, stem.with_suffix(".safetensors"))
    shutil.copyfile(DEFAULT_WEIGHTS.with_suffix(".json"), stem.with_suffix(".json"))
    data = bytearray(stem.with_suffix(".safetensors").read_bytes())
    data[-1] ^= 0xFF
    stem.with_suffix(".safetensors").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        OfflineArtifactScorer.load(stem)
    with pytest.raises(WeightsError, match="not found"):
        OfflineArtifactScorer.load(tmp_path / "nothing-here")


def test_score_batch_shapes_any_frame_size(scorer: OfflineArtifactScorer) -> None:
    rng = np.random.default_rng(0)
    for size in ((48, 64), (576, 720)):
        frames = rng.integers(0, 256, (3, *size, 3), dtype=np.uint8)
        artifact, embeddings, effects = scorer.score_batch(frames)
        assert artifact.shape == (3,) and artifact.dtype == np.float32
        assert ((artifact >= 0) & (artifact <= 1)).all()
        assert embeddings.shape == (3, scorer.model.config["embedding_dim"])
        np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
        assert set(effects) == set(SCORED_EFFECTS)
        assert all(v.shape == (3,) for v in effects.values())


def test_scores_do_not_depend_on_how_many_frames_are_featurised_at_once(
    scorer: OfflineArtifactScorer, val_clip: np.ndarray
) -> None:
    """Frames are turned into features a few at a time (memory); the scores are the same."""
    small = OfflineArtifactScorer(scorer.model, chunk=3)
    whole = OfflineArtifactScorer(scorer.model, chunk=len(val_clip))
    for mine, theirs in zip(small.score_batch(val_clip)[:2], whole.score_batch(val_clip)[:2]):
        np.testing.assert_allclose(mine, theirs, atol=1e-5)


def test_severe_frames_score_higher_than_clean_ones(
    scorer: OfflineArtifactScorer, val_clip: np.ndarray
) -> None:
    config = preset_config("severe")
    config.clean_probability = 0.4
    degraded, labels = degrade_clip(val_clip, seed=777, config=config)
    clean = np.array([label.clean for label in labels])
    assert clean.any() and (~clean).any()
    artifact, _, _ = scorer.score_batch(degraded)
    assert artifact[~clean].mean() > artifact[clean].mean() + 0.25
    # The clean frames themselves (never seen in training: validation photo) score low.
    clean_scores, _, _ = scorer.score_batch(val_clip)
    assert clean_scores.mean() < 0.2


def test_mistracking_probability_responds_to_mistracking(
    scorer: OfflineArtifactScorer, val_clip: np.ndarray
) -> None:
    config = preset_config("severe").only("mistracking")
    config.clean_probability = 0.0
    config.mistracking.event_rate = 0.5
    degraded, labels = degrade_clip(val_clip, seed=5, config=config)
    hit = np.array([label.effects["mistracking"] > 0.3 for label in labels])
    assert hit.sum() >= 3
    _, _, on = scorer.score_batch(degraded[hit])
    _, _, off = scorer.score_batch(val_clip[hit])
    assert on["mistracking"].mean() > off["mistracking"].mean() + 0.3


def test_embeddings_group_frames_of_a_shot(scorer: OfflineArtifactScorer) -> None:
    photos = load_photo_pool("val")
    rng = np.random.default_rng(9)
    shots = [make_clip(rng, photos=photos, length=6, size=(96, 128)) for _ in range(2)]
    degraded = [degrade_clip(shot, seed=i, preset="medium")[0] for i, shot in enumerate(shots)]
    emb = [scorer.score_batch(d)[1] for d in degraded]
    within = np.mean([(e @ e.T)[np.triu_indices(6, 1)].mean() for e in emb])
    across = (emb[0] @ emb[1].T).mean()
    assert within > across


def test_a_few_training_steps_reduce_the_loss() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    photos = load_photo_pool("train")
    features, severity, effects, group = [], [], [], []
    for index in range(4):
        frames, sev, eff = make_labelled_clip(rng, photos, length=6, seed=index, size=(48, 64))
        features.append(frame_features(frames))
        severity.append(sev)
        effects.append(eff)
        group += [index] * len(frames)
    batch = (
        torch.cat(features),
        torch.from_numpy(np.concatenate(severity)),
        torch.from_numpy(np.concatenate(effects)),
        torch.tensor(group),
    )
    model = ArtifactScorerNet(widths=(8, 16), embedding_dim=16)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    first, _ = scorer_loss(model, *batch)
    for _ in range(25):
        loss, _ = scorer_loss(model, *batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    last, parts = scorer_loss(model, *batch)
    assert last.item() < 0.7 * first.item(), parts
