from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from restoration.engine.exceptions import ConfigError, WeightsError
from restoration.engine.noise import noise_profile, noisier_than_neighbours
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


def test_noise_profile_measures_white_noise_and_sees_streaky_noise_in_rows() -> None:
    rng = np.random.default_rng(3)
    grey = np.full((3, 120, 160, 3), 128.0)
    grey[1] += rng.normal(0, 5, grey[1].shape)  # white, independent in R, G and B
    streaks = rng.normal(0, 1, (120, 160 + 8))
    streaks = np.stack([streaks[:, i : i + 160] for i in range(9)]).mean(axis=0)  # along rows
    grey[2] += (streaks / streaks.std() * 5)[..., None]  # grey streaks: luma only
    levels = noise_profile(np.clip(grey, 0, 255).round().astype(np.uint8))
    assert levels.shape == (3, 4) and levels.dtype == np.float32
    assert levels[0].tolist() == [0.0, 0.0, 0.0, 0.0]
    # sigma 5 in each of R, G, B is 5 x 0.668 in luma (BT.601) and 5 x 0.62 in Cb and Cr
    np.testing.assert_allclose(levels[1], [3.34, 3.11, 3.29, 3.34], rtol=0.08)
    luma, cb, cr, rows = levels[2]
    assert max(cb, cr) < 0.3 and rows > 3 * luma  # the 2-D mask misses most of it, rows don't
    assert noise_profile(np.zeros((2, 2, 9, 3), np.uint8)).tolist() == [[0.0] * 4] * 2


def test_noisier_than_neighbours_flags_a_noisy_stretch_but_not_a_uniformly_noisy_tape() -> None:
    noise = np.full((400, 4), 0.5, np.float32)
    noise[:, 3] = 1.0
    noise[100:110, 0] = 2.0  # luma only, 4x the quiet frames
    noise[300:305, 3] = 1.3  # within 1.5x + 0.4 levels of the quiet frames: not flagged
    assert np.flatnonzero(noisier_than_neighbours(noise)).tolist() == list(range(100, 110))
    assert not noisier_than_neighbours(np.full((50, 4), 6.0, np.float32)).any()
    # The baseline is local: a quiet reel after a noisy one does not make the noisy one "noisy"
    # by comparison with frames minutes away, only where the two meet.
    reels = np.r_[np.full((1000, 4), 4.0), np.full((1000, 4), 0.5)].astype(np.float32)
    flagged = np.flatnonzero(noisier_than_neighbours(reels))
    assert flagged.size and flagged.min() >= 1000 - 75 - 1 and flagged.max() < 1000
    # Long tapes are done in chunks (2,048 frames), with the result of the plain definition.
    rng = np.random.default_rng(4)
    wavy = (0.5 + rng.gamma(1.0, 0.6, (5000, 4))).astype(np.float32)
    expected = [
        (wavy[f] > 1.5 * np.quantile(wavy[max(0, f - 75) : f + 76], 0.2, axis=0) + 0.4).any()
        for f in range(5000)
    ]
    flagged = noisier_than_neighbours(wavy)
    assert 0 < flagged.sum() < 5000
    assert flagged.tolist() == expected


def test_frame_scores_flag_noisy_frames_only_when_noise_was_measured() -> None:
    scores = make_scores([0.1] * 6, np.eye(6, 8))
    assert scores.noise is None and not scores.noisy_mask().any()
    assert scores.clean_mask().all()
    scores.noise = np.array([[0.5] * 4] * 5 + [[5.0] * 4], np.float32)
    assert scores.noisy_mask().tolist() == [False] * 5 + [True]
    assert scores.clean_mask().tolist() == [True] * 5 + [False]  # so never a reference
    assert 5 not in ReferencePool.build(scores, size=6).indices
    assert scores.to_rows()[5]["clean"] is False


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
    assert scores.noise is not None and scores.noise.shape == (8, 4)
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
