"""Photo pool and synthetic camera clips (restoration.training.synth)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from restoration.training.synth import load_photo_pool, make_clip, photo_pool_sources


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return load_photo_pool("train")


def test_train_and_val_photos_are_disjoint_and_stable() -> None:
    train, val = photo_pool_sources("train"), photo_pool_sources("val")
    assert train and val
    assert not set(train) & set(val)
    assert photo_pool_sources("val") == val  # deterministic order
    # scikit-image's bundled photos are always there, whatever Debian packages are installed.
    assert any(path.endswith("astronaut.png") for path in train)
    assert any(path.endswith("chelsea.png") for path in val)


def test_unknown_split_is_rejected() -> None:
    with pytest.raises(ValueError, match="split"):
        photo_pool_sources("test")


def test_photos_are_rgb_uint8_and_downsized(photos: list[np.ndarray]) -> None:
    for photo in photos:
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
        assert 160 <= min(photo.shape[:2]) <= 720


def test_clip_has_requested_shape_and_is_seeded(photos: list[np.ndarray]) -> None:
    clip = make_clip(np.random.default_rng(7), photos=photos, length=10, size=(96, 128))
    again = make_clip(np.random.default_rng(7), photos=photos, length=10, size=(96, 128))
    other = make_clip(np.random.default_rng(8), photos=photos, length=10, size=(96, 128))
    assert clip.shape == (10, 96, 128, 3) and clip.dtype == np.uint8
    np.testing.assert_array_equal(clip, again)
    assert not np.array_equal(clip, other)


def test_clips_move_over_time(photos: list[np.ndarray]) -> None:
    moving = 0
    for seed in range(6):
        clip = make_clip(np.random.default_rng(seed), photos=photos, length=8, size=(64, 64))
        # Camera and/or objects move: consecutive frames differ, but stay alike (smooth motion).
        step = np.abs(np.diff(clip.astype(np.int16), axis=0)).mean()
        moving += step > 0.5
        assert step < 40
        assert clip.std() > 5  # a photo, not a flat field
    assert moving >= 5


def test_clip_is_fast(photos: list[np.ndarray]) -> None:
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    make_clip(rng, photos=photos, length=16, size=(128, 128))
    start = time.perf_counter()
    for _ in range(5):
        make_clip(rng, photos=photos, length=16, size=(128, 128))
    assert (time.perf_counter() - start) / 5 < 0.1
