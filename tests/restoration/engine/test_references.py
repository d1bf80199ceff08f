from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from restoration.engine.exceptions import ConfigError, WeightsError
from restoration.engine.references import (
    ClassicalScorer,
    FrameScores,
    ReferencePool,
    get_scorer,
    otsu_threshold,
    score_video,
    window_query,
)

from .conftest import moving_pattern

TINY_CLIP = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def streaked(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    damaged = frame.copy()
    for row in rng.choice(frame.shape[0], size=6, replace=False):
        damaged[row] = 255  # white dropout lines
    noise = rng.normal(0, 25, frame.shape)
    return np.clip(damaged + noise, 0, 255).astype(np.uint8)


def make_scores(artifact: list[float], embeddings: np.ndarray) -> FrameScores:
    embeddings = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    return FrameScores(np.array(artifact, np.float32), embeddings.astype(np.float32), {}, "test")


def test_otsu_splits_two_groups_and_handles_flat_scores() -> None:
    values = np.r_[np.linspace(0.05, 0.2, 40), np.linspace(0.7, 0.9, 10)]
    threshold = otsu_threshold(values)
    assert 0.2 <= threshold < 0.7
    assert otsu_threshold(np.full(5, 0.3)) == pytest.approx(0.3)


def test_classical_scorer_ranks_damaged_frames_higher() -> None:
    rng = np.random.default_rng(0)
    clean = np.stack([moving_pattern(i, 96, 64) for i in range(4)])
    damaged = np.stack([streaked(f, rng) for f in clean])
    artifact, embeddings, effects = ClassicalScorer().score_batch(np.concatenate([clean, damaged]))
    assert artifact.shape == (8,) and ((artifact >= 0) & (artifact <= 1)).all()
    assert artifact[4:].min() > artifact[:4].max()
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)
    assert effects == {}


def test_classical_scorer_scores_a_batch_in_groups_with_the_same_result() -> None:
    rng = np.random.default_rng(1)
    frames = np.stack([streaked(moving_pattern(i, 96, 64), rng) for i in range(7)])
    whole = ClassicalScorer()
    whole.group_pixels = frames.size  # all 7 frames at once
    sizes: list[int] = []

    class Grouped(ClassicalScorer):
        def _score(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            sizes.append(len(frames))
            return super()._score(frames)

    grouped = Grouped()
    grouped.group_pixels = 2 * 96 * 64  # groups of 2 frames (and a last one of 1)
    for expected, actual in zip(whole.score_batch(frames)[:2], grouped.score_batch(frames)[:2]):
        assert actual.shape == expected.shape
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    assert sizes == [2, 2, 2, 1]


def test_clip_scorer_with_tiny_random_open_clip_model() -> None:
    scorer = get_scorer(
        "clip", model_name="tape-test-tiny-clip", pretrained=None, model_config=TINY_CLIP
    )
    frames = np.stack([moving_pattern(i, 64, 48) for i in range(3)])
    artifact, embeddings, effects = scorer.score_batch(frames)
    assert artifact.shape == (3,) and ((artifact >= 0) & (artifact <= 1)).all()
    assert embeddings.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-4)
    assert set(effects) == {"noise", "dropouts", "fringing", "mistracking"}
    # Different images, different embeddings: the similarity really looks at the pixels.
    assert not np.allclose(embeddings[0], embeddings[2])


def test_clip_scorer_never_downloads() -> None:
    with pytest.raises(WeightsError, match="not in the local cache"):
        get_scorer("clip", model_name="ViT-B-32", pretrained="openai")
    with pytest.raises(WeightsError, match="not found"):
        get_scorer("clip", model_name="ViT-B-32", pretrained="/nonexistent/clip.safetensors")
    with pytest.raises(ConfigError, match="unknown scorer"):
        get_scorer("magic")


def test_pool_is_clean_diverse_and_bounded() -> None:
    rng = np.random.default_rng(1)
    embeddings = rng.normal(size=(200, 8))
    artifact = np.where(np.arange(200) % 4 == 0, 0.9, 0.1) + rng.uniform(0, 0.05, 200)
    scores = make_scores(list(artifact), embeddings)
    pool = ReferencePool.build(scores, size=16)
    assert len(pool.indices) == 16 and pool.clean_count == 150
    assert all(int(i) % 4 != 0 for i in pool.indices), "corrupted frames must not be references"
    assert int(np.argmin(artifact)) in pool.indices.tolist(), "the cleanest frame seeds the pool"


def test_each_window_picks_its_most_similar_clean_frames() -> None:
    # Two "shots": frames 0-9 look alike (axis 0), frames 10-19 (axis 1); 5 and 15 are damaged.
    embeddings = np.zeros((20, 4))
    embeddings[:10, 0] = 1
    embeddings[10:, 1] = 1
    embeddings += np.random.default_rng(2).normal(0, 0.01, embeddings.shape)
    artifact = [0.1] * 20
    artifact[5] = artifact[15] = 0.9
    scores = make_scores(artifact, embeddings)
    pool = ReferencePool.build(scores, size=20)
    first = pool.select(window_query(scores, [4, 5, 6]), 2, exclude={4, 5, 6})
    second = pool.select(window_query(scores, [14, 15, 16]), 2, exclude={14, 15, 16})
    assert all(i < 10 and i not in {4, 5, 6} for i in first)
    assert all(i >= 10 and i not in {14, 15, 16} for i in second)


def test_score_video_streams_every_frame(capture: Path) -> None:
    scores = score_video(capture, get_scorer("none"), start=2, end=10, batch_size=3)
    assert len(scores) == 8 and scores.start == 2 and scores.embeddings.shape[0] == 8
    rows = scores.to_rows()
    assert rows[0]["frame"] == 2 and {"artifact", "clean"} <= set(rows[0])


def test_pool_fetch_decodes_exactly_the_pool_frames(tmp_path: Path) -> None:
    from restoration.engine import video

    from .conftest import write_video

    src = write_video(tmp_path / "v.mkv", frames=40, size=(32, 24), audio=None)
    pool = ReferencePool(
        indices=np.array([3, 4, 30, 38]), embeddings=np.zeros((4, 2)), threshold=0.5, clean_count=4
    )
    pool.fetch(src, seek_gap=5)  # 4 -> 30 seeks
    everything = list(video.iter_frames(src))
    assert sorted(pool.frames) == [3, 4, 30, 38]
    for index, frame in pool.frames.items():
        np.testing.assert_array_equal(frame, everything[index])
